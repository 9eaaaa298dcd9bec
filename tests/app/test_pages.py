"""Every page under Streamlit's AppTest: widgets, empty states, and the errors a user can cause shown as one
line (never a traceback). The camera component is replaced (it needs a browser: see test_e2e_browser.py)."""
from __future__ import annotations

import sys
import tempfile
import types
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coach.errors import CoachError
from coach.history import History

from .conftest import FakeClock, ReplayEstimator, drive, write_garbage_video

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def page(name: str) -> AppTest:
    return AppTest.from_string(f"from coach.app_pages import {name}\n{name}()", default_timeout=TIMEOUT)


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def table(at: AppTest, column: str):
    """The (first) dataframe on the page that has ``column``."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column; tables: {[list(d.value.columns) for d in at.dataframe]}")


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


# -- the app and the sidebar ----------------------------------------------------------------------------------------
def test_app_opens_on_live_with_navigation_and_a_default_person(app_env):
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.run()
    no_exception(at)
    assert texts(at, "title") == ["Live coaching"]
    person = at.sidebar.selectbox(key="profile")
    assert person.options == ["Me"] and person.value == "Me"
    assert app_env.db.is_file()  # history created on first run
    cam = app_env.camera.calls[-1]
    assert cam["rtc_configuration"] == {"iceServers": []}  # local default, no outside server
    assert cam["media_stream_constraints"]["audio"] is False
    assert cam["async_processing"] is True  # newest frame only: no latency build-up


def test_add_a_person_and_the_errors(app_env):
    at = page("history_page")
    at.run()
    at.sidebar.text_input(key="new_profile_name").set_value("Alex")
    at.sidebar.button(key="add_profile").click().run()
    no_exception(at)
    assert at.sidebar.selectbox(key="profile").value == "Alex"
    assert set(at.sidebar.selectbox(key="profile").options) == {"Me", "Alex"}
    at.sidebar.text_input(key="new_profile_name").set_value("alex")
    at.sidebar.button(key="add_profile").click().run()
    assert any("already exists" in e for e in texts(at, "error"))
    at.sidebar.text_input(key="new_profile_name").set_value("   ")
    at.sidebar.button(key="add_profile").click().run()
    assert any("type a name" in e for e in texts(at, "error"))
    no_exception(at)


def test_an_unusable_history_file_is_one_error_line(app_env, monkeypatch):
    app_env.db.parent.mkdir(parents=True, exist_ok=True)
    app_env.db.mkdir()  # a folder where the file should be
    at = page("history_page")
    at.run()
    no_exception(at)
    errors = texts(at, "error")
    assert any("is a folder" in e for e in errors)
    assert all("\n" not in e and "Traceback" not in e for e in errors)


def test_history_file_setting(app_env, tmp_path):
    at = page("history_page")
    at.run()
    blocker = tmp_path / "plainfile"
    blocker.write_text("x")
    at.sidebar.text_input(key="db_path_input").set_value(str(blocker / "h.sqlite")).run()
    no_exception(at)
    assert any("cannot create" in e for e in texts(at, "error"))
    good = tmp_path / "other" / "mine.sqlite"
    at.sidebar.text_input(key="db_path_input").set_value(str(good)).run()
    no_exception(at)
    assert good.is_file() and not [e for e in texts(at, "error")]


# -- Live ------------------------------------------------------------------------------------------------------------
def test_live_before_the_camera_starts(app_env):
    at = page("live_page")
    at.run()
    no_exception(at)
    ex = at.selectbox(key="live_exercise")
    assert ex.value == "auto" and len(ex.options) >= 11  # auto + the ten bundled exercises
    assert at.toggle(key="speak_cues").value is False  # speech only after the user's click
    assert at.toggle(key="hands_free").value is True
    assert "Get ready" in texts(at, "subheader")
    assert not at.get("iframe")  # no speech until the user switches it on
    assert at.button(key="start_set").disabled
    ex.set_value("push-up").run()
    assert any("floor height, side-on" in c for c in texts(at, "caption"))
    no_exception(at)


def test_live_bad_rtc_configuration_is_reported(app_env, monkeypatch):
    monkeypatch.setenv("COACH_RTC_CONFIG", "{not json")
    at = page("live_page")
    at.run()
    no_exception(at)
    assert any("not valid JSON" in e for e in texts(at, "error"))
    assert app_env.camera.calls[-1]["rtc_configuration"] == {"iceServers": []}  # falls back to local


def test_live_camera_on_nobody_in_view(app_env):
    from coach.app_live import LiveSession

    app_env.camera.playing = True
    clock = FakeClock()
    s = LiveSession("squat", estimator=ReplayEstimator(nobody=True), clock=clock)
    for k in range(30):
        s.process(__import__("numpy").zeros((480, 640, 3), "uint8"), k / 30)
    at = page("live_page")
    at.session_state["live_session"] = s
    at.session_state["live_exercise"] = "squat"
    at.run()
    no_exception(at)
    assert "Camera setup" in texts(at, "subheader")
    md = " ".join(texts(at, "markdown"))
    assert "Nobody in view yet" in md
    assert "Step into view so I can see you" in texts(at, "warning")
    assert not at.button(key="start_set").disabled


@pytest.mark.integration
def test_live_panel_during_and_after_a_set(app_env, jacks):
    from coach.app_live import LiveSession

    app_env.camera.playing = True
    h = History(app_env.db)
    me = h.ensure_profile()
    clock = FakeClock()
    s = LiveSession("jumping-jack", history=h, profile_id=me.id, estimator=ReplayEstimator(jacks), clock=clock)
    drive(s, jacks, clock, still_s=1.0)
    at = page("live_page")
    at.session_state["live_session"] = s
    at.session_state["live_exercise"] = "jumping-jack"
    at.session_state["speak_cues"] = True
    at.run()
    no_exception(at)
    assert "Set 1: Jumping jack" in texts(at, "subheader")
    reps = next(m for m in at.metric if m.label == "Reps")
    assert reps.value == "3"
    assert "Nice rhythm!" in texts(at, "success")
    assert len(at.dataframe[0].value) == 3
    speech = [e.proto.srcdoc for e in at.get("iframe")]
    assert len(speech) == 1 and "speechSynthesis.speak" in speech[0] and "Spoken cues on" in speech[0]
    at.button(key="end_set").click().run()
    no_exception(at)
    s.flush()
    at.run()
    assert any(t.startswith("Rest") for t in texts(at, "subheader"))
    sets = table(at, "Saved")
    assert list(sets["Saved"]) == ["yes"] and list(sets["Reps"]) == [3]
    assert h.sessions(me)[0]["rep_count"] == 3


# -- Review ----------------------------------------------------------------------------------------------------------
def test_review_without_a_video_says_what_to_do(app_env):
    at = page("review_page")
    at.run()
    no_exception(at)
    assert not at.radio  # no shared data here: upload only, no demo clips
    assert at.file_uploader(key="review_upload").allowed_type
    at.button(key="review_run").click().run()
    no_exception(at)
    assert texts(at, "error") == ["Choose a video file first (MP4, MOV, AVI, WebM...), then press Analyse."]


def test_review_of_a_broken_video_is_one_error_line(app_env, tmp_path):
    data = write_garbage_video(tmp_path / "client.mp4").read_bytes()
    at = page("review_page")
    at.run()
    at.file_uploader(key="review_upload").set_value(("client.mp4", data, "video/mp4"))
    at.button(key="review_run").click().run()
    no_exception(at)
    errors = texts(at, "error")
    assert len(errors) == 1 and "client.mp4" in errors[0] and "\n" not in errors[0]
    assert "coach-upload-" not in errors[0]  # the temporary copy's path is not shown
    assert History(app_env.db).sessions() == []


def test_review_takes_a_whole_sessions_video_and_says_when_one_is_too_big(app_env, tmp_path, monkeypatch):
    # the app's settings (.streamlit/config.toml, read from the folder the app runs in) take a phone's video of a
    # whole session: Streamlit's own default is 200 MB, about a minute and a half of 1080p
    at = page("review_page")
    at.run()
    assert "up to 1000 MB" in at.file_uploader(key="review_upload").help
    # over the limit (made small here): one line saying what to do, nothing analysed, nothing saved
    import coach.app_pages

    monkeypatch.setattr(coach.app_pages, "upload_limit_mb", lambda: 1)
    at = page("review_page")
    at.run()
    at.file_uploader(key="review_upload").set_value(("session.mp4", b"\0" * 1_500_000, "video/mp4"))
    at.button(key="review_run").click().run()
    no_exception(at)
    assert texts(at, "error") == ["That video is larger than 1 MB: trim it to the sets you want reviewed."]
    assert History(app_env.db).sessions() == []


def test_an_upload_is_saved_in_chunks_from_where_it_is_read():
    import io

    from coach.app_review import save_upload

    data = bytes(range(256)) * 20_000  # 5 MB: several chunks
    up = io.BytesIO(data)
    up.read(1000)  # read before (Streamlit's widget may have been): saved whole all the same
    with tempfile.TemporaryDirectory() as d:
        path = save_upload("Client video (1).MOV", up, Path(d))
        assert path.name == "Client_video__1_.mov" and path.read_bytes() == data
        assert save_upload("x.mp4", data, Path(d)).read_bytes() == data  # bytes as before


@pytest.mark.integration
def test_review_of_a_demo_clip(app_env, data_dir, monkeypatch):
    monkeypatch.setenv("COACH_DATA", str(data_dir))
    at = page("review_page")
    at.run()
    at.radio(key="review_source").set_value("Demo clip").run()
    demo = at.selectbox(key="review_demo")
    label = next(o for o in demo.options if o.startswith("Jumping jacks"))
    demo.set_value(label)
    at.checkbox(key="review_keep").check()
    at.button(key="review_run").click()
    at.run(timeout=300)
    no_exception(at)
    assert not texts(at, "error")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reps"] == "3" and metrics["Good reps"] == "3"
    reps = table(at, "Cue")
    assert list(reps["Rep"]) == [1, 2, 3] and set(reps["Cue"]) == {"Nice rhythm!"}
    assert any(c.startswith("Range (") for c in reps.columns)
    assert len(at.image) == 2  # the signal plot and the deviation plot
    assert len(at.get("video")) == 1
    assert [round(c.weight, 2) for c in at.columns if c.get("video")] == [0.6]  # landscape: the wide column
    labels = [b.label for b in at.download_button]
    assert {"Annotated video (MP4)", "Reps (CSV)", "Summary (JSON)", "OpenSim markers (.trc)",
            "OpenSim joint angles (.mot)"} <= set(labels)
    s = History(app_env.db).sessions()
    assert len(s) == 1 and s[0]["kind"] == "review" and s[0]["rep_count"] == 3
    assert s[0]["video_path"] and Path(s[0]["video_path"]).is_file()  # kept, as ticked
    assert s[0]["source"] == "jumpingjack_correct_007.mp4"


def test_a_phone_video_filmed_upright_gets_a_narrower_column():
    from coach.app_review import video_columns

    assert video_columns({"video": {"width": 720, "height": 1280}}) == [1, 2]
    assert video_columns({"video": {"width": 1280, "height": 720}}) == [3, 2]
    assert video_columns({"video": {"width": 720, "height": 720}}) == [3, 2]
    assert video_columns({}) == [3, 2]  # an older summary without the size


def test_a_review_of_two_sets_shows_each_set():
    from coach.analyze import build_summary
    from coach.app_review import rep_rows, set_notes, summary_figures
    from coach.session import replay
    from coach.video import VideoInfo
    from synth import two_squat_sets

    def summary(rest_s):
        seq, _ = two_squat_sets(rest_s)
        info = VideoInfo("session.mp4", seq.fps, len(seq), *seq.image_size)
        return build_summary(seq, replay("squat", seq), info, Path("pose.task"), 1, [])

    s = summary(30.0)
    figs = dict(summary_figures(s))
    assert figs["Reps"] == "7" and figs["Sets"] == "2" and "Velocity loss (most in a set)" in figs
    notes = set_notes(s)
    assert notes[0].startswith("Set 1: 3 reps, 3 good") and notes[1].startswith("Set 2 (after 30 s rest): 4 reps")
    assert [r["Set"] for r in rep_rows(s)] == [1, 1, 1, 2, 2, 2, 2]

    s = summary(10.0)  # one set: the page as before
    assert "Sets" not in dict(summary_figures(s)) and "Velocity loss" in dict(summary_figures(s))
    assert not any(n.startswith("Set ") for n in set_notes(s)) and "Set" not in rep_rows(s)[0]


def test_a_reviews_working_folder_goes_with_the_review(tmp_path):
    import gc

    from coach.app_review import Review

    def folder(name):
        d = tmp_path / name
        (d / "out").mkdir(parents=True)
        (d / "out" / "annotated.mp4").write_bytes(b"video")
        return d

    replaced, dropped = folder("replaced"), folder("dropped")
    r = Review("a.mp4", None, replaced)
    r.cleanup()  # the page analysed another video
    assert not replaced.exists()
    r.cleanup()  # twice is harmless
    r = Review("b.mp4", None, dropped)
    del r  # Streamlit dropped the browser session that held it
    gc.collect()
    assert not dropped.exists()


# -- History ---------------------------------------------------------------------------------------------------------
def _rep(i, faults=()):
    return {"index": i, "start_s": i, "turn_s": i + 0.5, "end_s": i + 1, "partial": False, "partial_reason": None,
            "quality": 100 - 40 * len(faults), "faults": list(faults),
            "fault_details": [{"code": f, "name": f.replace("_", " "), "severity": 2, "source": "measure",
                               "evidence": f"{f}: 12 cm (keep within 8)"} for f in faults],
            "cue": "Squat deeper" if faults else "Good rep!", "view": "side",
            "metrics": {"duration_s": 1.0, "eccentric_s": 0.5, "concentric_s": 0.5, "rom": 90.0}}


def test_history_empty_state(app_env):
    at = page("history_page")
    at.run()
    no_exception(at)
    assert any("No sessions yet for Me" in i for i in texts(at, "info"))
    assert {b.label for b in at.download_button} == {"All of it (JSON)", "Sessions (CSV)", "Reps (CSV)"}


def test_history_lists_charts_details_and_deletes(app_env):
    h = History(app_env.db)
    me, other = h.ensure_profile(), h.add_profile("Client B")
    summ = {"exercise": "squat", "exercise_name": "Squat", "kind": "reps", "rep_count": 2, "good_reps": 1,
            "set": {"mean_quality": 80, "most_frequent_fault": "shallow", "fault_counts": {"shallow": 1}},
            "reps": [_rep(1), _rep(2, ["shallow"])]}
    live = h.add_session(me, summ, kind="live", set_index=1)
    h.add_session(me, {**summ, "exercise": "lunge", "exercise_name": "Lunge"}, source="lunge.mp4")
    h.add_session(other, summ, source="theirs.mp4")
    at = page("history_page")
    at.run()
    no_exception(at)
    metrics = [(m.label, m.value) for m in at.metric]
    assert metrics[:2] == [("Sessions", "2"), ("Reps", "4")]  # Client B's session is not Me's
    assert len(at.tabs) == 3
    sessions = table(at, "Type")
    assert sorted(sessions["Type"]) == ["Live set 1", "Video review"]
    at.selectbox(key="history_exercise").set_value("squat").run()
    assert len(table(at, "Type")) == 1
    details = table(at, "Evidence")
    assert list(details["Faults"]) == ["good", "shallow"]
    assert "shallow: 12 cm (keep within 8)" in list(details["Evidence"])
    report = [b for b in at.download_button if b.label == "Report to print or send (HTML)"]
    assert len(report) == 1 and "only when the annotated video was kept" in report[0].help
    assert at.button(key=f"delete_{live}").disabled  # not without the confirmation tick
    at.checkbox(key=f"confirm_delete_{live}").check().run()
    at.button(key=f"delete_{live}").click().run()
    no_exception(at)
    assert h.session(live) is None
    assert [s["exercise"] for s in h.sessions(me)] == ["lunge"]


# -- Teach -----------------------------------------------------------------------------------------------------------
def test_teach_needs_a_name_and_videos(app_env):
    at = page("teach_page")
    at.run()
    no_exception(at)
    at.button(key="teach_run").click().run()
    assert texts(at, "error") == ["Type a name for the exercise first."]
    at.text_input(key="teach_name").set_value("Goblet squat")
    at.button(key="teach_run").click().run()
    assert texts(at, "error") == ["Upload at least one video of good reps (two or more teach it better)."]
    assert any("None yet" in c for c in texts(at, "caption"))
    no_exception(at)


def _teach_with(at: AppTest, tmp_path) -> None:
    at.run()
    at.text_input(key="teach_name").set_value("Goblet squat")
    data = write_garbage_video(tmp_path / "good1.mp4").read_bytes()
    at.file_uploader(key="teach_files").set_value([("good1.mp4", data, "video/mp4"), ("good2.mp4", data, "video/mp4")])
    at.button(key="teach_run").click().run()  # a form: the choices go with the press


def test_teach_when_the_teaching_module_is_missing(app_env, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "coach.teach", None)  # import fails
    at = page("teach_page")
    _teach_with(at, tmp_path)
    no_exception(at)
    assert any("Teaching is not available" in e for e in texts(at, "error"))


def test_teach_errors_and_success(app_env, tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("coach.teach")

    def failing(name, videos, base=None, progress=None):
        calls.append((name, [Path(v).name for v in videos], base))
        raise CoachError(f"no reps found in {videos[0]}: film whole reps and try again")
    fake.teach_exercise = failing
    monkeypatch.setitem(sys.modules, "coach.teach", fake)
    at = page("teach_page")
    _teach_with(at, tmp_path)
    no_exception(at)
    assert calls and calls[0][0] == "Goblet squat" and calls[0][2] is None
    errors = texts(at, "error")
    assert errors == ["no reps found in good1.mp4: film whole reps and try again"]  # the user's file name

    from coach.exercises import parse_exercise

    ex = parse_exercise({"id": "goblet-squat", "name": "Goblet squat", "kind": "reps", "views": ["side"],
                         "signal": {"measure": "knee_flexion", "turning_point": "max", "full_range": 60}})

    def ok(name, videos, base=None, progress=None):
        progress(0.5, "training the simulator")
        return types.SimpleNamespace(exercise=ex, reps_found=12, report="12 reps in 2 videos")
    fake.teach_exercise = ok
    at.button(key="teach_run").click().run()
    no_exception(at)
    assert any("Learned **Goblet squat** from 12 reps" in s for s in texts(at, "success"))


@pytest.mark.integration
def test_teach_a_new_exercise_then_coach_it(app_env, data_dir, monkeypatch):
    """Two clips of good jumping jacks taught as a new exercise: it joins the catalogue (Live and Review lists)
    and a video is coached with it. The simulator trains for fewer steps than the page's default, to keep the
    test short; everything else is the real pipeline."""
    import functools

    import coach.teach

    monkeypatch.setattr(coach.teach, "teach_exercise", functools.partial(coach.teach.teach_exercise, steps=150))
    clips = [data_dir / "more_exercises/kaiakol__computervision" / n
             for n in ("jumpingjack_correct_007.mp4", "jumpingjack_correct_006.mp4")]
    at = page("teach_page")
    at.run()
    at.text_input(key="teach_name").set_value("Star jump")
    at.file_uploader(key="teach_files").set_value([(p.name, p.read_bytes(), "video/mp4") for p in clips])
    at.button(key="teach_run").click()
    at.run(timeout=600)
    no_exception(at)
    assert not texts(at, "error")
    assert any("Learned **Star jump**" in s for s in texts(at, "success"))
    assert list(table(at, "Exercise")["Id"]) == ["star-jump"]
    assert (app_env.home / "exercises" / "star-jump.toml").is_file()
    live = page("live_page")
    live.run()
    assert "Star jump" in live.selectbox(key="live_exercise").options  # (options show the names)
    monkeypatch.setenv("COACH_DATA", str(data_dir))
    review = page("review_page")
    review.run()
    review.radio(key="review_source").set_value("Demo clip").run()
    demo = review.selectbox(key="review_demo")
    demo.set_value(next(o for o in demo.options if o.startswith("Jumping jacks")))
    review.selectbox(key="review_exercise").set_value("star-jump")
    review.button(key="review_run").click()
    review.run(timeout=300)
    no_exception(review)
    assert not texts(review, "error")
    assert any("Star jump" in h for h in texts(review, "subheader"))
    reps = next(m.value for m in review.metric if m.label == "Reps")
    assert int(reps.split()[0]) >= 2, reps  # counted with the taught exercise


@pytest.mark.integration
def test_a_video_that_moves_on_to_another_exercise_is_reviewed_one_exercise_after_another(app_env, data_dir, tmp_path):
    """Jumping jacks then sit-ups in one upload: one Analyse counts both, each a part of its own to look at, and
    both are in the history as one workout."""
    from .conftest import two_exercise_video

    video = two_exercise_video(data_dir, tmp_path / "workout.mp4")
    at = page("review_page")
    at.run()
    at.file_uploader(key="review_upload").set_value(("workout.mp4", video.read_bytes(), "video/mp4"))
    at.button(key="review_run").click()
    at.run(timeout=300)
    no_exception(at)
    assert not texts(at, "error")
    part = at.radio(key="review_part")
    assert [o.split(",")[0] for o in part.options] == ["1. Jumping jack: 3 reps (3 good)",
                                                                       "2. Sit-up / crunch: 3 reps (3 good)"]
    assert "Jumping jack (recognised)" in at.subheader[0].value
    assert {m.label: m.value for m in at.metric}["Reps"] == "3"
    assert not [w for w in texts(at, "warning") if "sit-up" in w]  # counted, not a warning any more
    part.set_value(1).run()
    no_exception(at)
    assert "Sit-up / crunch (recognised)" in at.subheader[0].value
    assert {m.label: m.value for m in at.metric}["Reps"].split()[0] == "3"
    assert 9 <= at.get("video")[0].proto.start_time <= 12  # its video starts with the sit-ups
    assert "one per exercise" in " ".join(texts(at, "caption"))
    s = sorted(History(app_env.db).sessions(), key=lambda x: x["id"])
    assert [(x["exercise"], x["rep_count"], x["source"], x["set_index"]) for x in s] == [
        ("jumping-jack", 3, "workout.mp4", 1), ("sit-up", 3, "workout.mp4", 2)]
    assert s[0]["workout_id"] and s[0]["workout_id"] == s[1]["workout_id"]
    hist = page("history_page")
    hist.run()
    no_exception(hist)
    assert sorted(zip(table(hist, "Type")["Type"], table(hist, "Type")["Exercise"])) == [
        ("Video review, part 1", "Jumping jack"), ("Video review, part 2", "Sit-up / crunch")]
