"""The Live page's engine without a browser: frames in, annotated frames out, the setup check, sets that start
and end by themselves (hands-free) or by the buttons, the rest timer, cues to speak, history written by a
writer thread that the frame thread never waits for."""
from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pytest

from coach.app_live import DEFAULT_RTC_CONFIGURATION, LiveSession, RtcConfigError, rtc_configuration
from coach.history import History

from .conftest import BLACK, FakeClock, ReplayEstimator, drive


# -- WebRTC configuration -------------------------------------------------------------------------------------------
def test_rtc_default_is_local_only(monkeypatch):
    monkeypatch.delenv("COACH_RTC_CONFIG", raising=False)
    assert rtc_configuration() == {"iceServers": []} == DEFAULT_RTC_CONFIGURATION
    assert rtc_configuration("") == {"iceServers": []}


def test_rtc_from_env_and_setting(monkeypatch):
    monkeypatch.setenv("COACH_RTC_CONFIG", '{"iceServers": [{"urls": ["stun:stun.example.org:3478"]}]}')
    assert rtc_configuration()["iceServers"][0]["urls"] == ["stun:stun.example.org:3478"]
    assert rtc_configuration('{"iceTransportPolicy": "all"}') == {"iceTransportPolicy": "all", "iceServers": []}


@pytest.mark.parametrize("text, match", [("{oops", "not valid JSON"), ("[1, 2]", "JSON object"),
                                         ('{"iceServers": "stun:x"}', "iceServers")])
def test_rtc_errors_say_what_to_do(text, match):
    with pytest.raises(RtcConfigError, match=match) as e:
        rtc_configuration(text)
    assert "\n" not in str(e.value) and "e.g." in str(e.value)


# -- frames ---------------------------------------------------------------------------------------------------------
def test_nobody_in_view_prompts_and_never_starts_a_set():
    clock = FakeClock()
    s = LiveSession("squat", estimator=ReplayEstimator(nobody=True), clock=clock)
    for k in range(60):
        clock.t += 1 / 30
        out = s.process(BLACK, k / 30)
        assert out.shape == BLACK.shape and out.dtype == np.uint8
    snap = s.snapshot()
    assert snap.phase == "setup" and snap.running
    assert not snap.setup.person and not snap.setup.ready
    assert snap.setup.prompt == "Step into view so I can see you"
    assert [e for e in s.drain_events() if e["type"] == "cue"] == []  # nobody there: nothing is said
    assert out.any()  # the prompt is drawn on the (black) frame


def test_callback_takes_and_returns_webrtc_frames():
    import av

    s = LiveSession("squat", estimator=ReplayEstimator(nobody=True))
    frame = av.VideoFrame.from_ndarray(np.full((480, 640, 3), 90, np.uint8), format="rgb24")
    frame.pts, frame.time_base = 3000, __import__("fractions").Fraction(1, 90000)
    out = s.callback(frame)
    assert isinstance(out, av.VideoFrame) and (out.width, out.height) == (640, 480)
    assert s.frames == 1


def test_stream_time_continues_across_camera_restarts():
    s = LiveSession("squat", estimator=ReplayEstimator(nobody=True))
    ts = [s._stream_time(x) for x in (5000.0, 5000.033, 5000.066)]  # RTP clocks start anywhere
    assert ts[0] == 0.0 and ts[1] == pytest.approx(0.033)
    again = [s._stream_time(x) for x in (0.0, 0.033)]  # the camera was stopped and started again
    assert again[0] > ts[-1] and again[1] > again[0]


def test_a_failing_pose_model_does_not_stop_the_stream():
    class Broken:
        def __call__(self, image, t):
            raise RuntimeError("GPU on fire")

    s = LiveSession("squat", estimator=Broken())
    out = s.process(BLACK, 0.0)
    assert out is BLACK
    assert "pose estimation failed" in s.snapshot().error
    assert any(e["type"] == "error" for e in s.drain_events())


# -- a real set -----------------------------------------------------------------------------------------------------
@pytest.mark.integration
def test_hands_free_set_counts_speaks_and_saves(tmp_path, jacks):
    h = History(tmp_path / "h.sqlite")
    me = h.ensure_profile()
    clock = FakeClock()
    s = LiveSession("jumping-jack", history=h, profile_id=me.id, estimator=ReplayEstimator(jacks), clock=clock)
    t = drive(s, jacks, clock, still_s=1.0)  # the clip, then standing still a moment
    snap = s.snapshot()
    assert snap.phase == "set" and snap.set_index == 1
    assert snap.rep_count == 3 and len(snap.reps) == 3
    assert snap.setup.view == "front" and snap.setup.view_ok and snap.setup.distance == "ok"
    assert snap.cue_text  # the latest cue stays on screen
    events = s.drain_events()
    cues = [e["text"] for e in events if e["type"] == "cue"]
    assert cues.count("Nice rhythm!") == 3, cues  # one spoken cue per rep
    assert s.drain_events() == []  # drained
    assert all(d >= 0 for d in s.cue_delays_ms) and len(s.cue_delays_ms) == 3
    summary = s.end_set("button")
    assert summary["rep_count"] == 3 and summary["set_index"] == 1
    assert s.flush()
    snap = s.snapshot()
    assert snap.phase == "rest" and snap.rest_s == 0.0
    assert snap.sets[0]["session_id"] is not None
    saved = h.session(snap.sets[0]["session_id"])
    assert saved["status"] == "complete" and saved["kind"] == "live" and saved["rep_count"] == 3
    assert saved["exercise"] == "jumping-jack" and saved["set_index"] == 1 and saved["landmarks_path"]
    assert all(r["metrics"]["eccentric_s"] > 0 for r in saved["reps"])
    texts = [e["text"] for e in s.drain_events() if e["type"] == "cue"]
    assert "Set done: 3 reps, 3 good" in texts
    # rest timer, and the cue when the rest is over
    s.configure(rest_target_s=30)
    clock.t += 31
    s.process(BLACK, t + 31)
    assert s.snapshot().rest_s == pytest.approx(31, abs=0.5)
    assert "Rest is over: start your next set when you're ready" in [e["text"] for e in s.drain_events()]


@pytest.mark.integration
def test_hands_free_set_ends_when_the_person_walks_away(tmp_path, jacks):
    h = History(tmp_path / "h.sqlite")
    clock = FakeClock()
    est = ReplayEstimator(jacks)
    s = LiveSession("jumping-jack", history=h, profile_id=h.ensure_profile().id, estimator=est, clock=clock,
                    away_end_s=3.0)
    t_end = drive(s, jacks, clock, still_s=1.0)
    assert s.snapshot().phase == "set"
    est.nobody = True
    for k in range(1, 150):  # nobody in view for 5 s
        clock.t += 1 / 30
        s.process(BLACK, t_end + k / 30)
    assert s.phase == "rest"
    s.flush()
    sessions = h.sessions()
    assert len(sessions) == 1 and sessions[0]["rep_count"] == 3 and sessions[0]["status"] == "complete"


@pytest.mark.integration
def test_without_hands_free_only_the_button_starts_a_set(jacks):
    clock = FakeClock()
    s = LiveSession("jumping-jack", hands_free=False, estimator=ReplayEstimator(jacks), clock=clock)
    half = len(jacks) // 3
    drive(s, jacks, clock, stop=half)
    assert s.snapshot().phase == "setup" and s.snapshot().rep_count == 0
    s.start_set()
    drive(s, jacks, clock, start=half, still_s=1.0)
    snap = s.snapshot()
    assert snap.phase == "set" and 1 <= snap.rep_count <= 3
    assert s.end_set()["rep_count"] == snap.rep_count
    assert s.end_set() is None  # nothing running


@pytest.mark.integration
def test_the_setup_check_asks_for_the_view_the_exercise_needs(situps):
    # sit-ups are filmed side-on; jumping jacks need the camera in front
    s = LiveSession("jumping-jack", estimator=ReplayEstimator(situps), clock=FakeClock())
    drive(s, situps, stop=90)
    setup = s.snapshot().setup
    assert setup.person and setup.view == "side" and setup.view_ok is False
    assert setup.prompt == "Face the camera, whole body in view" and not setup.ready
    spoken = [e["text"] for e in s.drain_events() if e["type"] == "cue"]
    assert spoken.count("Face the camera, whole body in view") == 1  # said once, not on every frame
    s2 = LiveSession("sit-up", estimator=ReplayEstimator(situps), clock=FakeClock())
    drive(s2, situps, stop=90)
    assert s2.snapshot().setup.view_ok is True


@pytest.mark.integration
def test_history_writes_never_hold_up_frames(tmp_path, jacks):
    """The database is locked by someone else: frames keep flowing; the set is saved once it is free."""
    h = History(tmp_path / "h.sqlite")
    me = h.ensure_profile()
    clock = FakeClock()
    s = LiveSession("jumping-jack", history=h, profile_id=me.id, estimator=ReplayEstimator(jacks), clock=clock)
    blocker = sqlite3.connect(h.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    done = threading.Event()

    def run():
        drive(s, jacks, clock, still_s=1.0)
        s.end_set()
        done.set()
    th = threading.Thread(target=run)
    th.start()
    assert done.wait(120), "frames were held up by the locked history file"
    assert s.snapshot().sets[0]["session_id"] is None  # not saved yet: the writer waits, the frames did not
    blocker.execute("ROLLBACK")
    blocker.close()
    assert s.flush(30)
    assert h.sessions()[0]["rep_count"] == 3
    th.join()


@pytest.mark.integration
def test_changing_exercise_ends_the_set(tmp_path, jacks):
    h = History(tmp_path / "h.sqlite")
    clock = FakeClock()
    s = LiveSession("jumping-jack", history=h, profile_id=h.ensure_profile().id, estimator=ReplayEstimator(jacks),
                    clock=clock)
    drive(s, jacks, clock, still_s=1.0)
    s.configure(exercise="squat")
    assert s.phase == "rest" and s.exercise == "squat"
    s.flush()
    assert h.sessions()[0]["rep_count"] == 3


def test_a_dropped_session_hands_its_pose_model_back(monkeypatch, tmp_path):
    """Browser sessions come and go: the pose model goes back to the pool (MediaPipe is never closed from the
    garbage collector, which can deadlock), and the history writer does not keep the session alive."""
    import gc

    from coach import app_live

    gc.collect()  # sessions dropped by earlier tests hand their models back to the real pool, not to this one
    fake = ReplayEstimator(nobody=True)
    monkeypatch.setattr(app_live, "_borrow_estimator", lambda: fake)
    monkeypatch.setattr(app_live, "_POOL", [])
    h = History(tmp_path / "h.sqlite")
    s = LiveSession("squat", history=h, profile_id=h.ensure_profile().id)
    s.process(BLACK, 0.0)
    s._submit(lambda: None)  # a history writer thread exists
    assert s.flush()
    del s
    gc.collect()
    assert app_live._POOL == [fake] and not fake.closed


@pytest.mark.integration
def test_moving_on_to_another_exercise_starts_its_set(tmp_path, jacks, situps):
    """Jumping jacks, 3 s out of view, then sit-ups, with "auto": the jacks' set ends there and is saved, and a
    sit-up set begins with the reps already seen of it; every sit-up is counted (10, as the clip alone), none as a
    jack; the landmarks of each set are its own."""
    from coach.io import load_npz

    seq = jacks.then(situps, 3.0)
    change_t = jacks.duration_s + 3.0
    h = History(tmp_path / "h.sqlite")
    clock = FakeClock()
    s = LiveSession("auto", history=h, profile_id=h.ensure_profile().id, estimator=ReplayEstimator(seq), clock=clock)
    drive(s, seq, clock, still_s=1.0)
    snap = s.snapshot()
    assert snap.phase == "set" and snap.set_index == 2 and snap.exercise == "sit-up" and snap.rep_count == 10
    cues = [e["text"] for e in s.drain_events() if e["type"] == "cue"]
    done = cues.index("Set done: 3 reps, 3 good")
    assert cues[done + 1] == "Looks like sit-up / crunch now", cues
    first = snap.sets[0]["summary"]
    assert first["exercise"] == "jumping-jack" and first["ended_by"] == "exercise changed"
    assert first["rep_count"] == 3 and first["partial_count"] == 0, first["reps"]
    s.end_set("button")
    assert s.flush()
    saved = sorted(h.sessions(), key=lambda x: x["set_index"])
    assert [(x["exercise"], x["rep_count"], x["set_index"]) for x in saved] == [("jumping-jack", 3, 1), ("sit-up", 10, 2)]
    one, two = (load_npz(h.session(x["id"])["landmarks_path"]) for x in saved)
    assert one.t_s[-1] < two.t_s[0] <= change_t + 1.5  # no frame in both; set 2's hold the sit-ups from the start
    assert all(r["start_s"] >= change_t - 0.1 for r in h.session(saved[1]["id"])["reps"])
