"""What every next-step predictor shares: body states, residuals (batch and streaming), rollouts.

A predictor works on the internal grid (:mod:`physics.frame`), in the body frame (root-centred, lengths in
units of body size). Its one method to supply is :meth:`Predictor._accel`, the acceleration of each joint per
grid step squared; the next state follows by semi-implicit Euler integration with a step of one grid interval::

    v[k+1] = v[k] + a[k]        x[k+1] = x[k] + v[k+1]        (v in body units per grid step)

where the velocity of the observed state is the finite difference ``v[k] = x[k] - x[k-1]``.

A *residual* is how far the observed position lands from the one-step prediction: for grid frame ``k+1``,
``|| x_pred[k+1] - x[k+1] ||`` per joint, in body units (e.g. torso lengths). It needs the joint valid in grid
frames ``k-1``, ``k`` and ``k+1``; elsewhere it is NaN.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from physics.errors import SequenceError
from physics.frame import FrameSpec, GridResampler, GridSequence, to_grid
from physics.sequence import MotionSequence
from physics.skeleton import HUMAN_13, Skeleton

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class BodyState:
    """Body-frame state: ``positions (..., J, 3)``, ``velocities (..., J, 3)`` in body units per second,
    ``mask (..., J)`` validity (positions/velocities of invalid joints are NaN), optional ``t_s (...)``."""

    positions: np.ndarray
    velocities: np.ndarray
    mask: np.ndarray
    t_s: np.ndarray | float | None = None

    def __post_init__(self) -> None:
        x = np.asarray(self.positions, dtype=np.float32)
        v = np.asarray(self.velocities, dtype=np.float32)
        m = np.asarray(self.mask, dtype=bool)
        if x.ndim < 2 or x.shape[-1] != 3 or v.shape != x.shape or m.shape != x.shape[:-1]:
            raise SequenceError(f"BodyState needs positions/velocities (..., J, 3) and mask (..., J); got "
                                f"{x.shape}, {v.shape}, {m.shape}")
        object.__setattr__(self, "positions", x)
        object.__setattr__(self, "velocities", v)
        object.__setattr__(self, "mask", m)

    def __len__(self) -> int:
        return int(self.positions.shape[0]) if self.positions.ndim > 2 else 1

    def __getitem__(self, i) -> "BodyState":
        t = None if self.t_s is None else np.asarray(self.t_s)[i]
        return BodyState(self.positions[i], self.velocities[i], self.mask[i], t)


def _clean(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    return np.where(m[..., None], x, np.float32(0.0)).astype(np.float32, copy=False)


class Predictor:
    """Base class: preprocessing, residuals, streaming and rollouts around :meth:`_accel`."""

    #: short name used in reports
    kind = "predictor"

    def __init__(self, skeleton: Skeleton = HUMAN_13, spec: FrameSpec | None = None):
        self.skeleton = skeleton
        self.spec = spec or FrameSpec()

    # --- to supply -----------------------------------------------------------------------------------------
    def _accel(self, x: np.ndarray, v: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Acceleration ``(B, J, 3)`` per grid step squared, from ``x, v (B, J, 3)`` (zero where invalid) and
        ``m (B, J)`` bool."""
        raise NotImplementedError

    # --- one step ------------------------------------------------------------------------------------------
    def _step(self, x: np.ndarray, v: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One grid step from clean ``x, v`` (per step); returns the next ``x, v`` (NaN where invalid)."""
        a = self._accel(x, v, m)
        v1 = v + a
        x1 = x + v1
        x1[~m] = np.nan
        v1[~m] = np.nan
        return x1, v1

    def predict_next(self, state: BodyState) -> BodyState:
        """The state one grid step (``1 / spec.rate_hz`` s) after ``state`` (one frame or a batch)."""
        single = state.positions.ndim == 2
        x, v, m = (state.positions[None], state.velocities[None], state.mask[None]) if single else \
            (state.positions, state.velocities, state.mask)
        self._check_joints(x.shape[-2])
        m = m & np.isfinite(x).all(-1) & np.isfinite(v).all(-1)
        x1, v1 = self._step(_clean(x, m), _clean(v, m) * np.float32(self.spec.dt), m)
        v1 = v1 * np.float32(self.spec.rate_hz)
        t1 = None if state.t_s is None else np.asarray(state.t_s) + self.spec.dt
        if single:
            return BodyState(x1[0], v1[0], m[0], t1)
        return BodyState(x1, v1, m, t1)

    def rollout(self, state: BodyState, n: int) -> BodyState:
        """``n`` grid steps from one state, feeding each prediction back in: a state with a leading axis of
        length ``n`` (steps 1..n). Joints invalid in ``state`` stay invalid."""
        if state.positions.ndim != 2:
            raise SequenceError("rollout starts from one state (positions (J, 3))")
        self._check_joints(state.positions.shape[0])
        m = state.mask & np.isfinite(state.positions).all(-1) & np.isfinite(state.velocities).all(-1)
        x = _clean(state.positions[None], m[None])
        v = _clean(state.velocities[None], m[None]) * np.float32(self.spec.dt)
        xs, vs = [], []
        for _ in range(int(n)):
            x, v = self._step(x, v, m[None])
            xs.append(x[0])
            vs.append(v[0] * np.float32(self.spec.rate_hz))
            x, v = _clean(x, m[None]), _clean(v, m[None])
        t0 = state.t_s
        t = None if t0 is None else float(t0) + self.spec.dt * np.arange(1, int(n) + 1)
        shape = (0,) + state.positions.shape
        return BodyState(np.stack(xs) if xs else np.zeros(shape, np.float32),
                         np.stack(vs) if vs else np.zeros(shape, np.float32),
                         np.repeat(m[None], int(n), axis=0), t)

    # --- sequences -----------------------------------------------------------------------------------------
    def to_grid(self, seq: MotionSequence) -> GridSequence:
        return to_grid(seq, self.skeleton, self.spec)

    def states(self, seq: MotionSequence) -> BodyState:
        """Observed body states on the grid, ``(K, J, 3)``; velocity by backward difference (invalid at k=0)."""
        g = self.to_grid(seq)
        v = np.full_like(g.x, np.nan)
        v[1:] = (g.x[1:] - g.x[:-1]) * np.float32(self.spec.rate_hz)
        m = g.m.copy()
        m[0] = False
        m[1:] &= g.m[:-1]
        return BodyState(g.x, v, m, g.t_s)

    def _grid_residuals(self, g: GridSequence) -> np.ndarray:
        k_count, j_count = g.m.shape
        res = np.full((k_count, j_count), np.nan, np.float32)
        if k_count < 3:
            return res
        m_state = g.m[1:-1] & g.m[:-2]
        x = _clean(g.x[1:-1], m_state)
        v = _clean(g.x[1:-1] - g.x[:-2], m_state)
        pred, _ = self._step(x, v, m_state)
        ok = m_state & g.m[2:]
        err = np.linalg.norm(pred - g.x[2:], axis=-1)
        res[2:] = np.where(ok, err, np.nan)
        return res

    def grid_residuals(self, seq: MotionSequence) -> tuple[np.ndarray, np.ndarray]:
        """``(t_grid (K,), residuals (K, J))`` on the internal grid."""
        g = self.to_grid(seq)
        return g.t_s, self._grid_residuals(g)

    def residuals(self, seq: MotionSequence) -> np.ndarray:
        """Per-joint one-step prediction errors aligned to the input frames, ``(T, J)`` float32.

        Frame ``i`` gets the residual of the latest grid frame at or before it (sample-and-hold at the grid
        rate), NaN where it cannot be computed (first frames, gaps, joints not seen in that frame). Equal to
        feeding the frames one by one to :meth:`stream`.
        """
        g = self.to_grid(seq)
        res = self._grid_residuals(g)
        out = res[g.frame_to_grid] if len(seq) else np.zeros((0, self.skeleton.n_joints), np.float32)
        out[~g.input_mask] = np.nan
        return out

    def stream(self) -> "ResidualStream":
        """A stateful object for live use: ``update(positions, mask, t_s) -> residual (J,)``."""
        return ResidualStream(self)

    def _check_joints(self, j_count: int) -> None:
        if j_count != self.skeleton.n_joints:
            raise SequenceError(f"{j_count} joints given, skeleton {self.skeleton.name!r} has "
                                f"{self.skeleton.n_joints}")


class ResidualStream:
    """Frame-by-frame residuals, identical to :meth:`Predictor.residuals` on the same frames.

    ``update(positions (J, 3), mask (J,), t_s)`` returns the ``(J,)`` residual for that frame (NaN where not
    computable). A frame whose time is not after the previous frame's is ignored and gets NaNs.
    """

    def __init__(self, predictor: Predictor):
        self.predictor = predictor
        self._j = predictor.skeleton.n_joints
        self.reset()

    def reset(self) -> None:
        self._rs = GridResampler(self.predictor.skeleton, self.predictor.spec)
        self._hist: list[tuple[int, np.ndarray, np.ndarray]] = []  # last grid frames (k, x, m), up to 3
        self._last = np.full(self._j, np.nan, np.float32)
        self.last_prediction: np.ndarray | None = None  # (J, 3) body-frame prediction of the latest grid frame
        self.frames = 0

    def update(self, positions, mask, t_s: float) -> np.ndarray:
        pos = np.asarray(positions, dtype=np.float64)
        m = np.asarray(mask, dtype=bool)
        if pos.shape != (self._j, 3) or m.shape != (self._j,):
            raise SequenceError(f"expected positions ({self._j}, 3) and mask ({self._j},), got {pos.shape} "
                                f"and {m.shape}")
        m = m & np.isfinite(pos).all(axis=1)
        prev_k = self._rs.latest_k
        last = self._rs.last_time
        if last is not None and not float(t_s) > last:
            log.debug("frame at %.4f s ignored: not after the previous frame", t_s)
            return np.full(self._j, np.nan, np.float32)
        new = self._rs.push(t_s, pos, m)
        self.frames += 1
        for item in new:
            self._hist.append(item)
        self._hist = self._hist[-3:]
        latest = self._rs.latest_k
        if latest != prev_k:
            self._last = self._residual_at(latest)
        out = self._last.copy()
        out[~m] = np.nan
        return out

    def _residual_at(self, k: int) -> np.ndarray:
        res = np.full(self._j, np.nan, np.float32)
        h = self._hist
        if len(h) < 3 or [f[0] for f in h] != [k - 2, k - 1, k]:
            self.last_prediction = None
            return res
        (_, x0, m0), (_, x1, m1), (_, x2, m2) = h
        ms = m0 & m1
        x = _clean(x1[None], ms[None])
        v = _clean((x1 - x0)[None], ms[None])
        pred, _ = self.predictor._step(x, v, ms[None])
        self.last_prediction = pred[0]
        ok = ms & m2
        err = np.linalg.norm(pred[0] - x2, axis=-1)
        res[ok] = err[ok]
        return res
