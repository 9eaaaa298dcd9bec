"""Real data: PushFit push-ups (COACH_DATA). Trained on some correct clips, tested on the other correct clips."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pushfit(data_dir):
    from coach.body import to_physics
    from coach.datasets import cached_landmarks, pushfit_clips
    from physics import HUMAN_13

    clips = [c for c in pushfit_clips(data_dir) if c.form == "correct"]
    if len(clips) < 10:
        pytest.skip(f"only {len(clips)} correct PushFit clips under {data_dir}")
    seqs = [to_physics(cached_landmarks(c.path), HUMAN_13) for c in clips]
    order = np.random.default_rng(0).permutation(len(seqs))
    n_train = int(round(0.6 * len(seqs)))
    return [seqs[i] for i in order[:n_train]], [seqs[i] for i in order[n_train:]]


def test_held_out_one_step_error_beats_the_baselines(pushfit, record_property):
    from physics import HUMAN_13, LearnedSimulator, compare_to_baselines

    train, test = pushfit  # whole clips: no clip on both sides
    sim = LearnedSimulator(HUMAN_13, steps=300, seed=0, num_threads=1).fit(train)
    rep = compare_to_baselines(sim, test)
    for k, v in rep.items():
        record_property(k, round(v, 5))
    assert rep["ratio_constant_velocity"] < 1.0, rep
    assert rep["ratio_constant_position"] < 1.0, rep
    # residuals of a held-out clip: aligned to its frames, finite where the joints were seen
    r = sim.residuals(test[0])
    assert r.shape == (len(test[0]), 13)
    seen = test[0].mask.copy()
    seen[:3] = False
    assert np.isfinite(r[seen]).mean() > 0.9
