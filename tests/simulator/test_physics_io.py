"""One file holds weights + metadata; wrong, corrupt or mismatched files fail with a clear message."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from physics import HUMAN_13, LearnedSimulator, NotFittedError, SimulatorFileError
from physics.simulator import FILE_FORMAT, FILE_VERSION
from physics_synthetic import CHAIN


def _rewrite(src, dst, meta_fn=None, weights_fn=None):
    with zipfile.ZipFile(src) as z:
        meta = json.loads(z.read("meta.json"))
        wbytes = z.read("weights.npz")
    if meta_fn:
        meta_fn(meta)
    if weights_fn:
        wbytes = weights_fn(wbytes)
    with zipfile.ZipFile(dst, "w") as z:
        z.writestr("meta.json", json.dumps(meta))
        z.writestr("weights.npz", wbytes)
    return dst


def test_roundtrip_gives_identical_predictions(chain_sim, chain_test, tmp_path):
    path = chain_sim.save(tmp_path / "sub" / "chain.sim")
    assert path.is_file() and not list(path.parent.glob("*.partial"))
    back = LearnedSimulator.load(path, skeleton=CHAIN)
    assert back.skeleton == CHAIN and back.spec == chain_sim.spec
    np.testing.assert_array_equal(back.residuals(chain_test[0]), chain_sim.residuals(chain_test[0]))
    meta = LearnedSimulator.read_metadata(path)
    assert meta["format"] == FILE_FORMAT and meta["version"] == FILE_VERSION
    assert meta["skeleton"]["joints"] == list(CHAIN.joints)
    assert meta["frame"]["rate_hz"] == 30.0 and meta["scales"]["acc_scale"] > 0
    assert meta["training"]["n_sequences"] == 12 and meta["train_config"]["seed"] == 0
    assert len(meta["rest_lengths"]) == CHAIN.n_relations


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(SimulatorFileError, match="not found.*python -m physics.train"):
        LearnedSimulator.load(tmp_path / "nope.sim")
    junk = tmp_path / "junk.sim"
    junk.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(SimulatorFileError, match="corrupt or not a simulator file"):
        LearnedSimulator.load(junk)


def test_truncated_file(chain_sim, tmp_path):
    data = chain_sim.save(tmp_path / "a.sim").read_bytes()
    cut = tmp_path / "cut.sim"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SimulatorFileError, match="corrupt"):
        LearnedSimulator.load(cut)


def test_flipped_weight_bytes_fail_the_checksum(chain_sim, tmp_path):
    src = chain_sim.save(tmp_path / "a.sim")

    def flip(b):
        b = bytearray(b)
        b[len(b) // 2] ^= 0xFF
        return bytes(b)

    with pytest.raises(SimulatorFileError, match="checksum"):
        LearnedSimulator.load(_rewrite(src, tmp_path / "b.sim", weights_fn=flip))


@pytest.mark.parametrize("change, match", [
    (lambda m: m.update(format="something.else"), "not a 'physics.learned_simulator'"),
    (lambda m: m.update(version=FILE_VERSION + 1), "newer physics library"),
    (lambda m: m.update(version="x"), "invalid format version"),
    (lambda m: m.pop("scales"), "metadata is damaged"),
    (lambda m: m["network"].update(hidden=m["network"]["hidden"] + 1), "does not match its own metadata"),
])
def test_wrong_metadata(chain_sim, tmp_path, change, match):
    src = chain_sim.save(tmp_path / "a.sim")
    with pytest.raises(SimulatorFileError, match=match):
        LearnedSimulator.load(_rewrite(src, tmp_path / "b.sim", meta_fn=change))


def test_other_zip_file(tmp_path):
    p = tmp_path / "other.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(SimulatorFileError, match="no meta.json"):
        LearnedSimulator.load(p)


def test_skeleton_mismatch_says_what_to_do(chain_sim, tmp_path):
    src = chain_sim.save(tmp_path / "a.sim")
    with pytest.raises(SimulatorFileError, match="trained for skeleton 'chain5'.*not for 'human13'"):
        LearnedSimulator.load(src, skeleton=HUMAN_13)


def test_unfitted_simulator_cannot_predict_or_save(tmp_path, chain_test):
    sim = LearnedSimulator(CHAIN)
    with pytest.raises(NotFittedError, match="fit"):
        sim.residuals(chain_test[0])
    with pytest.raises(NotFittedError):
        sim.save(tmp_path / "x.sim")
