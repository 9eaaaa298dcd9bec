"""The coaching loop: ``Coach.process(frame) -> Feedback``, the one loop used by the CLI, the live page and the
review page.

Per frame: pose (when given an image) -> visibility check -> the exercise's rep signal -> streaming rep
counter -> the physics simulator's per-joint residuals -> on each finished rep: checks, diagnosis, quality,
cue. Timestamps are float seconds, so it is frame-rate independent. When the exercise is "auto", a
:class:`~coach.recognize.Recogniser` watches the first reps and the coach says which exercise it assumed; the
frames seen until then are replayed so no rep is lost. It keeps watching: when the person moves on to another
exercise (two full reps of it with none of this one's, or a hold held still), the coach says so and sets
:attr:`Coach.switch`; :meth:`Coach.handoff` gives the coach for the new exercise, with the frames since the
change replayed (the live page starts a new set with it; :func:`follow` chains them over a recording, as
``coach analyze`` does for the parts of a video and :func:`replay_workout` for a landmark recording).
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from coach.buffer import VIS, FrameRecord, missing_groups, stack
from coach.cues import Cue, CueEngine
from coach.diagnosis import (Fault, RepReport, camera_view, explain, failed_checks, measure_faults, model_fault,
                             posture_ok, quality_score, rep_metrics, rep_values, rule_values)
from coach.exercises import Exercise, get_exercise, load_catalogue
from coach.measures import Frames, compute
from coach.reps import Rep, RepCounter
from coach.types import PoseFrame, PoseResult

log = logging.getLogger(__name__)

SETUP_MESSAGES = {
    "nobody": "Step into view so I can see you",
    "legs": "Step back so I can see all of you: your legs are out of view",
    "upper": "Move back or tilt the camera up: your upper body is out of view",
    "body": "Step back so I can see all of you",
}
_LOWER = {"hips", "knees", "ankles", "feet"}
SETTLE_S = 0.25  # after someone appears (not after a dropout shorter than ABSENT_S)
ABSENT_S = 0.5
UNSEEN_S = 10.0  # while recognising: this long after reps seen with body parts out of the picture, say so
SET_REST_S = 20.0  # a pause this long between reps ends a set (live, hands-free, and in a recorded video)
SWITCH_REPS = 2  # full reps of another exercise, with none of this one's among them, before a recognised
SWITCH_HOLD_S = 8.0  # exercise changes; a hold must be held still this long (the top of a push-up held briefly
# looks just like a plank)


@dataclass(frozen=True)
class HoldReport:
    """A hold (plank): time in position, time under good form, and the faults seen with their durations."""

    in_position_s: float
    good_form_s: float
    fault_s: dict  # fault code -> seconds
    faults: tuple[Fault, ...]  # each fault seen, with its evidence where it was worst
    quality: int
    fault_at_s: dict = field(default_factory=dict)  # fault code -> when it was worst (the moment to look at)
    in_position_span_s: tuple[float, float] | None = None  # first and last moment in position

    def to_dict(self) -> dict:
        span = self.in_position_span_s
        return {"in_position_s": round(self.in_position_s, 2), "good_form_s": round(self.good_form_s, 2),
                "fault_s": {k: round(v, 2) for k, v in self.fault_s.items()}, "quality": self.quality,
                "faults": [f.to_dict() for f in self.faults],
                "fault_at_s": {k: round(v, 3) for k, v in self.fault_at_s.items()},
                "in_position_span_s": None if span is None else [round(span[0], 3), round(span[1], 3)]}


@dataclass(frozen=True)
class Feedback:
    """What the coach has to say after one frame."""

    t_s: float
    status: str  # "no_person", "not_visible", "recognising", "active"
    exercise: str | None  # catalogue id (None while recognising)
    exercise_name: str
    recognised: bool  # True when the exercise was recognised rather than chosen
    rep_count: int  # full reps
    partial_count: int
    phase: str  # "rest", "in", "out"
    progress: float  # 0..1 into the current rep's range
    pose: PoseFrame | None
    message: str = ""  # setup / status line for the screen
    cue: Cue | None = None  # a cue issued at this frame (speak it)
    display_cue: Cue | None = None  # the cue to keep on screen (the latest, for a few seconds)
    new_reps: tuple[RepReport, ...] = ()
    highlight: tuple[str, ...] = ()  # landmarks to mark in a fault colour
    hold: HoldReport | None = None
    view: str = ""

    @property
    def visible(self) -> bool:
        return self.status in ("recognising", "active")


class Coach:
    """Coaching for one person and one exercise (or "auto").

    ``process`` takes a :class:`~coach.video.VideoFrame` (the pose is estimated here), a
    :class:`~coach.types.PoseResult`, or a :class:`~coach.types.PoseFrame`. ``finish`` ends the set.
    """

    def __init__(self, exercise: str | Exercise = "auto", *, catalogue: dict[str, Exercise] | None = None,
                 models=None, use_model: bool = True, estimator=None, pose_model=None, num_poses: int = 1,
                 buffer_s: float = 90.0, image_size: tuple[int, int] | None = None, cue_engine: CueEngine | None = None,
                 say_exercise: bool = True):
        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        from coach.models import ModelStore

        self.models = models if models is not None else ModelStore()
        self.use_model = use_model
        self._estimator = estimator
        self._pose_model, self._num_poses = pose_model, num_poses
        self.image_size = image_size
        self.cues = cue_engine or CueEngine()
        self.say_exercise = say_exercise
        self.buffer_s = buffer_s
        self._buf: deque[FrameRecord] = deque()
        self._i = -1
        self.reports: list[RepReport] = []
        self.cue_log: list[Cue] = []
        self.rejected: list[tuple[Rep, str]] = []  # movements that were not reps of this exercise, and why
        self._display: Cue | None = None
        self.exercise: Exercise | None = None
        self.recognised = False
        self._recogniser = None
        self._counter: RepCounter | None = None
        self._stream = None
        self._model = None
        self._hold = None
        self._last_t = None
        self._present_since: float | None = None
        self._absent_since: float | None = None
        self.view = ""
        self.switch: tuple[Exercise, float] | None = None  # the exercise the person moved on to, and since when
        if isinstance(exercise, Exercise):
            self._start(exercise, recognised=False)
        elif exercise in (None, "", "auto"):
            from coach.recognize import Recogniser

            self._recogniser = Recogniser(self.catalogue)
        else:
            self._start(get_exercise(exercise, self.catalogue), recognised=False)

    # ------------------------------------------------------------------------------------------------------------
    def _start(self, ex: Exercise, recognised: bool) -> None:
        self.exercise = ex
        self.recognised = recognised
        self._counter = RepCounter(ex.signal) if ex.kind == "reps" else None
        self._model = self.models.get(ex) if self.use_model else None
        self._stream = self._model.simulator.stream() if self._model is not None else None
        self._ref_stream = self._model.reference().stream() if self._model is not None else None
        self._hold = _HoldTracker(ex) if ex.kind == "hold" else None

    @property
    def rep_count(self) -> int:
        return sum(1 for r in self.reports if not r.rep.partial)

    @property
    def partial_count(self) -> int:
        return sum(1 for r in self.reports if r.rep.partial)

    # ------------------------------------------------------------------------------------------------------------
    def _pose_of(self, item) -> tuple[float, PoseFrame | None]:
        if isinstance(item, PoseFrame):
            return item.t_s, item
        if isinstance(item, PoseResult):
            if item.image_size and self.image_size is None:
                self.image_size = item.image_size
            return item.t_s, item.primary
        image = getattr(item, "image", None)
        if image is None:
            raise TypeError(f"Coach.process takes a VideoFrame, PoseResult or PoseFrame, not {type(item).__name__}")
        if self._estimator is None:
            from coach.pose import PoseEstimator

            self._estimator = PoseEstimator(self._pose_model, num_poses=self._num_poses)
        res = self._estimator(image, item.t_s)
        if self.image_size is None:
            self.image_size = res.image_size
        return res.t_s, res.primary

    def process(self, item) -> Feedback:
        t, pose = self._pose_of(item)
        if self._last_t is not None and t <= self._last_t:
            t = self._last_t + 1e-3  # time must move forward (a repeated webcam timestamp)
        self._last_t = t
        self._i += 1
        if pose is None:
            fr = FrameRecord(self._i, t, np.full((33, 3), np.nan), np.zeros(33), np.full((33, 2), np.nan), False)
        else:
            fr = FrameRecord(self._i, t, pose.world_xyz.astype(np.float64), pose.visibility.astype(np.float64),
                             pose.image_xy.astype(np.float64), True)
        # MediaPipe's first frames after it finds a person (walking in, a fade-in) are unsteady: count from
        # SETTLE_S after that.
        if pose is None:
            if self._absent_since is None:
                self._absent_since = t
            if t - self._absent_since > ABSENT_S:
                self._present_since = None
        else:
            self._absent_since = None
            if self._present_since is None:
                # in view from the very first frame: nothing to settle
                self._present_since = t if self._i > 0 else -np.inf
        fr.settled = pose is not None and t - self._present_since >= SETTLE_S
        self._buf.append(fr)
        while self._buf and self._buf[0].t < t - self.buffer_s:
            self._buf.popleft()

        cue: Cue | None = None
        new_reps: list[RepReport] = []
        missing = self._missing_groups(fr)
        status = "no_person" if pose is None else ("not_visible" if missing else "active")
        message = ""
        if status != "active":
            message = SETUP_MESSAGES["nobody"] if pose is None else self._setup_message(missing)

        if self.exercise is None:
            assert self._recogniser is not None
            choice = self._recogniser.update(fr, self.image_size)
            unseen = self._recogniser.unseen(t, within_s=UNSEEN_S) if choice is None and status == "active" else ()
            if choice is not None:
                cue = self._lock_in(choice, t)
            elif unseen:  # reps, with the body parts an exercise needs out of the picture: say what to do
                status, message = "not_visible", self._setup_message(list(unseen))
                cue = self.cues.setup(message, t)
            elif status == "active":
                status = "recognising"
                message = "Start your set: I'll recognise the exercise"
        elif self.switch is None:  # (after a change of exercise this coach counts nothing more: see handoff)
            new_reps, cue_rep = self._step(fr)
            cue = cue or cue_rep
            if self.recognised and self._recogniser is not None:
                cue = self._watch(fr, t) or cue

        if status in ("no_person", "not_visible") and self.exercise is not None and self.switch is None:
            setup = self.cues.setup(message, t)
            if setup is not None and cue is None:
                cue = setup
        if cue is not None:
            self.cue_log.append(cue)
            self._display = cue
        display = self._display if self._display is not None and t - self._display.t_s <= 3.0 else None
        highlight: tuple[str, ...] = ()  # where the fault on screen is
        if display is not None and display.kind == "fault":
            if self._hold is not None:
                highlight = self._hold.current_joints()
            elif self.reports and self.reports[-1].faults:
                highlight = self.reports[-1].faults[0].joints
        ex = self.exercise
        return Feedback(
            t_s=t, status=status, exercise=ex.id if ex else None, exercise_name=ex.name if ex else "",
            recognised=self.recognised, rep_count=self.rep_count, partial_count=self.partial_count,
            phase=self._counter.phase if self._counter else "rest",
            progress=self._counter.progress() if self._counter else 0.0, pose=pose, message=message, cue=cue,
            display_cue=display, new_reps=tuple(new_reps), highlight=tuple(highlight),
            hold=self._hold.report() if self._hold else None, view=self.view)

    # ------------------------------------------------------------------------------------------------------------
    def _required(self) -> tuple[str, ...]:
        if self.exercise is not None and self.exercise.required:
            return self.exercise.required
        return ("shoulders", "hips")

    def _missing_groups(self, fr: FrameRecord) -> list[str]:
        return missing_groups(fr, self._required())

    @staticmethod
    def _setup_message(missing: list[str]) -> str:
        if missing and all(g in _LOWER for g in missing):
            return SETUP_MESSAGES["legs"]
        if missing and not any(g in _LOWER for g in missing):
            return SETUP_MESSAGES["upper"]
        return SETUP_MESSAGES["body"]

    def _signal(self, fr: FrameRecord) -> float:
        if not fr.settled or self.exercise is None or self.exercise.signal is None:
            return float("nan")
        f = Frames(fr.world[None], fr.vis[None], VIS)
        return float(compute(self.exercise.signal.measure, f)[0])

    def _residuals(self, fr: FrameRecord) -> tuple[np.ndarray | None, np.ndarray | None]:
        if self._stream is None or not fr.present:
            return None, None
        from coach.body import landmarks_to_joints

        pos, mask = landmarks_to_joints(fr.world, fr.vis, self._model.simulator.skeleton)
        return self._stream.update(pos, mask, fr.t), self._ref_stream.update(pos, mask, fr.t)

    def _step(self, fr: FrameRecord, speak: bool = True) -> tuple[list[RepReport], Cue | None]:
        fr.signal = self._signal(fr)
        fr.residual, fr.reference = self._residuals(fr)
        if self._hold is not None:
            cue = self._hold.update(fr, self._window(fr.t - 1.0, fr.t), self.cues, self.image_size)
            return [], cue if speak else None
        reps = self._counter.update(fr.t, fr.signal)
        return self._handle(reps, speak)

    def _handle(self, reps: list[Rep], speak: bool) -> tuple[list[RepReport], Cue | None]:
        out, cue = [], None
        for rep in reps:
            report = self._diagnose(rep)
            if report is None:
                continue
            visible = not self._missing_groups(self._buf[-1]) if self._buf else False
            c = self.cues.for_rep(report, self._buf[-1].t if self._buf else rep.end_s,
                                  self.exercise.good_cue, fully_visible=visible)
            report = replace(report, cue=c.text if c else "")
            self.reports.append(report)
            if self.recognised and self.switch is None and not rep.partial:
                self._recogniser = self._watcher()  # evidence of another exercise counts from this full rep on
            out.append(report)
            if speak and c is not None:
                cue = c  # one cue per frame: the latest rep's
        return out, cue

    def _window(self, t0: float, t1: float) -> list[FrameRecord]:
        return [f for f in self._buf if t0 <= f.t <= t1]

    def _diagnose(self, rep: Rep) -> RepReport | None:
        ex = self.exercise
        frames_list = self._window(rep.start_s, rep.end_s)
        if len(frames_list) < 2:
            return None
        frames, t = stack(frames_list, self.image_size)
        values = rep_values(ex, frames, t, rep)
        if not rep.partial or rep.reason == "cut short":
            if not posture_ok(ex, frames):
                self.rejected.append((rep, "posture"))
                return None
            bad = failed_checks(ex, values)
            if bad:
                self.rejected.append((rep, bad[0].why or bad[0].measure))
                return None
        view = camera_view(frames)
        self.view = view
        faults = measure_faults(ex, values, frames, view) if not rep.partial or rep.reason == "cut short" else []
        signal = np.array([f.signal for f in frames_list])
        metrics = rep_metrics(ex, frames, t, rep, signal)
        verdict = None
        if self._model is not None and not rep.partial:
            rows = [f for f in frames_list if f.residual is not None]
            if len(rows) >= 4:
                verdict = self._model.verdict(np.stack([f.residual for f in rows]),
                                              np.stack([f.reference for f in rows]), {**values, **metrics})
                mf = model_fault(ex, verdict, self._model.fault_threshold)
                if mf is not None and not faults:
                    faults.append(mf)
        faults = explain(faults)
        rep = replace(rep, index=len(self.reports) + 1)
        return RepReport(rep, tuple(faults), quality_score(faults, rep, verdict), metrics, values, view, verdict)

    # ------------------------------------------------------------------------------------------------------------
    def _lock_in(self, ex: Exercise, t: float) -> Cue | None:
        """The recogniser chose: start coaching and replay what was seen so far (without speaking old cues)."""
        self._start(ex, recognised=True)
        self._recogniser = self._watcher()
        frames = list(self._buf)
        for fr in frames:
            self._step(fr, speak=False)
        if not self.say_exercise:
            return None
        n = self.rep_count
        extra = f" ({n} rep{'s' if n != 1 else ''} so far)" if n else ""
        return Cue(f"Looks like {ex.name.lower()}{extra}", "info", t)

    def _watcher(self):
        from coach.recognize import Recogniser

        return Recogniser(self.catalogue, hold_s=SWITCH_HOLD_S)

    def _watch(self, fr: FrameRecord, t: float) -> Cue | None:
        """After recognising: has the person moved on to another exercise?"""
        w = self._recogniser
        if self._hold is not None:
            w.watch(fr, self.image_size)
            other = w.rep_exercise()
            if other is not None and self._hold.in_position_s < SWITCH_HOLD_S:
                # a hold recognised at the start of a set may be the top of a push-up: reps win, in place
                return self._lock_in(other, t)
        else:
            other = w.update(fr, self.image_size)
        if other is None or other.id == self.exercise.id:
            return None  # (this exercise's counter may be stuck mid-movement in the new one's posture: no matter)
        if other.kind == "reps":
            reps = w.full_reps(other.id)
            if len(reps) < SWITCH_REPS:
                return None
            since = reps[0].start_s
        else:
            since = t - SWITCH_HOLD_S
        self.switch = (other, since)
        self._recogniser = None
        # half-movements read as this exercise's since the person moved on were the new one's (and a hold's time)
        self.reports = [r for r in self.reports if not (r.rep.partial and r.rep.turn_s >= since)]
        self.rejected = [(r, why) for r, why in self.rejected if r.turn_s < since]  # (and its movements)
        if self.reports:
            self.view = self.reports[-1].view  # the view of this exercise's reps, not of the new one's
        if self._hold is not None:
            self._hold.trim(since)
        log.info("%s -> %s from %.1fs", self.exercise.id, other.id, since)
        return Cue(f"Looks like {other.name.lower()} now", "info", t) if self.say_exercise else None

    def handoff(self) -> "Coach":
        """The coach for the exercise the person moved on to (:attr:`switch`), recognised, with the frames since
        the change replayed; it takes over the pose estimator. This coach counts nothing after the change
        (``finish`` it)."""
        if self.switch is None:
            raise ValueError("no change of exercise to hand off")
        ex, since = self.switch
        nxt = Coach(ex, catalogue=self.catalogue, models=self.models, use_model=self.use_model,
                    estimator=self._estimator, pose_model=self._pose_model, num_poses=self._num_poses,
                    buffer_s=self.buffer_s, image_size=self.image_size, say_exercise=self.say_exercise)
        self._estimator = None
        nxt.recognised = True
        nxt._recogniser = nxt._watcher()
        # from the end of this exercise's last rep: the new one's first rep may be in there unvetted (half of it
        # seen by a counter that had just been reset), and nothing of this one's last rep is
        last_end = max((r.rep.end_s for r in self.reports), default=-np.inf)
        for fr in self._buf:
            if fr.t > last_end:
                fr = replace(fr, signal=float("nan"), residual=None, reference=None)
                nxt._buf.append(fr)
                nxt._step(fr, speak=False)
        nxt._i, nxt._last_t = self._i, self._last_t
        nxt._present_since, nxt._absent_since = self._present_since, self._absent_since
        return nxt

    def finish(self) -> list[RepReport]:
        """End of the set or recording: the movement in progress becomes a rep (full or partial)."""
        out: list[RepReport] = []
        if self.exercise is None and self._recogniser is not None:
            choice = self._recogniser.best_guess()
            if choice is not None:
                cue = self._lock_in(choice, self._last_t or 0.0)
                if cue is not None:
                    self.cue_log.append(cue)
        if self._counter is not None:
            reps = self._counter.flush()
            if self.switch is not None:  # a movement still under way after the person moved on is not this one's
                reps = [r for r in reps if r.end_s <= self.switch[1]]
            reps, cue = self._handle(reps, speak=True)
            out.extend(reps)
            if cue is not None:
                self.cue_log.append(cue)
        return out

    def close(self) -> None:
        if self._estimator is not None:
            self._estimator.close()
            self._estimator = None

    def set_summary(self) -> dict:
        """Summary of everything seen: reps, good reps, most frequent fault, tempo, range. When the reps fall in
        several sets (:meth:`sets`), velocity loss is that of the set that lost the most: loss is within a set,
        the rest between sets restores the speed."""
        out = _summary(self.reports)
        sets = self.sets()
        if len(sets) > 1:
            losses = [s["velocity_loss_pct"] for s in sets if s["velocity_loss_pct"] is not None]
            out["velocity_loss_pct"] = max(losses) if losses else None
        out["hold"] = self._hold.report().to_dict() if self._hold else None
        return out

    def rep_dicts(self) -> list[dict]:
        """Every rep as :meth:`RepReport.to_dict`, with ``set``: the index of its set in :meth:`sets`."""
        set_of = {i: s["index"] for s in self.sets() for i in s["reps"]}
        return [{**r.to_dict(), "set": set_of.get(r.rep.index)} for r in self.reports]

    def sets(self, rest_s: float = SET_REST_S) -> list[dict]:
        """The sets among the reps (a recorded session may hold several), each with its :meth:`set_summary`
        figures, ``index`` (1-based), ``start_s`` / ``end_s`` (first full rep's start, last one's end),
        ``rest_before_s`` (since the set before) and ``reps`` (the indices of its reps, partial ones included)."""
        out, prev_end = [], None
        for k, group in enumerate(split_sets(self.reports, rest_s), 1):
            full = [r for r in group if not r.rep.partial]
            start, end = full[0].rep.start_s, full[-1].rep.end_s
            out.append({"index": k, "start_s": start, "end_s": end,
                        "rest_before_s": None if prev_end is None else start - prev_end,
                        **_summary(group), "reps": [r.rep.index for r in group]})
            prev_end = end
        return out


def split_sets(reports: list[RepReport], rest_s: float = SET_REST_S) -> list[list[RepReport]]:
    """Reps grouped into sets: a new set begins where a full rep starts more than ``rest_s`` after the last one
    ended. A partial rep goes with the set nearest to it in time (the earlier one on a tie). No full rep, no set."""
    full = [r for r in reports if not r.rep.partial]
    if not full:
        return []
    groups = [[full[0]]]
    for prev, r in zip(full, full[1:]):
        if r.rep.start_s - prev.rep.end_s > rest_s:
            groups.append([])
        groups[-1].append(r)
    spans = [(g[0].rep.start_s, g[-1].rep.end_s) for g in groups]
    for r in reports:
        if r.rep.partial:
            k = min(range(len(spans)), key=lambda i: max(spans[i][0] - r.rep.end_s, r.rep.start_s - spans[i][1], 0.0))
            groups[k].append(r)
    return [sorted(g, key=lambda r: r.rep.index) for g in groups]


def _summary(reports: list[RepReport]) -> dict:
    """Reps, good reps, most frequent fault, tempo, range, velocity and velocity loss of these reps."""
    reps = [r for r in reports if not r.rep.partial]
    counts: dict[str, int] = {}
    for r in reports:
        for f in r.faults:
            counts[f.code] = counts.get(f.code, 0) + 1
    top = max(counts, key=counts.get) if counts else None

    def mean(key):
        v = [r.metrics.get(key) for r in reps if r.metrics.get(key) is not None]
        return float(np.mean(v)) if v else None

    return {
        "rep_count": len(reps), "partial_count": len(reports) - len(reps),
        "good_reps": sum(1 for r in reps if not r.faults),
        "mean_quality": float(np.mean([r.quality for r in reps])) if reps else None,
        "most_frequent_fault": top, "fault_counts": counts,
        "mean_duration_s": mean("duration_s"), "mean_eccentric_s": mean("eccentric_s"),
        "mean_concentric_s": mean("concentric_s"), "mean_rom": mean("rom"),
        "mean_concentric_velocity_m_s": mean("concentric_velocity_m_s"),
        "velocity_loss_pct": _velocity_loss(reps),
    }


def _velocity_loss(reps: list[RepReport]) -> float | None:
    """Velocity loss over the set (%), best rep against the last: what velocity-based training dosing uses."""
    v = [r.metrics.get("concentric_velocity_m_s") for r in reps]
    v = [x for x in v if x is not None and x > 0]
    if len(v) < 2:
        return None
    return float(100.0 * (max(v) - v[-1]) / max(v))


class _HoldTracker:
    """Time in position and under good form for a hold; its faults evaluated on the last second."""

    def __init__(self, ex: Exercise):
        self.ex = ex
        self.in_position_s = 0.0
        self.good_s = 0.0
        self.fault_s: dict[str, float] = {}
        self.worst: dict[str, tuple[float, Fault, float]] = {}  # code -> (how far past its limit, fault, when)
        self.span: tuple[float, float] | None = None  # first and last moment in position
        self._current: list[Fault] = []
        self._last_t: float | None = None
        self._log: list[tuple[float, float, tuple[Fault, ...]]] = []  # (t, seconds, faults) per frame in position

    def update(self, fr: FrameRecord, window: list[FrameRecord], cues: CueEngine, image_size) -> Cue | None:
        dt = 0.0 if self._last_t is None else min(fr.t - self._last_t, 0.5)
        self._last_t = fr.t
        if not fr.present or len(window) < 3:
            self._current = []
            return None
        frames, t = stack(window, image_size)
        if not posture_ok(self.ex, frames):
            self._current = []
            return None
        view = camera_view(frames)
        values = rule_values(self.ex, frames, t, checks=False)
        faults = explain(measure_faults(self.ex, values, frames, view))
        self._current = faults
        self._log.append((fr.t, dt, tuple(faults)))
        self._add(fr.t, dt, faults)
        return cues.for_hold(faults, fr.t)

    def _add(self, t: float, dt: float, faults) -> None:
        self.in_position_s += dt
        self.span = (t if self.span is None else self.span[0], t)
        if faults:
            for f in faults:
                self.fault_s[f.code] = self.fault_s.get(f.code, 0.0) + dt
                past = abs(f.value - f.threshold) if f.value is not None and f.threshold is not None else 0.0
                if f.code not in self.worst or past > self.worst[f.code][0]:
                    self.worst[f.code] = (past, f, t)
        else:
            self.good_s += dt

    def trim(self, until: float) -> None:
        """Forget the time in position after ``until`` (the person had moved on to another exercise: the top of
        a push-up is a plank's position)."""
        kept = [e for e in self._log if e[0] <= until]
        self.in_position_s, self.good_s, self.fault_s, self.worst, self.span = 0.0, 0.0, {}, {}, None
        self._log = kept
        for t, dt, faults in kept:
            self._add(t, dt, faults)
        self._current = []

    def current_joints(self) -> tuple[str, ...]:
        return self._current[0].joints if self._current else ()

    def report(self) -> HoldReport:
        q = int(round(100 * self.good_s / self.in_position_s)) if self.in_position_s > 0 else 0
        return HoldReport(self.in_position_s, self.good_s, dict(self.fault_s), tuple(f for _, f, _ in
                                                                                  self.worst.values()), q,
                          {code: t for code, (_, _, t) in self.worst.items()}, self.span)


def _offline(options: dict) -> dict:
    """Coach options for a replay: no trained model, no announcement of the exercise, unless ``options`` say."""
    from coach.models import ModelStore

    return {"models": ModelStore([]), "use_model": False, "say_exercise": False, **options}


def replay(exercise, seq, **options) -> Coach:
    """A :class:`Coach` run over a whole recorded :class:`~coach.types.PoseSequence` and finished. By default it
    judges by the measures alone (no trained model) and does not announce the exercise it recognises: how
    evaluation and training look for reps. ``options`` go to :class:`Coach`."""
    coach = Coach(exercise, image_size=seq.image_size, **_offline(options))
    for r in seq.results():
        coach.process(r)
    coach.finish()
    return coach


def replay_workout(seq, **options) -> list[Coach]:
    """The exercises of a recording, one after another: an "auto" :class:`Coach` over the whole
    :class:`~coach.types.PoseSequence`, handed off (:meth:`Coach.handoff`) each time the person moves on to
    another exercise; each coach finished. ``options`` as for :func:`replay`."""
    coaches = [Coach("auto", image_size=seq.image_size, **_offline(options))]
    for r in seq.results():
        coaches[-1].process(r)
        follow(coaches)
    coaches[-1].finish()
    return coaches


def follow(coaches: list[Coach]) -> Coach:
    """The coach for the next frame of a recording: the last of ``coaches``, or, once it has seen the person move
    on to another exercise, the coach it hands off to (appended; the old one finished)."""
    coach = coaches[-1]
    if coach.switch is not None:
        coaches.append(coach.handoff())
        coach.finish()
    return coaches[-1]
