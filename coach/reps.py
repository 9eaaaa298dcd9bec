"""Rep segmentation on an exercise's 1-D signal, streaming (live) and offline (recorded video).

One algorithm serves both: the offline form replays a whole series through the streaming counter and flushes
it at the end, so a recorded video is counted exactly as it would have been live, and the cue burnt into the
annotated video agrees with the report.

The signal is oriented so that the rep's turning point (the bottom of a squat, the top of a pull-up) is a
peak. A rep is a rise from a rest level into a peak and a return. Amplitudes are in the signal's own units
(degrees of knee bend, torso lengths of hand travel), so thresholds come from the exercise file:

* a movement smaller than ``0.5 * full_range`` is fidgeting: no rep, no partial;
* a full rep's larger half travels at least ``full_range`` and at least two thirds of the person's typical rep
  (median of their last five rep-sized movements, full or cut short), and its smaller half at least half the
  larger (a clip that opens mid-descent still counts);
* anything else that moved enough is a *partial* rep: a rep cut short, or one whose other half lies outside
  the recording or out of sight. Partials are reported, never silently counted or dropped.

Before any of that, a sample that jumps more than a full rep's range away from its neighbours (the median of
up to two valid samples on each side within 0.3 s) is dropped as a pose glitch: a landmark that flickers for a
frame or two (a fade-in, an arm passing in front of the body) would otherwise open or break a rep. Judging a
sample needs the two after it, so the live counter runs two samples (about 70 ms at 30 fps) behind the camera.

Peak-prominence terms: the larger half is the peak's prominence above the rest level on its better side; the
minimum rep and turn durations play the role of ``find_peaks``' ``distance``.
"""
from __future__ import annotations

import logging
import math
import statistics
from collections import deque
from dataclasses import dataclass

import numpy as np

from coach.exercises import SignalSpec
from coach.filters import OneEuroFilter

log = logging.getLogger(__name__)

FIDGET = 0.5  # of full_range: less than this is no movement at all
TYPICAL = 2 / 3  # of the typical (median of the last few) rep amplitude: less is a rep cut short
HALF = 0.5  # the smaller half of a full rep is at least this fraction of the larger
RECENT = 5  # full reps that make the typical amplitude
MAX_GAP_S = 0.6  # a longer gap in the signal (out of sight) ends any movement in progress
SETTLE_S = 0.2  # the return must stop this long before a rep ends (or the next one start)
SPIKE_S = 0.3  # neighbours within this time judge whether a sample is a glitch
SPIKE_N = 2  # valid neighbours looked at on each side


@dataclass(frozen=True)
class Rep:
    """One repetition (or partial repetition) found in the signal. Times in seconds; ``*_i`` are the indices of
    the samples passed to the counter."""

    index: int  # 1-based order of reps found (full and partial)
    start_s: float
    turn_s: float  # the turning point: bottom of a squat, top of a pull-up
    end_s: float
    partial: bool
    amplitude: float  # larger half, signal units
    in_amplitude: float  # start -> turn
    out_amplitude: float  # turn -> end
    start_i: int
    turn_i: int
    end_i: int
    reason: str = ""  # why partial: "cut short", "started mid-rep", "ended mid-rep", "lost sight"

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class RepCounter:
    """Streaming rep counter. Feed ``update(t_s, value)`` with every sample (``value`` NaN when the body part is
    out of sight); it returns the reps completed at that sample (usually none, at most two). Call ``flush()``
    at the end of a recording for the rep in progress."""

    def __init__(self, spec: SignalSpec, smooth: bool = True):
        self.spec = spec
        self.sign = 1.0 if spec.turning_point == "max" else -1.0
        self.full = float(spec.full_range)
        self._filter = OneEuroFilter(min_cutoff=spec.smoothing_hz, beta=0.0) if smooth else None
        self.reps: list[Rep] = []
        self._buf: deque[tuple[int, float, float]] = deque()  # (i, t, x) of the current movement and before
        self._i = -1
        self._pending: deque[tuple[float, float]] = deque()  # (t, value) not yet judged for glitches
        self._recent: deque[tuple[float, float]] = deque(maxlen=SPIKE_N)  # the last valid samples let through
        self.glitches = 0  # samples dropped as pose glitches
        self._reset(start_of_stream=True)

    # -- state -------------------------------------------------------------------------------------------
    def _reset(self, start_of_stream: bool = False) -> None:
        self.state = "start" if start_of_stream else "rest"
        self.low = self.low_i = self.low_t = None  # rest level before the movement
        self.high = self.high_i = self.high_t = None  # the turning point so far
        self.min_after = self.min_after_i = self.min_after_t = None
        self.start_i = self.start_t = None
        self.edge = start_of_stream  # the movement began before the first sample
        self._last_t = None
        self._buf.clear()

    @property
    def count(self) -> int:
        return sum(1 for r in self.reps if not r.partial)

    @property
    def partial_count(self) -> int:
        return sum(1 for r in self.reps if r.partial)

    @property
    def typical_amplitude(self) -> float:
        """Median amplitude of the person's last few rep-sized movements: full reps, and reps cut short that still
        travelled a full range. Recent, so a set that tires and shortens still counts; the cut-short ones count
        too, or one big first movement (getting into position, a deep first rep) would make every shallower
        rep after it "cut short" for the rest of the set."""
        recent = [r.amplitude for r in self.reps
                  if not r.partial or (r.reason == "cut short" and r.amplitude >= self.full)][-RECENT:]
        return float(np.median(recent)) if recent else self.full

    @property
    def phase(self) -> str:
        """"rest", "in" (moving into the turning point), "out" (returning)."""
        return {"start": "rest", "rest": "rest", "in": "in", "out": "out"}[self.state]

    def progress(self) -> float:
        """0..1: how far into the current rep's range the body is (for a live gauge)."""
        if self.low is None or not self._buf:
            return 0.0
        x = self._buf[-1][2]
        return float(np.clip((x - self.low) / max(self.typical_amplitude, 1e-9), 0.0, 1.0))

    # -- streaming -------------------------------------------------------------------------------------------
    def update(self, t_s: float, value: float) -> list[Rep]:
        self._pending.append((float(t_s), float(value)))
        out: list[Rep] = []
        while self._pending and self._judged(t_s):
            out += self._take(*self._pending.popleft())
        return out

    def _judged(self, now: float) -> bool:
        """Whether the oldest pending sample can be judged: it is missing, or enough valid samples (or time)
        came after it."""
        t0, v0 = self._pending[0]
        if not math.isfinite(v0) or now - t0 > SPIKE_S:  # math, not numpy: this runs per sample per counter
            return True
        after = 0
        for t, v in self._pending:
            if t > t0 and math.isfinite(v) and t - t0 <= SPIKE_S:
                after += 1
        return after >= SPIKE_N

    def _take(self, t_s: float, value: float) -> list[Rep]:
        if math.isfinite(value):
            around = [v for t, v in self._recent if t_s - t <= SPIKE_S]
            around += [v for t, v in self._pending if math.isfinite(v) and t - t_s <= SPIKE_S][:SPIKE_N]
            if len(around) >= SPIKE_N and abs(value - statistics.median(around + [value])) > self.full:
                self.glitches += 1
                value = float("nan")
            if math.isfinite(value):
                self._recent.append((t_s, value))
        return self._update_one(t_s, value)

    def _update_one(self, t_s: float, value: float) -> list[Rep]:
        self._i += 1
        i = self._i
        out: list[Rep] = []
        if not math.isfinite(value):
            if self._last_t is not None and t_s - self._last_t > MAX_GAP_S:
                out += self._finish_movement(reason="lost sight")
                self._reset()
            return out
        if self._last_t is not None and t_s - self._last_t > MAX_GAP_S:  # came back after a long gap
            out += self._finish_movement(reason="lost sight")
            self._reset()
        x = self.sign * float(value)
        if self._filter is not None:
            x = self._filter(x, t_s)
        self._last_t = t_s
        self._buf.append((i, t_s, x))
        self._trim()
        out += self._step(i, t_s, x)
        return out

    def _trim(self) -> None:
        keep_from = min(v for v in (self.low_i, self.start_i, self._i) if v is not None)
        while self._buf and self._buf[0][0] < keep_from - 2:
            self._buf.popleft()

    def _enter(self) -> float:
        return max(0.25 * self.full, 0.2 * min(self.typical_amplitude, 2 * self.full))

    def _step(self, i: int, t: float, x: float) -> list[Rep]:
        if self.state == "start":
            return self._step_start(i, t, x)
        if self.state == "rest":
            if self.low is None or x < self.low:
                self.low, self.low_i, self.low_t = x, i, t
            elif t - self.low_t > 3.0:  # standing still at a new level: let the rest level follow
                self.low, self.low_i, self.low_t = min((bx, bi, bt) for bi, bt, bx in self._buf if bt >= t - 3.0)
            if x - self.low >= self._enter():
                self.state = "in"
                self.high, self.high_i, self.high_t = x, i, t
                self.start_i, self.start_t = self._start_index()
            return []
        if self.state == "in":
            if x >= self.high:
                self.high, self.high_i, self.high_t = x, i, t
            elif self.high - x >= max(0.25 * (self.high - self.low), 0.15 * self.full):
                self.state = "out"
                self.min_after, self.min_after_i, self.min_after_t = x, i, t
            return []
        # state == "out": returning from the turning point
        if x > self.high:  # the turning point was not reached yet (a pause, a bounce)
            self.state = "in"
            self.high, self.high_i, self.high_t = x, i, t
            return []
        if x < self.min_after:
            self.min_after, self.min_after_i, self.min_after_t = x, i, t
        in_amp = self.high - self.low
        out_amp = self.high - self.min_after
        rising_again = x - self.min_after >= self._enter()
        if rising_again and out_amp < HALF * max(in_amp, FIDGET * self.full):
            self.state = "in"  # a wobble at the turning point, not a return
            return []
        returned = out_amp >= 0.7 * max(in_amp, FIDGET * self.full)
        # settled: back near the bottom of the return for SETTLE_S (jitter at rest makes ever-new tiny minima,
        # so the wait counts from first coming within 10% of the return, not from the lowest sample)
        settled = returned and (x - self.min_after >= 0.05 * self.full or t - self._end_index()[1] >= SETTLE_S)
        if rising_again or settled:
            reps = self._emit(reason="cut short")
            self._restart_from_min()  # the end of this rep is the rest level of the next
            if rising_again:
                self.state = "in"
                self.high, self.high_i, self.high_t = x, i, t
                self.start_i, self.start_t = self._start_index()
            return reps
        return []

    def _step_start(self, i: int, t: float, x: float) -> list[Rep]:
        """Before the first movement it is unknown whether the recording opened at rest or mid-rep: watch which
        way the signal goes first."""
        if self.low is None:
            self.low, self.low_i, self.low_t = x, i, t
            self.high, self.high_i, self.high_t = x, i, t
            return []
        if x > self.high:
            self.high, self.high_i, self.high_t = x, i, t
        if x < self.low:
            self.low, self.low_i, self.low_t = x, i, t
        if self.high - self.low < self._enter():
            return []
        first_i, first_t = self._buf[0][0], self._buf[0][1]
        if self.high_i < self.low_i:
            # Went down first: the recording opened at (or just after) a turning point. The rep's way in is not
            # in the recording: its in-half counts as zero.
            self.state = "out"
            self.start_i, self.start_t = first_i, first_t
            self.min_after, self.min_after_i, self.min_after_t = self.low, self.low_i, self.low_t
            self.low = self.high
            self.edge = True
        else:
            # Went up first: from rest, or the recording opened part-way into a rep (counted by what is seen).
            self.state = "in"
            self.edge = self.low_i <= first_i + 1
            self.start_i, self.start_t = self._start_index()
        return []

    def _restart_from_min(self) -> None:
        low, low_i, low_t = self.min_after, self.min_after_i, self.min_after_t
        self.state = "rest"
        self.low, self.low_i, self.low_t = low, low_i, low_t
        self.high = self.high_i = self.high_t = None
        self.min_after = self.min_after_i = self.min_after_t = None
        self.start_i = self.start_t = None
        self.edge = False

    def _start_index(self) -> tuple[int, float]:
        """The last sample before the movement that was still at the rest level."""
        thr = self.low + 0.1 * self.full
        best = (self.low_i, self.low_t)
        for bi, bt, bx in self._buf:
            if bi >= self.low_i and bx <= thr:
                best = (bi, bt)
        return best

    def _end_index(self) -> tuple[int, float]:
        """The first sample after the turn within 10% of the return's depth of its lowest point."""
        thr = self.min_after + 0.1 * (self.high - self.min_after)
        for bi, bt, bx in self._buf:
            if bi > self.high_i and bx <= thr:
                return bi, bt
        return self.min_after_i, self.min_after_t

    def _emit(self, reason: str, end: tuple[int, float] | None = None) -> list[Rep]:
        in_amp = max(self.high - self.low, 0.0)
        out_amp = max(self.high - (self.min_after if self.min_after is not None else self.high), 0.0)
        larger, smaller = max(in_amp, out_amp), min(in_amp, out_amp)
        if larger < FIDGET * self.full:
            return []
        end_i, end_t = end or self._end_index()
        if end_t - self.start_t < self.spec.min_rep_s and not self.edge:
            return []  # too quick for this exercise: a jolt of the landmarks, not a movement
        full = larger >= self.full and larger >= TYPICAL * self.typical_amplitude and smaller >= HALF * larger
        if not full and reason == "cut short" and self.edge and in_amp < HALF * larger:
            reason = "started mid-rep"
        rep = Rep(index=len(self.reps) + 1, start_s=self.start_t, turn_s=self.high_t, end_s=end_t,
                  partial=not full, amplitude=larger, in_amplitude=in_amp, out_amplitude=out_amp,
                  start_i=self.start_i, turn_i=self.high_i, end_i=end_i, reason="" if full else reason)
        self.reps.append(rep)
        return [rep]

    def _finish_movement(self, reason: str) -> list[Rep]:
        if self.state in ("in", "out") and self.high is not None:
            if self.state == "in":
                self.min_after, self.min_after_i, self.min_after_t = self._buf[-1][2], self._buf[-1][0], self._buf[-1][1]
            return self._emit(reason, end=(self._buf[-1][0], self._buf[-1][1]))
        return []

    def flush(self) -> list[Rep]:
        """End of the recording: report the movement in progress (a full rep whose return is mostly in, or a
        partial)."""
        out = []
        while self._pending:
            out += self._take(*self._pending.popleft())
        out += self._finish_movement(reason="ended mid-rep")
        self._reset()
        return out


def count_reps(t_s: np.ndarray, signal: np.ndarray, spec: SignalSpec) -> list[Rep]:
    """Offline: every rep in a recorded series (the streaming counter replayed, then flushed)."""
    counter = RepCounter(spec)
    for t, v in zip(np.asarray(t_s, float), np.asarray(signal, float)):
        counter.update(float(t), float(v))
    counter.flush()
    return counter.reps
