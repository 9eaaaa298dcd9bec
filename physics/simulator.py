"""The learned simulator: an interaction network predicting each joint's next-step acceleration.

``fit`` trains it (torch) on sequences of correct movement; inference (``predict_next``, ``rollout``,
``residuals``, ``stream``) runs on numpy, so loading and live use need no torch. ``save``/``load`` use one
zip file holding ``meta.json`` (format name, version, skeleton, grid settings, feature scales, rest lengths,
network and training settings, a training-data summary, a checksum of the weights) and ``weights.npz``.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import io
import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from physics.errors import NotFittedError, SimulatorFileError, SkeletonError
from physics.frame import FrameSpec
from physics.network import NetworkConfig, NumpyInteractionNetwork
from physics.predictor import Predictor
from physics.sequence import MotionSequence
from physics.skeleton import HUMAN_13, Skeleton
from physics.training import TrainConfig, TrainProgress, train_network

log = logging.getLogger(__name__)

FILE_FORMAT = "physics.learned_simulator"
FILE_VERSION = 1
_META = "meta.json"
_WEIGHTS = "weights.npz"


def _retrain_hint() -> str:
    return "train a new one with `python -m physics.train FOLDER --out FILE` (or LearnedSimulator.fit + save)"


class LearnedSimulator(Predictor):
    """Interaction-network simulator of one kind of movement (e.g. one exercise done correctly).

    ``LearnedSimulator(skeleton, spec, config=None, **train_options)``; train options are the fields of
    :class:`~physics.training.TrainConfig` (``steps``, ``seed``, ``time_budget_s``, ``hidden``, ...).
    """

    kind = "learned"

    def __init__(self, skeleton: Skeleton = HUMAN_13, spec: FrameSpec | None = None,
                 config: TrainConfig | None = None, **train_options):
        super().__init__(skeleton, spec)
        self.config = TrainConfig.from_kwargs(config, **train_options)
        self.network_config: NetworkConfig = self.config.network
        self.weights: dict[str, np.ndarray] | None = None
        self.rest_lengths: np.ndarray | None = None
        self.scales: dict[str, float] | None = None
        self.training_summary: dict = {}
        self.file_metadata: dict | None = None  # the metadata of the file this simulator was loaded from
        self._net: NumpyInteractionNetwork | None = None

    # --- state ---------------------------------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return self._net is not None

    def _set_weights(self, weights, rest, scales, net_cfg: NetworkConfig) -> None:
        self._net = NumpyInteractionNetwork(self.skeleton, net_cfg, weights, rest, scales)
        self.weights = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        self.rest_lengths = np.asarray(rest, np.float32)
        self.scales = dict(scales)
        self.network_config = net_cfg

    def _accel(self, x: np.ndarray, v: np.ndarray, m: np.ndarray) -> np.ndarray:
        if self._net is None:
            raise NotFittedError("the simulator has no weights: call fit(sequences) or LearnedSimulator.load(path)")
        return self._net(x, v, m)

    # --- training ------------------------------------------------------------------------------------------
    def fit(self, sequences: Sequence[MotionSequence], *, progress: Callable[[TrainProgress], None] | None = None,
            **train_options) -> "LearnedSimulator":
        """Train on ``sequences`` (correct movement only). Options override the constructor's config."""
        if train_options:
            self.config = TrainConfig.from_kwargs(self.config, **train_options)
        cfg = self.config

        def evaluate(weights, rest, scales, val_seqs):
            probe = LearnedSimulator(self.skeleton, self.spec, cfg)
            probe._set_weights(weights, rest, scales, cfg.network)
            from physics.evaluate import one_step_rmse

            return one_step_rmse(probe, val_seqs)

        result = train_network(sequences, self.skeleton, self.spec, cfg, progress=progress, evaluate=evaluate)
        self._set_weights(result.weights, result.rest, result.scales, cfg.network)
        self.training_summary = result.summary
        log.info("trained in %.1f s (%d steps, best validation RMSE %s)", result.summary["train_time_s"],
                 result.summary["steps_done"], result.summary["best_val_rmse"])
        return self

    def torch_module(self):
        """The network as a torch module holding the current weights (e.g. to check the numpy inference)."""
        if self.weights is None:
            raise NotFittedError("the simulator has no weights: call fit or load first")
        from physics.torch_network import TorchInteractionNetwork

        mod = TorchInteractionNetwork(self.skeleton, self.network_config, self.rest_lengths, self.scales)
        mod.load_numpy_weights(self.weights)
        return mod.eval()

    # --- files ---------------------------------------------------------------------------------------------
    def metadata(self) -> dict:
        from physics import __version__

        return {
            "format": FILE_FORMAT, "version": FILE_VERSION, "library_version": __version__,
            "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "skeleton": self.skeleton.to_dict(), "frame": self.spec.to_dict(),
            "network": self.network_config.to_dict(),
            "rest_lengths": [float(v) for v in self.rest_lengths],
            "scales": {k: float(v) for k, v in self.scales.items()},
            "train_config": self.config.to_dict(), "training": self.training_summary,
            "units": {"positions": "body units (skeleton scale), root-centred",
                      "residuals": "body units, one grid step of 1/rate_hz s"},
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write weights and metadata to one zip file (atomically: no half-written file under ``path``)."""
        if not self.is_fitted:
            raise NotFittedError("nothing to save: the simulator has not been fitted")
        path = Path(path)
        buf = io.BytesIO()
        np.savez(buf, **self.weights)
        wbytes = buf.getvalue()
        meta = self.metadata()
        meta["weights_sha256"] = hashlib.sha256(wbytes).hexdigest()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
                z.writestr(_META, json.dumps(meta, indent=1, sort_keys=True))
                z.writestr(_WEIGHTS, wbytes)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        log.info("saved simulator to %s", path)
        return path

    @classmethod
    def read_metadata(cls, path: str | os.PathLike) -> dict:
        """The JSON metadata of a simulator file, checked for format and version (weights not loaded)."""
        meta, _ = _read(Path(path), load_weights=False)
        return meta

    @classmethod
    def load(cls, path: str | os.PathLike, skeleton: Skeleton | None = None) -> "LearnedSimulator":
        """Load a file written by :meth:`save`. With ``skeleton``, also check the file was trained for it.

        Raises :class:`~physics.errors.SimulatorFileError` (message says what to do) when the file is missing,
        corrupt, of another format, of a newer version or for another skeleton.
        """
        path = Path(path)
        meta, weights = _read(path, load_weights=True)
        try:
            sk = Skeleton.from_dict(meta["skeleton"])
            spec = FrameSpec.from_dict(meta["frame"])
            net_cfg = NetworkConfig.from_dict(meta["network"])
            rest = np.asarray(meta["rest_lengths"], np.float32)
            scales = {k: float(meta["scales"][k]) for k in ("pos_scale", "vel_scale", "acc_scale")}
            tc = dict(meta.get("train_config") or {})
            known = {f.name for f in dataclasses.fields(TrainConfig)}
            if set(tc) - known:
                log.warning("%s: ignoring unknown training settings %s", path, sorted(set(tc) - known))
            config = TrainConfig.from_kwargs(None, **{k: v for k, v in tc.items() if k in known})
        except (KeyError, TypeError, ValueError, SkeletonError) as e:
            raise SimulatorFileError(f"{path}: metadata is damaged ({type(e).__name__}: {e}); "
                                     f"{_retrain_hint()}") from None
        if skeleton is not None and sk != skeleton:
            raise SimulatorFileError(
                f"{path} was trained for skeleton {sk.name!r} (joints {list(sk.joints)}), not for "
                f"{skeleton.name!r} (joints {list(skeleton.joints)}); use a simulator trained for this skeleton "
                f"or {_retrain_hint()}")
        if rest.shape != (sk.n_relations,):
            raise SimulatorFileError(f"{path}: {rest.shape[0]} rest lengths for {sk.n_relations} relations; "
                                     f"the file is damaged; {_retrain_hint()}")
        sim = cls(sk, spec, config)
        try:
            sim._set_weights(weights, rest, scales, net_cfg)
        except SimulatorFileError as e:
            raise SimulatorFileError(f"{path}: {e}; the file does not match its own metadata; "
                                     f"{_retrain_hint()}") from None
        sim.training_summary = meta.get("training") or {}
        sim.file_metadata = meta
        return sim


def _read(path: Path, load_weights: bool) -> tuple[dict, dict[str, np.ndarray] | None]:
    if not path.is_file():
        raise SimulatorFileError(f"simulator file not found: {path}; check the path or {_retrain_hint()}")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if _META not in names:
                raise SimulatorFileError(f"{path} is not a physics simulator file (no {_META} inside); "
                                         f"{_retrain_hint()}")
            meta = json.loads(z.read(_META).decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FILE_FORMAT:
                fmt = meta.get("format") if isinstance(meta, dict) else None
                raise SimulatorFileError(f"{path} holds {fmt!r}, not a {FILE_FORMAT!r} file; {_retrain_hint()}")
            version = meta.get("version")
            if not isinstance(version, int) or version < 1:
                raise SimulatorFileError(f"{path}: invalid format version {version!r}; {_retrain_hint()}")
            if version > FILE_VERSION:
                raise SimulatorFileError(
                    f"{path} was written by a newer physics library (format version {version}; this one reads "
                    f"up to {FILE_VERSION}); upgrade the package or {_retrain_hint()}")
            if not load_weights:
                return meta, None
            if _WEIGHTS not in names:
                raise SimulatorFileError(f"{path}: no {_WEIGHTS} inside; the file is incomplete; {_retrain_hint()}")
            wbytes = z.read(_WEIGHTS)
    except SimulatorFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, UnicodeDecodeError,
            json.JSONDecodeError, ValueError) as e:
        raise SimulatorFileError(f"{path} is corrupt or not a simulator file ({type(e).__name__}: {e}); "
                                 f"re-copy it or {_retrain_hint()}") from None
    digest = meta.get("weights_sha256")
    if digest != hashlib.sha256(wbytes).hexdigest():
        raise SimulatorFileError(f"{path}: the weights do not match their checksum (corrupt file); re-copy it or "
                                 f"{_retrain_hint()}")
    try:
        with np.load(io.BytesIO(wbytes), allow_pickle=False) as npz:
            weights = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise SimulatorFileError(f"{path}: weights unreadable ({type(e).__name__}: {e}); {_retrain_hint()}") from None
    return meta, weights
