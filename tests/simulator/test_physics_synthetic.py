"""The interaction network learns a system with known physics (a chain of damped springs)."""
from __future__ import annotations

import numpy as np

from physics import ConstantPosition, ConstantVelocity, LearnedSimulator, compare_to_baselines
from physics_synthetic import CHAIN


def test_one_step_error_is_below_a_tenth_of_constant_velocity(chain_sim, chain_test):
    rep = compare_to_baselines(chain_sim, chain_test)
    assert rep["ratio_constant_velocity"] < 0.10, rep
    assert rep["ratio_constant_position"] < 0.10, rep


def test_thirty_step_rollout_stays_bounded_and_close(chain_sim, chain_test):
    cv = ConstantVelocity.like(chain_sim)
    for seq in chain_test:
        states = chain_sim.states(seq)
        for k in (5, 60, 120):
            start = states[k]
            truth = states.positions[k + 1:k + 31]
            ro = chain_sim.rollout(start, 30)
            assert ro.positions.shape == truth.shape
            assert np.isfinite(ro.positions).all()
            err = np.linalg.norm(ro.positions - truth, axis=-1)
            # bounded: never further than the chain's own size, and better than coasting at constant velocity
            assert err.max() < 0.5
            cv_err = np.linalg.norm(cv.rollout(start, 30).positions - truth, axis=-1)
            assert err.mean() < 0.5 * cv_err.mean()
            # the chain keeps its shape: neighbouring masses stay near the spring's rest length
            d = np.linalg.norm(np.diff(ro.positions, axis=1), axis=-1)
            assert 0.3 < d.min() and d.max() < 2.5


def test_numpy_inference_equals_torch(chain_sim, chain_test):
    import torch

    st = chain_sim.states(chain_test[0])
    x = np.where(st.mask[1:, :, None], st.positions[1:], 0).astype(np.float32)
    v = np.where(st.mask[1:, :, None], st.velocities[1:], 0).astype(np.float32) / np.float32(chain_sim.spec.rate_hz)
    m = st.mask[1:].copy()
    m[5, 2] = False  # a masked joint too
    x[5, 2] = v[5, 2] = 0
    a_np = chain_sim._accel(x, v, m)
    with torch.no_grad():
        a_t = chain_sim.torch_module()(torch.as_tensor(x), torch.as_tensor(v), torch.as_tensor(m.astype(np.float32)))
    np.testing.assert_allclose(a_np, a_t.numpy(), rtol=1e-4, atol=1e-6 * float(np.abs(a_np).max()))


def test_training_is_deterministic(chain_train):
    opts = dict(steps=40, eval_every=20, rollout_steps=2, tempo_range=(0.9, 1.1), tempo_variants=3, seed=3, num_threads=1)
    a = LearnedSimulator(CHAIN, **opts).fit(chain_train[:5])
    b = LearnedSimulator(CHAIN, **opts).fit(chain_train[:5])
    c = LearnedSimulator(CHAIN, **{**opts, "seed": 4}).fit(chain_train[:5])
    assert a.weights.keys() == b.weights.keys()
    assert all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)
    assert not all(np.array_equal(a.weights[k], c.weights[k]) for k in a.weights)
    np.testing.assert_array_equal(a.residuals(chain_train[6]), b.residuals(chain_train[6]))


def test_progress_callback_and_training_summary(chain_train):
    seen = []
    sim = LearnedSimulator(CHAIN, steps=30, eval_every=10, rollout_steps=2, num_threads=1).fit(chain_train[:6], progress=seen.append)
    assert [p.step for p in seen] == [10, 20, 30] and seen[-1].total_steps == 30
    assert all(p.val_rmse is not None for p in seen)  # 6 sequences: one held out to pick the checkpoint
    s = sim.training_summary
    assert s["n_sequences"] == 6 and s["n_val_sequences"] == 1 and s["steps_done"] == 30
    assert np.all(sim.rest_lengths > 0)


def test_baselines_are_worse_than_the_model_on_the_chain(chain_sim, chain_test):
    from physics import one_step_rmse

    model = one_step_rmse(chain_sim, chain_test)
    assert model < one_step_rmse(ConstantPosition.like(chain_sim), chain_test)
