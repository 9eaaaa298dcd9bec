"""Shared fixtures: the real recordings folder (COACH_DATA, default ../shared/data) and artefact folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from coach.paths import REPO_ROOT, data_root

ARTIFACTS = Path(os.environ.get("COACH_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    if not (root / "README.md").is_file():
        pytest.skip(f"real recordings not found at {root} (set COACH_DATA to the shared data folder)")
    return root


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def pose_estimator_factory():
    from coach.pose import PoseEstimator

    made = []

    def make(**kw):
        est = PoseEstimator(**kw)
        made.append(est)
        return est

    yield make
    for est in made:
        est.close()
