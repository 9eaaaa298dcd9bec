"""From input frames at any rate to body-frame positions on the simulator's fixed time grid.

Everything here is *causal* and incremental: :class:`GridResampler` takes one input frame at a time and emits
the grid frames that became known. Offline processing (:func:`to_grid`) runs the very same object over the whole
sequence, so live (streaming) and offline (batch) results are the same numbers.

Steps for each grid time ``tau_k = t_0 + k / rate_hz``:

1. Linear interpolation in time between the two input frames around ``tau_k``. A joint is valid there when it
   is valid in both frames and they are at most ``max_gap_s`` apart.
2. Root-centring: subtract the mean of the skeleton's root joints (invalid frame if a root joint is invalid).
3. Scaling: divide by a running estimate of the body size (distance between the skeleton's two scale groups),
   a bias-corrected exponential moving average with time constant ``scale_tau_s`` over the frames where the
   size could be measured. A single noisy frame barely moves it, and it needs no look-ahead.
"""
from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

import numpy as np

from physics.errors import SequenceError
from physics.sequence import MotionSequence
from physics.skeleton import Skeleton

log = logging.getLogger(__name__)

_SNAP = 1e-6  # a grid time this close (as a fraction of the frame interval) to an input frame takes that frame
_EPS_S = 1e-6  # seconds: a grid time this little after a frame's time is taken as on that frame


@dataclass(frozen=True)
class FrameSpec:
    """How inputs are put on the internal grid; part of a trained simulator's metadata."""

    rate_hz: float = 30.0
    max_gap_s: float = 0.25
    scale_tau_s: float = 2.0
    interpolation: str = "linear"  # or "quadratic" (through the last three input frames; still causal)

    def __post_init__(self) -> None:
        if not (self.rate_hz > 0 and math.isfinite(self.rate_hz)):
            raise ValueError(f"rate_hz must be positive, got {self.rate_hz}")
        if not self.max_gap_s > 0:
            raise ValueError(f"max_gap_s must be positive, got {self.max_gap_s}")
        if not self.scale_tau_s > 0:
            raise ValueError(f"scale_tau_s must be positive, got {self.scale_tau_s}")
        if self.interpolation not in ("linear", "quadratic"):
            raise ValueError(f"interpolation must be 'linear' or 'quadratic', got {self.interpolation!r}")

    @property
    def dt(self) -> float:
        return 1.0 / self.rate_hz

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FrameSpec":
        return cls(float(d["rate_hz"]), float(d["max_gap_s"]), float(d["scale_tau_s"]),
                   str(d.get("interpolation", "linear")))


class GridResampler:
    """Causal resampler + body-frame normaliser. ``push(t, positions, mask)`` returns the new grid frames.

    Each returned item is ``(k, x, m)``: grid index, ``(J, 3)`` float32 body-frame positions (NaN where
    invalid) and ``(J,)`` bool validity. Grid frames that fall inside a gap are skipped (they would be
    all-invalid); :attr:`latest_k` always holds the index of the latest grid time at or before the last input.
    """

    def __init__(self, skeleton: Skeleton, spec: FrameSpec):
        self.skeleton = skeleton
        self.spec = spec
        self._root = skeleton.root_indices
        self._scale = skeleton.scale_indices
        self._alpha = 1.0 - math.exp(-spec.dt / spec.scale_tau_s)
        self.reset()

    def reset(self) -> None:
        self.t0: float | None = None
        self.latest_k = -1
        self._prev: tuple[float, np.ndarray, np.ndarray] | None = None
        self._prev2: tuple[float, np.ndarray, np.ndarray] | None = None
        self._num = 0.0
        self._den = 0.0

    @property
    def last_time(self) -> float | None:
        """Time of the last input frame pushed (None before the first)."""
        return None if self._prev is None else self._prev[0]

    def grid_time(self, k: int) -> float:
        return self.t0 + k / self.spec.rate_hz

    def push(self, t: float, positions: np.ndarray, mask: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        t = float(t)
        pos = np.asarray(positions, dtype=np.float64)
        m = np.asarray(mask, dtype=bool) & np.isfinite(pos).all(axis=1)
        if self._prev is None:
            self.t0 = t
            self._prev = (t, pos, m)
            self.latest_k = 0
            return [self._normalise(0, pos, m)]
        t_prev, p_prev, m_prev = self._prev
        if not t > t_prev:
            raise SequenceError(f"frame time {t} is not after the previous frame's {t_prev}")
        prev2 = self._prev2
        self._prev2 = self._prev
        self._prev = (t, pos, m)
        k_first = self.latest_k + 1
        # latest k with grid_time(k) <= t; computed directly (a long pause must not loop per grid step), then
        # corrected by the exact comparison so the answer never depends on rounding
        # (a grid time up to _EPS_S after t counts as on t: timestamps like k / fps carry rounding error)
        t_eps = t + _EPS_S
        k_last = max(self.latest_k, int(math.floor((t - self.t0) * self.spec.rate_hz)))
        while k_last > self.latest_k and self.grid_time(k_last) > t_eps:
            k_last -= 1
        while self.grid_time(k_last + 1) <= t_eps:
            k_last += 1
        if k_last < k_first:
            return []
        self.latest_k = k_last
        gap = t - t_prev
        if gap > self.spec.max_gap_s:
            return []  # grid frames inside a gap are all invalid: not emitted
        both = m & m_prev
        quad = None
        if self.spec.interpolation == "quadratic" and prev2 is not None and t_prev - prev2[0] <= self.spec.max_gap_s:
            quad = both & prev2[2]
        out = []
        for k in range(k_first, k_last + 1):
            w = (self.grid_time(k) - t_prev) / gap
            if w >= 1.0 - _SNAP:  # on an input frame (up to rounding): that frame alone
                out.append(self._normalise(k, pos, m))
            elif w <= _SNAP:
                out.append(self._normalise(k, p_prev, m_prev))
            else:
                p = (1.0 - w) * p_prev + w * pos
                valid = both
                if quad is not None:
                    tau = self.grid_time(k)
                    t2, p2, m2 = prev2
                    l2 = (tau - t_prev) * (tau - t) / ((t2 - t_prev) * (t2 - t))
                    l1 = (tau - t2) * (tau - t) / ((t_prev - t2) * (t_prev - t))
                    l0 = (tau - t2) * (tau - t_prev) / ((t - t2) * (t - t_prev))
                    q = l2 * p2 + l1 * p_prev + l0 * pos
                    p = np.where(quad[:, None], q, p)
                out.append(self._normalise(k, p, valid))
        return out

    def _normalise(self, k: int, p: np.ndarray, m: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        m = m.copy()
        if self._scale is not None:
            a, b = self._scale
            if m[a].all() and m[b].all():
                size = float(np.linalg.norm(p[a].mean(axis=0) - p[b].mean(axis=0)))
                if size > 0 and math.isfinite(size):
                    self._num = (1.0 - self._alpha) * self._num + self._alpha * size
                    self._den = (1.0 - self._alpha) * self._den + self._alpha
            scale = self._num / self._den if self._den > 0 else 0.0
        else:
            scale = 1.0
        if scale <= 0 or not m[self._root].all():
            m[:] = False
            return k, np.full(p.shape, np.nan, np.float32), m
        x = ((p - p[self._root].mean(axis=0)) / scale).astype(np.float32)
        x[~m] = np.nan
        return k, x, m


@dataclass(frozen=True, eq=False)
class GridSequence:
    """A sequence on the internal grid: ``t_s (K,)``, body-frame ``x (K, J, 3)`` (NaN where invalid),
    ``m (K, J)`` validity, and ``frame_to_grid (T,)``: for each input frame, the latest grid index at or
    before it."""

    t_s: np.ndarray
    x: np.ndarray
    m: np.ndarray
    frame_to_grid: np.ndarray
    input_mask: np.ndarray

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


def to_grid(seq: MotionSequence, skeleton: Skeleton, spec: FrameSpec, time_scale: float = 1.0) -> GridSequence:
    """Run :class:`GridResampler` over a whole sequence. ``time_scale`` multiplies the timestamps first (a
    tempo change: 0.8 plays the movement 25% faster)."""
    seq.check_skeleton(skeleton)
    rs = GridResampler(skeleton, spec)
    n_frames = len(seq)
    t_in = seq.t_s * float(time_scale)
    k_max = int(math.floor((t_in[-1] - t_in[0]) * spec.rate_hz)) + 2 if n_frames else 0
    x = np.full((k_max, skeleton.n_joints, 3), np.nan, np.float32)
    m = np.zeros((k_max, skeleton.n_joints), bool)
    f2g = np.zeros(n_frames, np.int64)
    for i in range(n_frames):
        for k, xk, mk in rs.push(t_in[i], seq.positions[i], seq.mask[i]):
            x[k], m[k] = xk, mk
        f2g[i] = rs.latest_k
    k_count = rs.latest_k + 1
    t_grid = (t_in[0] + np.arange(k_count) / spec.rate_hz) if n_frames else np.zeros(0)
    return GridSequence(t_grid, x[:k_count], m[:k_count], f2g, seq.mask.copy())
