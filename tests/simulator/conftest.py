"""Fixtures of the physics tests: a spring chain with known physics, and a simulator trained on it."""
from __future__ import annotations

import numpy as np
import pytest

from physics import HUMAN_13, LearnedSimulator
from physics_synthetic import CHAIN, human_motion, sample, simulate

#: small, fast settings for the spring chain: rotations and reflections are true symmetries of it; tempo
#: changes and dropped joints are not, so they are off
CHAIN_TRAINING = dict(steps=2000, lr=5e-3, rollout_steps=3, noise_std=0.0, mask_dropout=0.0, tilt_deg=0.0,
                      tempo_range=(1.0, 1.0), eval_every=500, seed=0, num_threads=1)


@pytest.fixture(scope="session")
def chain_tracks():
    return {"train": [simulate(s) for s in range(12)], "test": [simulate(100 + s) for s in range(3)]}


@pytest.fixture(scope="session")
def chain_train(chain_tracks):
    return [sample(tr, 30) for tr in chain_tracks["train"]]


@pytest.fixture(scope="session")
def chain_test(chain_tracks):
    return [sample(tr, 30) for tr in chain_tracks["test"]]


@pytest.fixture(scope="session")
def chain_sim(chain_train) -> LearnedSimulator:
    return LearnedSimulator(CHAIN, **CHAIN_TRAINING).fit(chain_train)


@pytest.fixture(scope="session")
def human_sim() -> LearnedSimulator:
    """A barely trained human simulator: for plumbing (masks, streaming), not for accuracy."""
    train = [human_motion(fps, duration_s=3.0, size=s) for fps, s in ((25.0, 0.9), (30.0, 1.0), (60.0, 1.1))]
    return LearnedSimulator(HUMAN_13, steps=30, eval_every=30, rollout_steps=2, num_threads=1).fit(train)


@pytest.fixture()
def rng():
    return np.random.default_rng(1234)
