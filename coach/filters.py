"""Smoothing filters: One Euro (live, causal, per sample) and Butterworth (offline, zero-phase)."""
from __future__ import annotations

import math
import sys

import numpy as np
from scipy.signal import butter, sosfiltfilt


class OneEuroFilter:
    """Casiez, Roussel & Vogel (CHI 2012): a low-pass whose cut-off rises with speed, so slow movement is
    smoothed and fast movement lags little. Works on arrays of any shape; NaN samples pass through and reset
    the affected elements. Timestamps in seconds, any (varying) rate."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self._x: np.ndarray | float | None = None  # a float while filtering numbers
        self._dx: np.ndarray | float | None = None
        self._t: float | None = None

    @staticmethod
    def _alpha(cutoff, dt: float):
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def reset(self) -> None:
        self._x = self._dx = self._t = None

    def __call__(self, x, t_s: float) -> np.ndarray | float:
        """The filtered sample: a float for a number (the rep counters' one signal value per frame, computed with
        ``math``, several times faster than through numpy), an array of ``x``'s shape otherwise."""
        if isinstance(x, (float, int)):
            return self._scalar(float(x), t_s)
        x = np.asarray(x, np.float64)
        if (self._x is None or self._t is None or t_s <= self._t or not isinstance(self._x, np.ndarray)
                or self._x.shape != x.shape):
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t_s
            return x.copy()
        dt = t_s - self._t
        self._t = t_s
        fresh = ~np.isfinite(self._x)
        dx = np.where(fresh, 0.0, (x - self._x) / dt)
        a_d = self._alpha(self.d_cutoff, dt)
        self._dx = np.where(np.isfinite(dx), a_d * dx + (1 - a_d) * np.nan_to_num(self._dx), 0.0)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        a = self._alpha(cutoff, dt)
        out = np.where(fresh | ~np.isfinite(x), x, a * x + (1 - a) * self._x)
        self._x = out
        return out.copy()

    def _scalar(self, x: float, t_s: float) -> float:
        """:meth:`__call__` for one number, step for step."""
        px, pdx = self._x, self._dx
        if px is None or self._t is None or t_s <= self._t or not isinstance(px, float):
            self._x, self._dx, self._t = x, 0.0, t_s
            return x
        dt = t_s - self._t
        self._t = t_s
        fresh = not math.isfinite(px)
        dx = 0.0 if fresh else (x - px) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        if math.isfinite(dx):
            if not math.isfinite(pdx):  # as np.nan_to_num
                pdx = 0.0 if math.isnan(pdx) else math.copysign(sys.float_info.max, pdx)
            self._dx = a_d * dx + (1 - a_d) * pdx
        else:
            self._dx = 0.0
        a = self._alpha(self.min_cutoff + self.beta * abs(self._dx), dt)
        out = x if fresh or not math.isfinite(x) else a * x + (1 - a) * px
        self._x = out
        return out


def butter_lowpass(x: np.ndarray, fs: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Zero-phase low-pass along axis 0 of ``x``. Runs of NaN are kept NaN; finite runs are filtered
    separately (short runs that the filter cannot pad are returned unchanged)."""
    x = np.asarray(x, np.float64)
    out = x.copy()
    if cutoff_hz <= 0 or cutoff_hz >= fs / 2:
        return out
    sos = butter(order, cutoff_hz, fs=fs, output="sos")
    finite = np.isfinite(x) if x.ndim == 1 else np.isfinite(x).all(axis=tuple(range(1, x.ndim)))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start > 3 * (2 * order + 1):
            out[start:stop] = sosfiltfilt(sos, x[start:stop], axis=0)
    return out
