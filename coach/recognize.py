"""Which exercise is this? Recognised from the landmarks within the first rep or two.

Every exercise of the catalogue is tried at once, from its own exercise file: its rep signal runs through its
own rep counter, and a rep counts as evidence only if the exercise's posture and checks hold for it (a
pull-up lifts the body, a press only the hands; a lunge has a split stance, a squat does not). The first
exercise with a full rep that passes wins; when several do, the one whose rep covered most of its full
range. A rep is evidence only while the body parts its exercise needs are in the picture (MediaPipe places
joints below the picture's edge too, sometimes sure of them: a curl filmed chest-up was taken for a jumping
jack from its guessed ankles); two such reps of one exercise, and nothing recognised, make the coach ask the
person to step back (:meth:`Recogniser.unseen`). A hold (plank) is recognised when its posture is held still
for a few seconds. So a taught exercise is recognised too, with no code.
"""
from __future__ import annotations

import logging
from collections import deque

import numpy as np

from coach.buffer import FrameRecord, missing_groups, stack
from coach.diagnosis import failed_checks, posture_ok, rep_values
from coach.exercises import Exercise
from coach.measures import compute
from coach.reps import Rep, RepCounter

log = logging.getLogger(__name__)

BATCH = 6  # frames measured together (the signals of every exercise at once are cheap in a batch)
DECIDE_AFTER_S = 0.6  # after the first vetted rep, wait this long for other exercises' counters to report,
MAX_WAIT_S = 4.0  # and up to this long for a counter still in the middle of a movement that began before
HOLD_S = 3.0  # a hold is recognised after this long still in its posture
IN_VIEW = 0.5  # a rep is evidence only if the exercise's required body parts are in the picture this much of it


class Recogniser:
    def __init__(self, catalogue: dict[str, Exercise], window_s: float = 30.0, hold_s: float = HOLD_S):
        self.hold_s = hold_s
        self.rep_ex = [e for e in catalogue.values() if e.kind == "reps" and e.signal is not None]
        self.hold_ex = [e for e in catalogue.values() if e.kind == "hold"]
        self.window_s = window_s
        self._hist: deque[FrameRecord] = deque()
        self._pending: list[FrameRecord] = []
        self._counters = {e.id: RepCounter(e.signal) for e in self.rep_ex}
        self.evidence: dict[str, list[tuple[Rep, float]]] = {e.id: [] for e in self.rep_ex}  # (rep, score)
        self._first_t: float | None = None
        self._image_size = None
        #: per exercise, the reps dropped since the last vetted one because the body parts it needs were out of
        #: the picture: (the rep's end, the groups missing on most of its frames)
        self._unseen: dict[str, list[tuple[float, tuple[str, ...]]]] = {}

    def update(self, fr: FrameRecord, image_size=None) -> Exercise | None:
        """Take one frame; the exercise once it is decided (else None)."""
        return self._decide(fr.t) if self.watch(fr, image_size) else None

    def watch(self, fr: FrameRecord, image_size=None) -> bool:
        """Take one frame and gather evidence, without deciding (see :meth:`rep_exercise`); True when a batch of
        frames was measured."""
        self._image_size = image_size
        self._hist.append(fr)
        while self._hist and self._hist[0].t < fr.t - self.window_s:
            self._hist.popleft()
        self._pending.append(fr)
        if len(self._pending) < BATCH:
            return False
        batch, self._pending = self._pending, []
        self._feed(batch)
        return True

    def _feed(self, batch: list[FrameRecord]) -> None:
        present = [f for f in batch if f.present]
        values: dict[str, np.ndarray] = {}
        if present:
            frames, _ = stack(batch, self._image_size)
            for e in self.rep_ex:
                m = e.signal.measure
                if m not in values:
                    values[m] = compute(m, frames)
        for e in self.rep_ex:
            sig = values.get(e.signal.measure)
            counter = self._counters[e.id]
            for k, f in enumerate(batch):
                v = float(sig[k]) if sig is not None and f.present and f.settled else float("nan")
                for rep in counter.update(f.t, v):
                    self._vet(e, rep)

    def _vet(self, e: Exercise, rep: Rep) -> None:
        if rep.partial and rep.reason != "cut short":
            return  # half a rep at the edge of the recording says little
        recs = [f for f in self._hist if rep.start_s <= f.t <= rep.end_s]
        if len(recs) < 3:
            return
        gone = [missing_groups(f, e.required) for f in recs if f.present]
        if e.required and gone and np.mean([not g for g in gone]) < IN_VIEW:
            # its body parts were out of the picture: a curl filmed chest-up is no jumping jack
            self._unseen.setdefault(e.id, []).append(
                (rep.end_s, tuple(g for g in e.required if sum(g in x for x in gone) > len(gone) / 2)))
            return
        frames, t = stack(recs, self._image_size)
        if not posture_ok(e, frames):
            return
        bad = failed_checks(e, rep_values(e, frames, t, rep))
        if bad:
            log.debug("%s rep at %.1fs rejected: %s", e.id, rep.turn_s, bad[0].why)
            return
        score = min(rep.amplitude / e.signal.full_range, 5.0) * (0.5 if rep.partial else 1.0)
        self.evidence[e.id].append((rep, score))
        self._unseen.clear()
        if self._first_t is None and not rep.partial:  # a full rep decides; shorter ones only break ties at the end
            self._first_t = rep.end_s

    def _decide(self, t: float) -> Exercise | None:
        if self._first_t is None:
            return self._hold(t)
        if t < self._first_t + DECIDE_AFTER_S:
            return None
        # Another exercise's counter may be in the middle of the same movement, seen through its own signal
        # (a sit-up's way back down ends later than the hands' curl inside it): let it finish.
        busy = [c for e_id, c in self._counters.items() if not self.evidence[e_id] and c.state in ("in", "out")
                and c.start_t is not None and c.start_t <= self._first_t]
        if busy and t < self._first_t + MAX_WAIT_S:
            return None
        return self.best_guess()

    def _hold(self, t: float) -> Exercise | None:
        recent = [f for f in self._hist if f.t >= t - self.hold_s]
        if not self.hold_ex or len(recent) < 5 or recent[0].t > t - self.hold_s + 0.3:
            return None
        if sum(f.present for f in recent) < 0.9 * len(recent):
            return None
        frames, _ = stack([f for f in recent if f.present], self._image_size)
        for e in self.hold_ex:
            if posture_ok(e, frames) and _still(frames):
                return e
        return None

    def unseen(self, t: float, reps: int = 2, within_s: float = 10.0) -> tuple[str, ...]:
        """The body parts out of the picture while the person moves, when that is why nothing is recognised:
        ``reps`` reps of one exercise seen with them out of view (and none vetted since), the last ending
        within ``within_s`` of ``t``; else ()."""
        for seen in self._unseen.values():
            if len(seen) >= reps and t - seen[-1][0] < within_s and seen[-1][1]:
                return seen[-1][1]
        return ()

    def rep_exercise(self) -> Exercise | None:
        """A rep exercise with a full rep seen (used to leave a hold that was only the start of a set)."""
        return self.best_guess() if self._first_t is not None else None

    def full_reps(self, exercise_id: str) -> list[Rep]:
        """The full reps of this exercise that passed its checks, in order."""
        return [rep for rep, _ in self.evidence.get(exercise_id, []) if not rep.partial]

    def best_guess(self) -> Exercise | None:
        """The exercise whose vetted reps covered most of its full range (then the most reps), or None."""
        ranked = sorted(((float(np.mean([s for _, s in v])), len(v), e.id, e) for e in self.rep_ex
                         if (v := self.evidence[e.id])), key=lambda x: (x[0], x[1]), reverse=True)
        return ranked[0][3] if ranked else None


def _still(frames) -> bool:
    """No joint moved more than a fifth of the torso over the window (world coordinates are hip-centred)."""
    w = frames.w
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = np.nanpercentile(w, 95, axis=0) - np.nanpercentile(w, 5, axis=0)
            torso = np.nanmedian(np.linalg.norm(frames.mid("shoulders") - frames.mid("hips"), axis=-1))
    return bool(np.isfinite(spread).any() and np.nanmax(np.linalg.norm(spread, axis=-1)) < 0.35 * torso)
