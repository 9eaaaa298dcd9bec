"""Landmark sequences on disk: the project's own ``.npz`` and CSV formats.

Readers for the third-party formats in the shared data live in :mod:`coach.formats`.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from coach.errors import DataFormatError, InputNotFoundError, OutputError
from coach.types import LANDMARK_NAMES, N_LANDMARKS, PoseSequence

log = logging.getLogger(__name__)

_UMASK = os.umask(0)
os.umask(_UMASK)

NPZ_FORMAT = "coach.landmarks"
NPZ_VERSION = 1


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only when the block succeeds.

    Nothing half-written is ever left under the final name, and the temporary file is removed on failure.
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".partial" + final.suffix, dir=final.parent)
        os.close(fd)
    except OSError as e:
        raise OutputError(f"cannot write to {final.parent} ({e.strerror or e}); choose a writable folder") from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp makes 0600 files; give the final file the usual permissions
            os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def save_npz(seq: PoseSequence, path: str | os.PathLike) -> Path:
    path = Path(path)
    meta = {"format": NPZ_FORMAT, "version": NPZ_VERSION, "fps": seq.fps, "source": seq.source,
            "image_size": list(seq.image_size) if seq.image_size else None, "meta": seq.meta}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, t_s=seq.t_s, image_xy=seq.image_xy, world_xyz=seq.world_xyz,
                                visibility=seq.visibility, present=seq.present,
                                meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    return path


def load_npz(path: str | os.PathLike) -> PoseSequence:
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"landmark file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            if meta.get("format") != NPZ_FORMAT:
                raise DataFormatError(f"{path} is not a coach landmark file (format={meta.get('format')!r})")
            if int(meta.get("version", 0)) > NPZ_VERSION:
                raise DataFormatError(f"{path} was written by a newer coach (version {meta['version']}); "
                                      f"upgrade coach to read it")
            size = meta.get("image_size")
            return PoseSequence(z["t_s"], z["image_xy"], z["world_xyz"], z["visibility"], fps=meta["fps"],
                                source=meta.get("source", ""), image_size=tuple(size) if size else None,
                                present=z["present"], meta=meta.get("meta") or {})
    except DataFormatError:
        raise
    except (KeyError, ValueError, OSError, zipfile.BadZipFile, json.JSONDecodeError) as e:
        raise DataFormatError(f"cannot read landmark file {path} ({type(e).__name__}: {e}); "
                              f"re-create it with `coach analyze`") from None


# --------------------------------------------------------------------------------------------------------------
# CSV: one row per frame, for spreadsheets and other tools
# --------------------------------------------------------------------------------------------------------------

#: Per-landmark CSV column suffixes, in order: image x, image y (normalised 0..1, y down), world x, y, z (metres,
#: origin between the hips, y down, z away from the camera), visibility (0..1).
CSV_SUFFIXES: tuple[str, ...] = ("x", "y", "wx", "wy", "wz", "v")


def csv_columns() -> list[str]:
    """The landmark CSV header: ``t_s, present`` then ``<name>_x, _y, _wx, _wy, _wz, _v`` per landmark."""
    return ["t_s", "present"] + [f"{n}_{s}" for n in LANDMARK_NAMES for s in CSV_SUFFIXES]


def _landmark_table(seq: PoseSequence) -> np.ndarray:
    """(T, 33*6) float array in :data:`CSV_SUFFIXES` order per landmark."""
    t = len(seq)
    return np.concatenate([seq.image_xy, seq.world_xyz, seq.visibility[..., None]], axis=2).reshape(
        t, N_LANDMARKS * len(CSV_SUFFIXES))


def save_csv(seq: PoseSequence, path: str | os.PathLike) -> Path:
    """Write ``seq`` as CSV, one row per frame (also frames where nobody was found), written atomically.

    Columns (UTF-8, comma-separated, header row, ``.`` decimal point):

    * ``t_s``: time in seconds from the start of the video.
    * ``present``: 1 when a person was found in the frame, else 0.
    * for each of the 33 landmarks in MediaPipe order (``nose``, ``left_eye_inner``, ... ``right_foot_index``,
      see :data:`coach.types.LANDMARK_NAMES`):

      - ``<name>_x``, ``<name>_y``: position in the image, normalised 0..1 across the frame, x to the right,
        y downwards;
      - ``<name>_wx``, ``<name>_wy``, ``<name>_wz``: world position in metres, origin between the hips, x to the
        image right, y down, z away from the camera (for sequences read from 2-D formats this is the
        pseudo-world estimate described in :mod:`coach.formats`);
      - ``<name>_v``: visibility 0..1.

    Unknown values are empty cells. Landmark values are printed with 9 significant digits and times with 17,
    so :func:`load_csv` gives back the same float32 / float64 numbers. The frame rate, source and image size are
    not stored (pass them to :func:`load_csv`).
    """
    path = Path(path)
    cols = csv_columns()
    table = _landmark_table(seq).astype(np.float64)
    body = np.char.mod("%.9g", table)
    body[~np.isfinite(table)] = ""
    times = [repr(float(x)) for x in seq.t_s]
    present = np.where(seq.present, "1", "0")
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(",".join(cols) + "\n")
            for i in range(len(seq)):
                f.write(times[i] + "," + present[i] + "," + ",".join(body[i]) + "\n")
    return path


def load_csv(path: str | os.PathLike, fps: float | None = None, image_size: tuple[int, int] | None = None,
             source: str | None = None) -> PoseSequence:
    """Read a landmark CSV written by :func:`save_csv` (columns may be in any order; extra columns are ignored).

    ``fps`` defaults to the median frame interval of ``t_s``; ``source`` to the file path.
    Raises :class:`DataFormatError` saying what is wrong when the file is not such a CSV.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"landmark CSV not found: {path}")
    hint = "export it again with `coach.io.save_csv`"
    try:
        df = pd.read_csv(path, skipinitialspace=True, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataFormatError(f"{path} is not a readable CSV ({msg}); {hint}") from None
    cols = csv_columns()
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise DataFormatError(f"{path} is not a coach landmark CSV (missing columns {', '.join(missing[:3])}{more}); "
                              f"{hint}")
    if len(df) == 0:
        raise DataFormatError(f"{path} has a header but no frames; {hint}")
    df = df[cols]
    for c in [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]:
        bad = df[c][pd.to_numeric(df[c], errors="coerce").isna() & df[c].notna()]
        if bad.empty:
            continue
        raise DataFormatError(f"{path}: column {c} holds {str(bad.iloc[0])[:20]!r} (row {int(bad.index[0]) + 2}), "
                              f"not a number; {hint}")
    vals = df.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    t = vals[:, 0]
    if not np.all(np.isfinite(t)):
        raise DataFormatError(f"{path}: column t_s has empty or non-numeric times (row "
                              f"{int(np.flatnonzero(~np.isfinite(t))[0]) + 2}); {hint}")
    if len(t) > 1 and not np.all(np.diff(t) > 0):
        bad = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 3
        raise DataFormatError(f"{path}: t_s must increase from row to row (row {bad} does not); {hint}")
    present = vals[:, 1]
    if not np.all(np.isin(present, (0.0, 1.0))):
        raise DataFormatError(f"{path}: column present must hold 0 or 1; {hint}")
    lm = vals[:, 2:].reshape(len(t), N_LANDMARKS, len(CSV_SUFFIXES))
    if fps is None:
        fps = 1.0 / float(np.median(np.diff(t))) if len(t) > 1 else 30.0
        for nominal in (round(fps, 3), round(fps * 1.001) / 1.001):  # 25, 30, 29.97 (30000/1001) ...
            if abs(fps - nominal) < 1e-6:
                fps = nominal
                break
    return PoseSequence(t, lm[..., 0:2], lm[..., 2:5], np.nan_to_num(lm[..., 5], nan=0.0), fps=fps,
                        source=str(path) if source is None else source, image_size=image_size,
                        present=present.astype(bool))
