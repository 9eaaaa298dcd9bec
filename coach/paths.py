"""Where the project's files live: bundled assets, the shared data folder, the user's data and cache folders."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def assets_dir() -> Path:
    """Bundled assets (pose model, exercise catalogue, trained models). ``COACH_ASSETS`` overrides."""
    return Path(os.environ.get("COACH_ASSETS", REPO_ROOT / "assets"))


def default_pose_model() -> Path:
    return assets_dir() / "pose_landmarker_full.task"


def data_root() -> Path:
    """The shared recordings (tests, training, evaluation). ``COACH_DATA`` overrides ``../shared/data``."""
    return Path(os.environ.get("COACH_DATA", REPO_ROOT.parent / "shared" / "data"))


def user_data_dir() -> Path:
    """Per-user state: history database, taught exercises. ``COACH_HOME`` overrides."""
    if "COACH_HOME" in os.environ:
        return Path(os.environ["COACH_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or (Path.home() / ".local" / "share")
    return Path(base) / "coach"


def cache_dir() -> Path:
    """Re-computable results (landmarks of dataset clips). ``COACH_CACHE`` overrides."""
    if "COACH_CACHE" in os.environ:
        return Path(os.environ["COACH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "coach"
