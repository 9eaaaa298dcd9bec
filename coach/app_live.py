"""The Live page's engine: webcam frames in, annotated frames out, sets, rest timer and history writes.

Runs in streamlit-webrtc's frame-callback thread and never calls Streamlit. The page reads a
:class:`LiveSnapshot` (:meth:`LiveSession.snapshot`) and drains events (cues to speak, sets saved) from
:meth:`LiveSession.drain_events`; it never blocks this thread, and this thread never waits for the page.

Frame flow (one frame): pose (MediaPipe) -> :meth:`coach.session.Coach.process` -> camera-setup check -> set
state machine -> overlay. streamlit-webrtc's asynchronous processing hands the callback only the newest frame
when the previous one is still being processed, so a slow machine drops frames instead of piling up latency.

Sets: a *standby* coach runs between sets (it drives the setup check). With hands-free on, the set starts by
itself when that coach sees the first rep (a hold: when in position), and ends after a while without reps or
with nobody in view; the buttons start and end sets too. Each set is written to the history as it happens
(session row at the start, each rep as it finishes, the summary at the end) by a writer thread, so a crash
keeps the reps already done.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from coach.errors import CoachError
from coach.history import History, new_workout_id, summary_from_coach, utc_now
from coach.overlay import CUE_COLORS, HIGHLIGHT

log = logging.getLogger(__name__)

#: Works on localhost with no outside server (host candidates only). COACH_RTC_CONFIG (JSON) overrides.
DEFAULT_RTC_CONFIGURATION: dict = {"iceServers": []}
FRAME_SIZE = (640, 480)
MEDIA_CONSTRAINTS = {"video": {"width": {"ideal": FRAME_SIZE[0]}, "height": {"ideal": FRAME_SIZE[1]},
                               "frameRate": {"ideal": 30}}, "audio": False}

GOOD, SETUP, INFO, FAULT = (CUE_COLORS[k] for k in ("good", "setup", "info", "fault"))

FAR_EXTENT = 0.33  # the body spans less than this fraction of the picture: too far away
SETUP_SAY_S = 8.0  # between sets, a camera set-up prompt is spoken at most this often
READY_TEXT = "That's good: start when you're ready"
MAX_SET_FRAMES = 30 * 60 * 10  # landmarks kept per set (10 min at 30 fps, ~20 MB)


class RtcConfigError(CoachError):
    """The WebRTC configuration (COACH_RTC_CONFIG or the setting) is not valid JSON of the right shape."""


def rtc_configuration(text: str | None = None) -> dict:
    """The ``rtc_configuration`` for streamlit-webrtc: ``text`` (JSON) if given, else the ``COACH_RTC_CONFIG``
    environment variable, else :data:`DEFAULT_RTC_CONFIGURATION` (localhost, no STUN/TURN server)."""
    raw = text if text not in (None, "") else os.environ.get("COACH_RTC_CONFIG", "")
    if not raw.strip():
        return dict(DEFAULT_RTC_CONFIGURATION)
    try:
        cfg = json.loads(raw)
    except json.JSONDecodeError as e:
        raise RtcConfigError(f"the WebRTC configuration is not valid JSON ({e.msg} at character {e.pos}); "
                             f'use e.g. {{"iceServers": [{{"urls": ["stun:stun.example.org:3478"]}}]}}') from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("iceServers", []), list):
        raise RtcConfigError('the WebRTC configuration must be a JSON object with an "iceServers" list, e.g. '
                             '{"iceServers": []}')
    cfg.setdefault("iceServers", [])
    return cfg


WARMUP_THREAD = "coach-pose-warmup"  # the thread that loads the pose model before the camera starts

# ----------------------------------------------------------------------------------------------------------------
# Pose models are pooled: loading one takes seconds, and closing MediaPipe from the garbage collector (in whatever
# thread drops the last reference, e.g. while it holds the import lock) can deadlock. A session borrows a model and
# a weakref finalizer puts it back; the pool's models are closed at exit (coach.pose closes live estimators).
_POOL: list = []
_POOL_LOCK = threading.Lock()
_WRITER_LOCK = threading.Lock()


def _borrow_estimator():
    with _POOL_LOCK:
        if _POOL:
            return _POOL.pop()
    from coach.pose import PoseEstimator

    return PoseEstimator()


def _return_estimator(est) -> None:
    with _POOL_LOCK:
        _POOL.append(est)


# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SetupCheck:
    """Is the camera set up for this exercise? Each item is ``(ok, text)``; ``ok`` None = not known yet."""

    person: bool = False
    visible: bool = False  # the body parts the exercise needs are in the picture
    distance: str = ""  # "ok", "far", "close", "" (unknown)
    view: str = ""  # "side", "front", "back", "oblique", "" (unknown)
    view_ok: bool | None = None
    prompt: str = "Step into view so I can see you"
    hint: str = ""  # advice that does not block (a better view)

    @property
    def ready(self) -> bool:
        return self.person and self.visible and self.distance == "ok" and self.view_ok is not False

    def items(self) -> list[tuple[bool | None, str]]:
        dist = {"ok": "Distance is good", "far": "Come closer to the camera",
                "close": "Step back: part of you is out of the picture", "": "Distance: waiting for you"}[self.distance]
        view = (f"Camera view: {self.view}" if self.view else "Camera view: waiting for you")
        return [(self.person, "Person in view" if self.person else "Nobody in view yet"),
                (self.visible if self.person else None, "Whole body needed is in view" if self.visible
                 else "Part of the body needed is out of view"),
                (None if not self.distance else self.distance == "ok", dist),
                (self.view_ok, view)]


@dataclass(frozen=True)
class LiveSnapshot:
    """What the page shows; an immutable copy made by the frame thread."""

    running: bool = False  # frames arrived in the last 2 s
    phase: str = "waiting"  # "waiting" (no camera), "setup" (before the first set), "set", "rest"
    hands_free: bool = True
    set_index: int = 1  # the set in progress, or the next one
    exercise: str | None = None
    exercise_name: str = ""
    status: str = "no_person"
    message: str = ""
    rep_count: int = 0
    partial_count: int = 0
    rep_phase: str = "rest"
    progress: float = 0.0
    cue_text: str = ""
    cue_kind: str = ""
    hold: dict | None = None
    setup: SetupCheck = field(default_factory=SetupCheck)
    set_elapsed_s: float | None = None
    rest_s: float | None = None  # since the last set ended
    rest_target_s: float = 90.0
    reps: tuple[dict, ...] = ()  # this set's reps (RepReport.to_dict())
    sets: tuple[dict, ...] = ()  # sets finished in this sitting: {"set_index", "session_id", "summary"}
    fps: float = 0.0  # frames coached per second (last 2 s)
    camera_fps: float = 0.0  # the camera's frame rate, as far as the coached frames show it
    frames: int = 0
    cue_delay_ms: float | None = None  # rep end -> cue in the outgoing frame, last rep
    error: str = ""


class _Writer(threading.Thread):
    """Single history writer: jobs run in order, off the frame thread. It ends after ``idle_s`` without work
    (the session starts a new one when needed) and holds its session only weakly, so a session that the page
    dropped can be collected."""

    def __init__(self, on_error, idle_s: float = 30.0):
        super().__init__(daemon=True, name="coach-history-writer")
        self.q: queue.Queue = queue.Queue()
        self._on_error = weakref.WeakMethod(on_error)
        self.idle_s = idle_s
        self.done = False

    def on_error(self, text: str) -> None:
        sink = self._on_error()
        if sink is not None:
            sink(text)

    def run(self) -> None:
        while True:
            try:
                job = self.q.get(timeout=self.idle_s)
            except queue.Empty:
                with _WRITER_LOCK:
                    if self.q.empty():
                        self.done = True
                        return
                continue
            if job is None:
                self.done = True
                break
            try:
                job()
            except CoachError as e:
                self.on_error(str(e))
            except Exception as e:  # a bug: keep the writer alive, tell the page
                log.exception("history write failed")
                self.on_error(f"could not save to history ({type(e).__name__}: {e})")
            finally:
                self.q.task_done()

    def submit(self, job) -> None:
        self.q.put(job)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait (up to ``timeout``) until every job submitted so far has run. For tests and shutdown."""
        done = threading.Event()
        self.q.put(done.set)
        return done.wait(timeout)


class _SetRecord:
    def __init__(self, index: int, started_utc: str, t0: float):
        self.index = index
        self.started_utc = started_utc
        self.t0 = t0
        self.session_id: int | None = None
        self.stored_reps = 0
        self.rep_dicts: list[dict] = []  # RepReport.to_dict() of the reps so far (for the page)
        self.results: list = []  # PoseResults for the landmarks file


class LiveSession:
    """One person's live training in one browser session (stored in ``st.session_state``).

    ``history``: where sets are saved (None: not saved). ``estimator``: a pose callable ``(image, t_s) ->
    PoseResult`` (default: a MediaPipe :class:`~coach.pose.PoseEstimator` made in the frame thread).
    """

    def __init__(self, exercise: str = "auto", *, history: History | None = None, profile_id: int | None = None,
                 hands_free: bool = True, rest_target_s: float = 90.0, idle_end_s: float | None = None,
                 away_end_s: float = 8.0, catalogue: dict | None = None, models=None, estimator=None,
                 clock=time.monotonic):
        from coach.exercises import load_catalogue
        from coach.models import ModelStore
        from coach.session import SET_REST_S

        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        self.models = models if models is not None else ModelStore()
        self.history = history
        self.profile_id = profile_id
        self.exercise = exercise or "auto"
        self.hands_free = hands_free
        self.rest_target_s = float(rest_target_s)
        self.idle_end_s = float(SET_REST_S if idle_end_s is None else idle_end_s)  # the sets of a recording, too
        self.away_end_s = float(away_end_s)
        self.clock = clock
        self._estimator = estimator
        self._own_estimator = estimator is None
        self._lock = threading.RLock()
        self._est_lock = threading.Lock()
        self._est_offset = 0.0
        self._est_finalizer = None
        self._warming = False
        self._events: deque = deque(maxlen=200)
        self._event_id = 0
        self._writer: _Writer | None = None
        self.workout_id = new_workout_id()
        self.phase = "setup"
        self._set: _SetRecord | None = None
        self._sets: list[dict] = []
        self._next_index = 1
        self._coach = self._new_coach()
        self._rest_since: float | None = None  # wall clock
        self._rest_announced = False
        self._t_offset: float | None = None
        self._last_raw: float | None = None
        self._last_t: float | None = None
        self._min_lag = float("inf")  # min(wall - t) over frames: the fastest path from camera to here
        self._walls: deque = deque(maxlen=90)
        self._ts: deque = deque(maxlen=90)  # stream times of the frames coached
        self._last_frame_wall: float | None = None
        self._recent_pose: deque = deque(maxlen=30)
        self._view = ""
        self._view_n = 0
        self._absent_since: float | None = None
        self._last_activity_t: float | None = None
        self._hold_seen = (0.0, None)  # (in_position_s, t when it last grew)
        self._setup_said: tuple[str, float] | None = None
        self._fb = None
        self._setup = SetupCheck()
        self._snapshot = LiveSnapshot(hands_free=hands_free, rest_target_s=self.rest_target_s)
        self._error = ""
        self.cue_delays_ms: list[float] = []
        self.frames = 0

    # -- configuration (page thread) ------------------------------------------------------------------------
    def configure(self, *, exercise: str | None = None, hands_free: bool | None = None,
                  rest_target_s: float | None = None, profile_id: int | None = None,
                  history: History | None = None) -> None:
        with self._lock:
            if hands_free is not None:
                self.hands_free = bool(hands_free)
            if rest_target_s is not None:
                self.rest_target_s = float(rest_target_s)
            if history is not None and (self.history is None or history.path != self.history.path):
                self.end_set("settings changed")
                self.history = history
            if profile_id is not None and profile_id != self.profile_id:
                self.end_set("person changed")
                self.profile_id = profile_id
            if exercise is not None and (exercise or "auto") != self.exercise:
                self.end_set("exercise changed")
                self.exercise = exercise or "auto"
                self._coach = self._new_coach()
                self._view, self._recent_pose = "", deque(maxlen=30)
            self._snapshot = replace(self._snapshot, hands_free=self.hands_free, rest_target_s=self.rest_target_s)

    def _new_coach(self):
        from coach.session import Coach

        return Coach(self.exercise, catalogue=self.catalogue, models=self.models, image_size=None)

    # -- frames (webrtc thread) -----------------------------------------------------------------------------
    def callback(self, frame):
        """streamlit-webrtc's ``video_frame_callback``: ``av.VideoFrame`` in, annotated ``av.VideoFrame`` out."""
        import av

        image = frame.to_ndarray(format="rgb24")
        raw = frame.time if frame.time is not None else self.clock()
        out = self.process(image, self._stream_time(float(raw)))
        new = av.VideoFrame.from_ndarray(out, format="rgb24")
        return new

    def on_video_ended(self) -> None:
        """The camera stream ended (Stop pressed, tab closed): end and save the set in progress."""
        self.end_set("camera stopped")

    def _stream_time(self, raw: float) -> float:
        """Seconds since this session's first frame, increasing across camera restarts."""
        if self._t_offset is None:
            self._t_offset = -raw
        elif self._last_raw is not None and (raw < self._last_raw - 0.25 or raw > self._last_raw + 30.0):
            # a new stream (clock restarted) or a long pause: continue shortly after the last frame
            self._t_offset = (self._last_t or 0.0) + 1.0 / 30 - raw
        self._last_raw = raw
        t = raw + self._t_offset
        if self._last_t is not None and t <= self._last_t:
            t = self._last_t + 1e-3
        self._last_t = t
        return t

    def _ensure_estimator(self):
        if self._estimator is None:
            with self._est_lock:
                if self._estimator is None:
                    est = _borrow_estimator()
                    # MediaPipe's VIDEO mode needs increasing timestamps per model: continue after its last use
                    last_ms = getattr(est, "_last_ms", -1)
                    self._est_offset = last_ms / 1000.0 + 1.0 if last_ms >= 0 else 0.0
                    # handed back to the pool when this session is dropped, never closed by the garbage collector
                    self._est_finalizer = weakref.finalize(self, _return_estimator, est)
                    self._estimator = est
        return self._estimator

    def warm_up(self) -> None:
        """Load the pose model in the background (a few seconds) so the first rep in front of the camera
        counts. Safe to call on every page run."""
        if self._estimator is not None or self._warming:
            return
        self._warming = True

        def load():
            try:
                self._ensure_estimator()
            except Exception as e:  # reported when the camera starts, too
                self._set_error(f"the pose model could not be loaded: {e}")
        threading.Thread(target=load, daemon=True, name=WARMUP_THREAD).start()

    def _pose(self, image: np.ndarray, t: float):
        est = self._ensure_estimator()
        if not self._est_offset:
            return est(image, t)
        from coach.types import PoseResult

        res = est(image, t + self._est_offset)
        return PoseResult(t, tuple(replace(p, t_s=t) for p in res.poses), res.image_size)

    def process(self, image: np.ndarray, t: float) -> np.ndarray:
        """One frame (RGB uint8, time in seconds, increasing): coach it and return the annotated image."""
        from coach.overlay import annotate

        wall = self.clock()
        self._min_lag = min(self._min_lag, wall - t)
        try:
            res = self._pose(image, t)
        except Exception as e:
            log.exception("pose estimation failed")
            self._set_error(f"pose estimation failed ({type(e).__name__}: {e})")
            return image
        pose = res.primary
        with self._lock:
            try:
                fb = self._coach.process(res)
                self._after_frame(fb, res, t, wall)
                lines, highlight = self._hud(fb)
            except Exception as e:  # never take the stream down: show it and keep going
                log.exception("coaching failed on a frame")
                self._set_error(f"coaching failed ({type(e).__name__}: {e})")
                lines, highlight = [("Coaching error: see the page", FAULT)], {}
                fb = None
            progress = fb.progress if fb is not None and self.phase == "set" and fb.exercise else None
        out = annotate(image, pose, lines, highlight)
        if progress is not None:
            _gauge(out, progress)
        done = self.clock()
        with self._lock:
            if fb is not None and fb.cue is not None and fb.new_reps and np.isfinite(self._min_lag):
                end_s = fb.new_reps[-1].rep.end_s
                delay = 1000.0 * (done - (end_s + self._min_lag))
                self.cue_delays_ms.append(delay)
                self._snapshot = replace(self._snapshot, cue_delay_ms=delay)
            self._walls.append(done)
            self._ts.append(t)
            self._last_frame_wall = done
            self.frames += 1
        return out

    # -- the set state machine (frame thread, under the lock) ---------------------------------------------------
    def _after_frame(self, fb, res, t: float, wall: float) -> None:
        self._fb = fb
        pose = res.primary
        if pose is not None:
            self._recent_pose.append((pose.world_xyz, pose.visibility))
            self._absent_since = None
        elif self._absent_since is None:
            self._absent_since = t
        self._setup = self._setup_check(fb, pose)
        if self._coach.switch is not None:
            self._change_exercise(t, wall)
        coach = self._coach
        if self.phase in ("setup", "rest"):
            if self.hands_free and self._activity_started(fb):
                self._start_set(t, wall, keep_coach=True)
            elif not self.hands_free and coach.reports:
                self._coach = self._new_coach()  # reps between sets are not counted without hands-free
        elif self.phase == "set":
            s = self._set
            if len(s.results) < MAX_SET_FRAMES:
                s.results.append(res)
            if fb.new_reps or (fb.hold is not None and fb.hold.in_position_s > self._hold_seen[0] + 1e-6):
                self._last_activity_t = t
            if fb.hold is not None and fb.hold.in_position_s > self._hold_seen[0]:
                self._hold_seen = (fb.hold.in_position_s, t)
            self._store_new_reps()
            if self.hands_free and self._should_auto_end(fb, t):
                self.end_set("auto")
        if self.phase == "set":
            if fb.cue is not None:
                self._emit("cue", text=fb.cue.text, kind=fb.cue.kind, t_s=fb.cue.t_s)
        else:
            self._speak_setup(t)
        if self.phase == "rest" and self._rest_since is not None and not self._rest_announced \
                and wall - self._rest_since >= self.rest_target_s:
            self._rest_announced = True
            self._emit("cue", text="Rest is over: start your next set when you're ready", kind="info", t_s=t)
        self._snapshot = self._make_snapshot(wall)

    def _change_exercise(self, t: float, wall: float) -> None:
        """The coach saw the person move on to another exercise (they chose "auto"): the set so far ends there
        and is saved, and a set of the new exercise begins with the reps already seen of it."""
        nxt = self._coach.handoff()
        if self.phase != "set" or self._set is None:
            self._coach = nxt
            return
        since = min([self._coach.switch[1]] + [r.rep.start_s for r in nxt.reports])  # where the new set begins
        moved = [r for r in self._set.results if r.t_s >= since]
        self._set.results = [r for r in self._set.results if r.t_s < since]
        self.end_set("exercise changed")
        self._coach = nxt
        self._start_set(t, wall, keep_coach=True)
        self._set.results = moved

    def _speak_setup(self, t: float) -> None:
        """Between sets, say what to fix in the camera set-up (someone training alone is away from the screen):
        each prompt at most every SETUP_SAY_S, and once when it is right. Nothing when nobody is there."""
        setup = self._setup
        last = self._setup_said
        if setup.person and setup.prompt:
            if last is None or last[0] != setup.prompt or t - last[1] >= SETUP_SAY_S:
                self._emit("cue", text=setup.prompt, kind="setup", t_s=t)
                self._setup_said = (setup.prompt, t)
        elif setup.ready and last is not None and last[0] != READY_TEXT:
            self._emit("cue", text=READY_TEXT, kind="setup", t_s=t)
            self._setup_said = (READY_TEXT, t)

    def _activity_started(self, fb) -> bool:
        if fb.hold is not None:
            return fb.hold.in_position_s >= 2.0
        return bool(self._coach.reports)

    def _should_auto_end(self, fb, t: float) -> bool:
        coach = self._coach
        if fb.hold is not None:
            grew_t = self._hold_seen[1]
            return grew_t is not None and t - grew_t > 5.0
        if not coach.reports or fb.phase != "rest":
            return False
        last = self._last_activity_t if self._last_activity_t is not None else self._set.t0
        if self._absent_since is not None and t - self._absent_since > self.away_end_s:
            return True
        return t - last > self.idle_end_s

    def start_set(self) -> None:
        """The Start set button: a fresh count from now."""
        with self._lock:
            if self.phase == "set":
                return
            self._coach = self._new_coach()
            t = self._last_t if self._last_t is not None else 0.0
            self._start_set(t, self.clock(), keep_coach=False)
            self._snapshot = self._make_snapshot(self.clock())

    def _start_set(self, t: float, wall: float, keep_coach: bool) -> None:
        self.phase = "set"
        self._rest_since = None
        self._rest_announced = False
        start_t = t
        if keep_coach and self._coach.reports:
            start_t = min(t, self._coach.reports[0].rep.start_s)
        self._set = _SetRecord(self._next_index, utc_now(), start_t)
        self._next_index += 1
        self._last_activity_t = t
        self._hold_seen = (0.0, t)
        ex = self._coach.exercise
        if self.history is not None and self.profile_id is not None:
            s, hist, pid, wid = self._set, self.history, self.profile_id, self.workout_id
            ex_id, ex_name = (ex.id, ex.name) if ex else (None, None)

            def job():
                s.session_id = hist.start_session(pid, kind="live", exercise=ex_id, exercise_name=ex_name,
                                                  started_utc=s.started_utc, source="camera", workout_id=wid,
                                                  set_index=s.index)
            self._submit(job)
        self._store_new_reps()

    def _store_new_reps(self) -> None:
        s = self._set
        if s is None:
            return
        reports = self._coach.reports
        if len(reports) <= s.stored_reps:
            return
        new = [r.to_dict() for r in reports[s.stored_reps:]]
        s.stored_reps = len(reports)
        s.rep_dicts.extend(new)
        ex = self._coach.exercise
        info = None if ex is None else {"exercise": ex.id, "exercise_name": ex.name, "kind": ex.kind,
                                        "exercise_source": "recognised" if self._coach.recognised else "given"}
        if self.history is None or self.profile_id is None:
            return
        hist = self.history

        def job():
            if s.session_id is None:
                return
            for rep in new:
                hist.add_rep(s.session_id, rep, info)
        self._submit(job)

    def end_set(self, reason: str = "button") -> dict | None:
        """End the set in progress (button, camera stopped, hands-free): flush the last rep, save, start the
        rest timer. Returns the set's summary (None when no set was running)."""
        with self._lock:
            if self.phase != "set" or self._set is None:
                return None
            coach, s = self._coach, self._set
            try:
                coach.finish()
            except Exception:  # the summary of what was done still gets saved
                log.exception("finishing the set failed")
            self._store_new_reps()
            summary = summary_from_coach(coach, "camera")
            summary["set_index"] = s.index
            summary["ended_by"] = reason
            summary["t0_s"] = s.t0
            self.phase = "rest"
            self._rest_since = self.clock()
            self._rest_announced = False
            self._set = None
            self._coach = self._new_coach()
            entry = {"set_index": s.index, "summary": summary, "session_id": None}
            self._sets.append(entry)
            empty = summary["rep_count"] == 0 and summary["partial_count"] == 0 and not (
                summary.get("hold") and (summary["hold"].get("in_position_s") or 0) >= 1.0)
            if empty:
                entry["discarded"] = True
            text = _set_done_text(summary)
            if text and reason != "camera stopped":
                self._emit("cue", text=text, kind="info", t_s=self._last_t or 0.0)
            if self.history is not None and self.profile_id is not None:
                hist = self.history
                results = list(s.results)

                def job():
                    if s.session_id is None:
                        return
                    if empty:
                        hist.delete_session(s.session_id)
                        return
                    lm = _landmarks_file(results)
                    try:
                        hist.finish_session(s.session_id, summary, landmarks=lm)
                    finally:
                        if lm is not None:
                            lm.unlink(missing_ok=True)
                    entry["session_id"] = s.session_id
                    self._emit("set_saved", session_id=s.session_id, set_index=s.index, summary=summary)
                self._submit(job)
            self._snapshot = self._make_snapshot(self.clock())
            return summary

    def close(self) -> None:
        """End the set in progress, finish the history writes, free the pose model."""
        self.end_set("camera stopped")
        if self._writer is not None:
            self.flush()
            self._writer.q.put(None)
            self._writer = None
        if self._own_estimator and self._estimator is not None:
            self._est_finalizer()  # back to the pool for the next session
            self._estimator = None

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait for the history writes submitted so far."""
        with _WRITER_LOCK:
            w = self._writer
        return w.flush(timeout) if w is not None and not w.done else True

    # -- helpers --------------------------------------------------------------------------------------------
    def _submit(self, job) -> None:
        with _WRITER_LOCK:
            if self._writer is None or self._writer.done:
                self._writer = _Writer(self._set_error)
                self._writer.start()
            self._writer.submit(job)

    def _set_error(self, text: str) -> None:
        with self._lock:
            self._error = text
            self._emit("error", text=text)
            self._snapshot = replace(self._snapshot, error=text)

    def _emit(self, etype: str, **data) -> None:
        with self._lock:
            self._event_id += 1
            self._events.append({**data, "id": self._event_id, "type": etype})

    def drain_events(self) -> list[dict]:
        """Events since the last call, oldest first: ``{"type": "cue", "text", "kind"}``, ``{"type":
        "set_saved", "session_id", "summary"}``, ``{"type": "error", "text"}``."""
        with self._lock:
            out = list(self._events)
            self._events.clear()
        return out

    def clear_error(self) -> None:
        with self._lock:
            self._error = ""
            self._snapshot = replace(self._snapshot, error="")

    def _setup_check(self, fb, pose) -> SetupCheck:
        ex = self._coach.exercise or (self.catalogue.get(self.exercise) if self.exercise != "auto" else None)
        if pose is None:
            return SetupCheck(prompt=fb.message or "Step into view so I can see you")
        visible = fb.visible
        xy, vis = pose.image_xy, pose.visibility
        seen = (vis >= 0.5) & np.isfinite(xy).all(axis=1) & (xy > -0.02).all(axis=1) & (xy < 1.02).all(axis=1)
        distance = ""
        if seen.sum() >= 6:
            span = np.ptp(xy[seen], axis=0)
            extent = float(max(span[0], span[1]))
            distance = "close" if not visible else ("far" if extent < FAR_EXTENT else "ok")
        elif not visible:
            distance = "close"
        self._view_n += 1
        if self._view_n % 5 == 1 and len(self._recent_pose) >= 5:
            from coach.diagnosis import camera_view
            from coach.measures import Frames

            w = np.stack([p[0] for p in self._recent_pose]).astype(np.float64)
            v = np.stack([p[1] for p in self._recent_pose]).astype(np.float64)
            self._view = camera_view(Frames(w, v))
        view, view_ok, hint = self._view, None, ""
        if view and ex is not None and ex.views:
            view_ok = view in ex.views
            if view_ok and ex.preferred_view and view != ex.preferred_view:
                hint = f"A {ex.preferred_view} view is best for {ex.name.lower()}: some checks need it"
        elif view:
            view_ok = True
        if not visible:
            prompt = fb.message or "Step back so I can see all of you"
        elif distance == "far":
            prompt = "Come closer: you look small to the camera"
        elif view_ok is False:
            prompt = ex.setup_cue or f"Turn {ex.preferred_view}-on to the camera"
        else:
            prompt = ""
        return SetupCheck(True, visible, distance, view, view_ok, prompt, hint)

    def _hud(self, fb) -> tuple[list, dict]:
        from coach.analyze import hud_lines

        setup = self._setup
        if self.phase == "set":
            lines = hud_lines(fb)
            if lines and fb.exercise:
                lines[0] = f"Set {self._set.index}: {lines[0]}" if isinstance(lines[0], str) else lines[0]
            elif not fb.exercise and fb.status == "recognising":
                lines = [f"Set {self._set.index}: start moving, I'll recognise the exercise"]
            if setup.prompt and fb.status not in ("no_person", "not_visible") and not fb.display_cue:
                lines.append((setup.prompt, SETUP))
            hl = {j: HIGHLIGHT for j in fb.highlight}
            return lines, hl
        name = fb.exercise_name or (self.catalogue[self.exercise].name if self.exercise in self.catalogue
                                    else "Any exercise (recognised)")
        lines: list = [name]
        if self.phase == "rest" and self._rest_since is not None:
            rest = self.clock() - self._rest_since
            lines.append((f"Rest {_mmss(rest)} / {_mmss(self.rest_target_s)}",
                          GOOD if rest >= self.rest_target_s else INFO))
        if setup.prompt:
            lines.append((setup.prompt, SETUP))
        elif self.hands_free:
            lines.append(("Ready: start your set", GOOD))
        else:
            lines.append(("Ready: press Start set", GOOD))
        if fb.display_cue is not None and fb.display_cue.kind == "info":
            lines.append((fb.display_cue.text, INFO))
        return lines, {}

    def _make_snapshot(self, wall: float) -> LiveSnapshot:
        fb = self._fb
        walls = [w for w in self._walls if w >= wall - 2.0]
        fps = (len(walls) - 1) / (walls[-1] - walls[0]) if len(walls) >= 2 and walls[-1] > walls[0] else 0.0
        cue = fb.display_cue if fb is not None else None
        in_set = self.phase == "set"
        dts = np.diff(np.asarray(self._ts)) if len(self._ts) >= 10 else np.array([])
        dts = dts[dts > 1e-3]
        camera_fps = float(1.0 / np.percentile(dts, 10)) if dts.size else 0.0  # back-to-back frames: the camera's rate
        return LiveSnapshot(
            running=self._last_frame_wall is not None and wall - self._last_frame_wall < 2.0,
            phase=self.phase if self._last_frame_wall is not None or in_set else "waiting",
            hands_free=self.hands_free,
            set_index=self._set.index if in_set else self._next_index,
            exercise=fb.exercise if fb else None, exercise_name=fb.exercise_name if fb else "",
            status=fb.status if fb else "no_person", message=fb.message if fb else "",
            rep_count=fb.rep_count if fb and in_set else 0, partial_count=fb.partial_count if fb and in_set else 0,
            rep_phase=fb.phase if fb else "rest", progress=fb.progress if fb and in_set else 0.0,
            cue_text=cue.text if cue else "", cue_kind=cue.kind if cue else "",
            hold=fb.hold.to_dict() if fb is not None and fb.hold is not None and in_set else None,
            setup=self._setup,
            set_elapsed_s=(self._last_t - self._set.t0) if in_set and self._last_t is not None else None,
            rest_s=(wall - self._rest_since) if self._rest_since is not None else None,
            rest_target_s=self.rest_target_s,
            reps=tuple(self._set.rep_dicts) if in_set else (),
            sets=tuple(dict(s) for s in self._sets),
            fps=fps, camera_fps=camera_fps, frames=self.frames, cue_delay_ms=self._snapshot.cue_delay_ms, error=self._error)

    def snapshot(self) -> LiveSnapshot:
        """The latest state, with the clocks (rest timer, camera running) brought up to now."""
        with self._lock:
            snap = self._snapshot
            now = self.clock()
            running = self._last_frame_wall is not None and now - self._last_frame_wall < 2.0
            rest = (now - self._rest_since) if self._rest_since is not None else None
            sets = tuple(dict(s) for s in self._sets)
            return replace(snap, running=running, rest_s=rest, sets=sets, error=self._error,
                           hands_free=self.hands_free, rest_target_s=self.rest_target_s,
                           phase=snap.phase if running or self.phase == "set" else
                           ("rest" if self.phase == "rest" else "waiting"))


def _gauge(img: np.ndarray, progress: float) -> None:
    """A vertical rep-progress bar at the right edge."""
    h, w = img.shape[:2]
    bw = max(8, w // 40)
    x1, x0 = w - bw // 2, w - bw // 2 - bw
    y0, y1 = int(h * 0.15), int(h * 0.85)
    cv2.rectangle(img, (x0, y0), (x1, y1), (255, 255, 255), 1, cv2.LINE_AA)
    fill = int(round((y1 - y0) * float(np.clip(progress, 0.0, 1.0))))
    if fill > 0:
        cv2.rectangle(img, (x0 + 2, y1 - fill), (x1 - 2, y1 - 2), GOOD, -1)


def _mmss(s: float) -> str:
    s = max(0, int(s))
    return f"{s // 60}:{s % 60:02d}"


def _set_done_text(summary: dict) -> str:
    hold = summary.get("hold")
    if hold and hold.get("in_position_s"):
        return f"Set done: {hold['in_position_s']:.0f} seconds held"
    n = summary.get("rep_count") or 0
    if not n:
        return ""
    good = summary.get("good_reps") or 0
    return f"Set done: {n} rep{'s' if n != 1 else ''}, {good} good"


def _landmarks_file(results: list) -> Path | None:
    """The set's landmarks as a temporary .npz (the history copies it), or None."""
    if len(results) < 2:
        return None
    from coach.io import save_npz
    from coach.types import PoseSequence

    t = np.array([r.t_s for r in results])
    fps = (len(t) - 1) / (t[-1] - t[0]) if t[-1] > t[0] else 30.0
    size = next((r.image_size for r in results if r.image_size), None)
    seq = PoseSequence.from_results(results, float(fps), source="camera", image_size=size)
    from coach.workdirs import work_file

    tmp = work_file("coach-set-", ".npz")
    try:
        save_npz(seq, tmp)
    except Exception:
        Path(tmp).unlink(missing_ok=True)
        log.exception("could not write the set's landmarks")
        return None
    return Path(tmp)
