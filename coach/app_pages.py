"""The Streamlit pages: Live, Review, History, Teach, and the sidebar (person, settings).

Each page is a function that takes an :class:`AppContext` (or makes one, rendering the sidebar) so that
``streamlit_app.py`` can put them under ``st.navigation`` and tests can run one page alone with AppTest.
Every error a user can cause shows as one ``st.error`` line saying what to do.
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from coach.errors import CoachError
from coach.history import History, Profile, default_db_path
from coach.paths import user_data_dir
from coach.workdirs import work_dir

log = logging.getLogger(__name__)

APP_TITLE = "Coach"
POLL_S = 0.5  # how often the live panel refreshes while the camera runs
PRIVACY = ("Video stays on this computer: it is analysed here and never uploaded anywhere. The history keeps "
           "landmarks and results only, unless you choose to keep an annotated video.")


# ----------------------------------------------------------------------------------------------------------------
# settings and context
def settings_path() -> Path:
    return user_data_dir() / "app_settings.json"


def load_settings() -> dict:
    try:
        return json.loads(settings_path().read_text())
    except (OSError, ValueError):
        return {}


def save_settings(values: dict) -> None:
    p = settings_path()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        data = load_settings()
        data.update(values)
        p.write_text(json.dumps(data, indent=1))
    except OSError as e:
        st.sidebar.error(f"Could not save the settings to {p} ({e.strerror or e}); they apply to this session only.")


@dataclass
class AppContext:
    history: History | None
    profile: Profile | None
    catalogue: dict
    db_path: Path
    db_error: str = ""
    rtc: dict = field(default_factory=dict)
    rtc_error: str = ""


def _db_path_setting() -> Path:
    if "db_path" in st.session_state and st.session_state["db_path"]:
        return Path(st.session_state["db_path"]).expanduser()
    if os.environ.get("COACH_DB"):
        return default_db_path()
    stored = load_settings().get("db_path")
    return Path(stored).expanduser() if stored else default_db_path()


def _open_history(path: Path) -> History:
    key = "_history"
    h = st.session_state.get(key)
    if h is None or h.path != path:
        h = History(path)
        st.session_state[key] = h
    return h


def context(render_sidebar: bool = True) -> AppContext:
    """The history, the person and the catalogue for this run, with the sidebar that chooses them."""
    from coach.app_live import rtc_configuration
    from coach.exercises import load_catalogue

    try:
        catalogue = load_catalogue()
    except CoachError as e:
        st.error(f"The exercise catalogue cannot be read: {e}")
        catalogue = {}
    db_path = _db_path_setting()
    history, db_error = None, ""
    try:
        history = _open_history(db_path)
    except CoachError as e:
        db_error = str(e)
    rtc_text = st.session_state.get("rtc_config_text")
    if rtc_text is None:
        rtc_text = load_settings().get("rtc_config", "")
    rtc, rtc_error = {"iceServers": []}, ""
    try:
        rtc = rtc_configuration(rtc_text)
    except CoachError as e:
        rtc_error = str(e)
    ctx = AppContext(history, None, catalogue, db_path, db_error, rtc, rtc_error)
    if render_sidebar:
        _sidebar(ctx)
    elif history is not None:
        ctx.profile = _current_profile(history)
    return ctx


def _current_profile(history: History) -> Profile:
    profiles = history.profiles()
    if not profiles:
        return history.ensure_profile()
    name = st.session_state.get("profile") or history.get_setting("last_profile")
    for p in profiles:
        if p.name == name:
            return p
    return profiles[0]


def _sidebar(ctx: AppContext) -> None:
    sb = st.sidebar
    if ctx.history is None:
        sb.error(f"History unavailable: {ctx.db_error}")
    else:
        try:
            current = _current_profile(ctx.history)  # creates the first profile on a new database
            profiles = ctx.history.profiles()
            names = [p.name for p in profiles]
            if st.session_state.get("profile") not in names:
                st.session_state["profile"] = current.name
            name = sb.selectbox("Person", names, key="profile",
                                help="Each person's sessions are kept apart. Add one for each person who trains "
                                     "here (or each client you review).")
            ctx.profile = next(p for p in profiles if p.name == name)
            if ctx.history.get_setting("last_profile") != name:
                ctx.history.set_setting("last_profile", name)
            with sb.popover("Add a person", width="stretch"):
                st.text_input("Name", key="new_profile_name", placeholder="e.g. Alex")
                st.button("Add", key="add_profile", on_click=_add_profile, args=(ctx.history,))
            if st.session_state.get("profile_error"):
                sb.error(st.session_state.pop("profile_error"))
        except CoachError as e:
            sb.error(str(e))
    with sb.expander("Settings"):
        env_note = " (from COACH_DB)" if os.environ.get("COACH_DB") and "db_path" not in st.session_state else ""
        st.text_input("History file" + env_note, value=str(ctx.db_path), key="db_path_input",
                      help="The SQLite file that keeps every set and reviewed video. Created on first use.",
                      on_change=_apply_db_path)
        st.text_area("WebRTC configuration (JSON)", value=st.session_state.get("rtc_config_text") or
                     load_settings().get("rtc_config", ""), key="rtc_config_input", height=90,
                     placeholder='{"iceServers": []}',
                     help="Empty: works on this computer and your local network with no outside server. To use the "
                          "camera across networks add STUN/TURN servers, e.g. "
                          '{"iceServers": [{"urls": ["stun:stun.example.org:3478"]}]}. COACH_RTC_CONFIG sets it too.',
                     on_change=_apply_rtc)
        if ctx.rtc_error:
            st.error(ctx.rtc_error)
    sb.caption(PRIVACY)


def _add_profile(history: History) -> None:
    """The Add button (a callback: it runs before the widgets, so it may select the new person)."""
    try:
        p = history.add_profile(st.session_state.get("new_profile_name") or "")
    except CoachError as e:
        st.session_state["profile_error"] = str(e)
        return
    st.session_state["profile"] = p.name
    st.session_state["new_profile_name"] = ""


def _apply_db_path() -> None:
    value = (st.session_state.get("db_path_input") or "").strip()
    st.session_state["db_path"] = value
    if value:
        try:
            History(Path(value).expanduser())
        except CoachError:
            return  # shown by context() on this run
        save_settings({"db_path": value})


def _apply_rtc() -> None:
    from coach.app_live import rtc_configuration

    value = st.session_state.get("rtc_config_input") or ""
    st.session_state["rtc_config_text"] = value
    try:
        rtc_configuration(value)
    except CoachError:
        return
    save_settings({"rtc_config": value})


def _exercise_options(catalogue: dict) -> list[str]:
    return ["auto", *sorted(catalogue, key=lambda k: catalogue[k].name.lower())]


def _exercise_label(catalogue: dict):
    def fmt(ex_id: str) -> str:
        if ex_id == "auto":
            return "Recognise it for me"
        ex = catalogue.get(ex_id)
        return ex.name if ex else ex_id
    return fmt


def _local_time(utc: str | None) -> str:
    if not utc:
        return ""
    try:
        return _dt.datetime.fromisoformat(utc).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return utc


# ----------------------------------------------------------------------------------------------------------------
# Live
def _live_session(ctx: AppContext):
    from coach.app_live import LiveSession

    s = st.session_state.get("live_session")
    if s is None:
        s = LiveSession(catalogue=ctx.catalogue, history=ctx.history,
                        profile_id=ctx.profile.id if ctx.profile else None)
        st.session_state["live_session"] = s
    return s


def live_page(ctx: AppContext | None = None) -> None:
    from coach.app_live import MEDIA_CONSTRAINTS

    ctx = ctx or context()
    st.title("Live coaching")
    cat = ctx.catalogue
    if not cat:
        st.error("No exercises are available: the catalogue could not be read (see the message above).")
        return
    c1, c2, c3, c4 = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
    exercise = c1.selectbox("Exercise", _exercise_options(cat), format_func=_exercise_label(cat), key="live_exercise")
    speak = c2.toggle("Speak cues", key="speak_cues",
                      help="Your browser reads each correction aloud (its own voice, nothing leaves the computer).")
    hands_free = c3.toggle("Hands-free sets", value=True, key="hands_free",
                           help="The set starts with your first rep and ends after 20 s without a rep or when you "
                                "step away; no need to walk to the keyboard.")
    rest = c4.number_input("Rest (s)", min_value=15, max_value=900, value=90, step=15, key="rest_target",
                           help="The rest timer between sets tells you when this is up.")
    ex = cat.get(exercise)
    if ex is not None:
        st.caption(f"**Camera:** {ex.setup_cue or 'whole body in view'}."
                   + (f" {ex.description}" if ex.description else ""))
    else:
        st.caption("**Camera:** whole body in view. Start your set: the exercise is recognised from your first reps.")
    if ctx.rtc_error:
        st.error(ctx.rtc_error + " (using the local default for now)")

    if ctx.history is None:
        st.warning(f"Sets will not be saved: the history cannot be opened ({ctx.db_error}). Choose another history "
                   f"file under Settings in the sidebar.")
    session = _live_session(ctx)
    session.configure(exercise=exercise, hands_free=hands_free, rest_target_s=float(rest),
                      history=ctx.history, profile_id=ctx.profile.id if ctx.profile else None)
    session.warm_up()
    left, right = st.columns([3, 2])
    with left:
        playing = _webrtc(session, ctx.rtc, MEDIA_CONSTRAINTS)
    if not playing and session.phase == "set":
        session.end_set("camera stopped")
    with right:
        fragment = st.fragment(_live_panel, run_every=POLL_S if playing else None)
        fragment(session, speak, playing)


#: The camera component; tests replace it (streamlit-webrtc needs a real Streamlit server).
webrtc_streamer = None


def _webrtc(session, rtc: dict, constraints: dict) -> bool:
    streamer = webrtc_streamer
    try:
        from streamlit_webrtc import WebRtcMode

        if streamer is None:
            from streamlit_webrtc import webrtc_streamer as streamer
    except ImportError:
        st.error("Live coaching needs streamlit-webrtc: install the app's dependencies (./run.sh setup).")
        return False
    try:
        webrtc_ctx = streamer(
            key="coach-live", mode=WebRtcMode.SENDRECV, rtc_configuration=rtc,
            media_stream_constraints=constraints, video_frame_callback=session.callback,
            on_video_ended=session.on_video_ended, async_processing=True,
            translations={"start": "Start camera", "stop": "Stop camera", "select_device": "Camera"},
            video_html_attrs={"autoPlay": True, "controls": False, "muted": True, "style": {"width": "100%"}},
        )
    except Exception as e:  # the component needs a running Streamlit server and a browser
        log.exception("camera component failed")
        st.error(f"The camera component could not start ({type(e).__name__}: {e}); reload the page.")
        return False
    state = getattr(webrtc_ctx, "state", None)
    return bool(state is not None and state.playing)


_ICON = {True: ":green[:material/check_circle:]", False: ":orange[:material/warning:]",
         None: ":gray[:material/hourglass_empty:]"}
_CUE_BOX = {"fault": st.error, "good": st.success, "setup": st.warning, "info": st.info}


def _live_panel(session, speak: bool, playing: bool) -> None:
    from coach.app_live import _mmss

    snap = session.snapshot()
    events = session.drain_events()
    cues = [e for e in events if e["type"] == "cue"]
    for e in events:
        if e["type"] == "set_saved":
            st.toast(f"Set {e['set_index']} saved to history", icon=":material/save:")
    if snap.error:
        st.error(snap.error)
    if cues:
        st.session_state["live_last_cue"] = {"id": f"{session.workout_id}-{cues[-1]['id']}", "text": cues[-1]["text"]}
    _speech(speak, session.workout_id)

    if snap.phase == "set":
        head = f"Set {snap.set_index}" + (f": {snap.exercise_name}" if snap.exercise_name else "")
        st.subheader(head)
        m1, m2, m3 = st.columns(3)
        if snap.hold is not None:
            m1.metric("Held", f"{snap.hold['in_position_s']:.0f} s")
            m2.metric("Good form", f"{snap.hold['good_form_s']:.0f} s")
        else:
            m1.metric("Reps", snap.rep_count)
            good = sum(1 for r in snap.reps if not r["partial"] and not r["faults"])
            m2.metric("Good reps", good)
        m3.metric("Time", _mmss(snap.set_elapsed_s or 0))
        if snap.hold is None:
            st.progress(float(snap.progress), text="Rep progress")
        if snap.cue_text:
            _CUE_BOX.get(snap.cue_kind, st.info)(snap.cue_text)
        elif snap.status in ("no_person", "not_visible") and snap.message:
            st.warning(snap.message)
        elif snap.status == "recognising":
            st.info("Start your set: I'll recognise the exercise from your first reps")
        else:
            st.caption("Cues appear here after each rep.")
        st.button("End set", type="primary", key="end_set", width="stretch", on_click=session.end_set,
                  args=("button",))
        if snap.reps:
            _rep_table(snap.reps)
    else:
        if snap.phase == "rest" and snap.rest_s is not None:
            done = snap.rest_s >= snap.rest_target_s
            st.subheader("Rest" + (": time for the next set" if done else ""))
            st.metric("Rest", f"{_mmss(snap.rest_s)} / {_mmss(snap.rest_target_s)}", label_visibility="collapsed")
            st.progress(min(1.0, snap.rest_s / max(snap.rest_target_s, 1.0)))
        elif not playing:
            st.subheader("Get ready")
            st.markdown(
                "1. Choose the exercise (or let me recognise it).\n"
                "2. Turn on **Speak cues** to hear corrections.\n"
                "3. Press **Start camera** and allow the camera.\n"
                "4. Stand where I can see the body parts the exercise needs, then start: "
                + ("the set starts with your first rep." if snap.hands_free else "press **Start set** first."))
        else:
            st.subheader("Camera setup")
        if playing or snap.running:
            setup = snap.setup
            st.markdown("\n".join(f"- {_ICON[ok]} {text}" for ok, text in setup.items()))
            if setup.ready:
                st.success("Ready: " + ("start your set, it begins with your first rep"
                                        if snap.hands_free else "press Start set, then go"))
            elif setup.prompt:
                st.warning(setup.prompt)
            if setup.hint:
                st.caption(setup.hint)
        st.button("Start set", type="primary", key="start_set", width="stretch", disabled=not playing,
                  help="Counting starts now (hands-free starts it with your first rep anyway).",
                  on_click=session.start_set)
    if snap.sets:
        st.markdown("**Sets this session**")
        rows = []
        holds = any((s["summary"].get("hold") or {}) for s in snap.sets)
        for s in reversed(snap.sets):
            sm = s["summary"]
            hold = sm.get("hold") or {}
            row = {"Set": s["set_index"],
                   "Saved": "no reps" if s.get("discarded") else ("yes" if s.get("session_id") else "saving"),
                   "Reps": sm.get("rep_count", 0), "Good": sm.get("good_reps", 0)}
            if holds:
                row["Held (s)"] = round(hold["in_position_s"]) if hold else None
            row["Exercise"] = sm.get("exercise_name") or ""
            row["Top fault"] = _fault_name(session.catalogue, sm.get("exercise"),
                                           (sm.get("set") or {}).get("most_frequent_fault"))
            rows.append(row)
        st.dataframe(rows, hide_index=True, width="stretch", key="live_sets")
    if snap.running:
        delay = f" · last cue {snap.cue_delay_ms:.0f} ms after the rep ended" if snap.cue_delay_ms is not None else ""
        cam = f" (camera: {snap.camera_fps:.0f})" if snap.camera_fps >= snap.fps + 3 else ""
        st.caption(f"Coaching at {snap.fps:.0f} frames per second{cam}{delay}")


def _drop_empty(rows: list[dict], col: str) -> list[dict]:
    """Rows without ``col`` when no row has a value in it (an all-blank Evidence column wastes the width)."""
    if any(r.get(col) for r in rows):
        return rows
    return [{k: v for k, v in r.items() if k != col} for r in rows]


def _quality_column():
    return st.column_config.ProgressColumn("Quality", min_value=0, max_value=100, format="%d", color="auto",
                                           help="0-100: 100 is a clean rep; each fault takes points off")


def _rep_table(reps) -> None:
    rows = []
    for r in reversed(reps[-8:]):
        rows.append({"Rep": r["index"], "Quality": None if r["partial"] else r["quality"],
                     "Faults": "partial" if r["partial"] else (", ".join(d["name"] for d in r["fault_details"])
                                                               or "good"),
                     "Cue": r["cue"]})
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={"Quality": _quality_column()})


def _speech(enabled: bool, session_key: str) -> None:
    """Speak the latest cue with the browser's speech synthesis (in the page, which the user's click on the
    toggle has activated). Each cue has an id and is spoken once, however often this is re-rendered."""
    if not enabled:
        st.session_state["_speech_on"] = False
        return
    if not st.session_state.get("_speech_on"):  # just switched on: say so (confirms the sound works)
        st.session_state["_speech_on"] = True
        n = st.session_state["_speech_switches"] = st.session_state.get("_speech_switches", 0) + 1
        st.session_state["live_last_cue"] = {"id": f"{session_key}-on-{n}", "text": "Spoken cues on"}
    cue = st.session_state["live_last_cue"]
    html = """<script>
(function () {
  var cue = %s;
  var w = window;
  try { if (window.parent && window.parent.speechSynthesis) { w = window.parent; } } catch (e) { w = window; }
  var done = w.__coachSpoken = w.__coachSpoken || {};
  if (done[cue.id]) { return; }
  done[cue.id] = true;
  (w.__coachSpokenLog = w.__coachSpokenLog || []).push(cue.text);
  if (!w.speechSynthesis) { return; }
  try {
    w.speechSynthesis.cancel();
    var u = new w.SpeechSynthesisUtterance(cue.text);
    u.rate = 1.05;
    w.speechSynthesis.speak(u);
  } catch (e) { console.warn("speech failed", e); }
})();
</script>""" % json.dumps(cue)
    st.iframe(html, height=1)


# ----------------------------------------------------------------------------------------------------------------
# Review
def review_page(ctx: AppContext | None = None) -> None:
    from coach.app_review import UPLOAD_TYPES, demo_clips

    ctx = ctx or context()
    st.title("Review a recorded video")
    st.caption("Upload a client's video (or your own) for a rep-by-rep report: an annotated video, each rep's "
               "quality, faults with their evidence and the cue, plots, and files for OpenSim. " + PRIVACY)
    cat = ctx.catalogue
    demos = demo_clips()
    options = ["Upload a video", "Demo clip"] if demos else ["Upload a video"]
    source = st.radio("Video", options, horizontal=True, key="review_source") if demos else options[0]
    upload, demo = None, None
    # A form: the choices reach the server with the press of Analyse, in one run, and its button is disabled
    # while a file is still uploading. With a plain button, a press during the upload (the file shows as soon as
    # it starts) ran without the file: "choose a video file first" flashed, went with the rerun the finished
    # upload brought, and nothing happened. A phone video over a home connection uploads for a minute.
    with st.form("review_form", border=False, enter_to_submit=False):
        if source == "Upload a video":
            upload = st.file_uploader("Video file", type=UPLOAD_TYPES, key="review_upload",
                                      help=f"MP4, MOV, AVI, WebM... up to {upload_limit_mb()} MB. Film the whole "
                                           "body, side-on for most exercises.")
        else:
            demo = st.selectbox("Demo clip", list(demos), key="review_demo")
        c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
        exercise = c1.selectbox("Exercise", _exercise_options(cat), format_func=_exercise_label(cat),
                                key="review_exercise")
        keep = c2.checkbox("Keep the annotated video in the history", key="review_keep",
                           help="Off: only landmarks and results are saved. On: a copy of the annotated video is "
                                "kept too.")
        who = (f" The results are saved to the history of **{ctx.profile.name}** (choose the person in the "
               f"sidebar)." if ctx.profile else
               " The results will not be saved: the history cannot be opened (see the sidebar).")
        st.caption("Analysis runs on this computer and takes about as long as the video." + who)
        run = st.form_submit_button("Analyse", type="primary", key="review_run")
    if run:
        _run_review(ctx, upload, demo and demos[demo], exercise, keep)
    review = st.session_state.get("review")
    if review is not None:
        _show_review(review, cat)


def upload_limit_mb() -> int:
    """The largest upload the server takes (``server.maxUploadSize`` in .streamlit/config.toml), in MB."""
    return int(st.get_option("server.maxUploadSize"))


def _run_review(ctx: AppContext, upload, demo_path: Path | None, exercise: str, keep: bool) -> None:
    from coach.app_review import analyse, save_review, save_upload

    if upload is None and demo_path is None:
        st.error("Choose a video file first (MP4, MOV, AVI, WebM...), then press Analyse.")
        return
    tmp = None
    try:
        if upload is not None:
            limit = upload_limit_mb()
            if upload.size > limit * 1024 * 1024:
                st.error(f"That video is larger than {limit} MB: trim it to the sets you want reviewed.")
                return
            if not upload.size:
                st.error("That file is empty: choose the video again.")
                return
            tmp = work_dir("coach-upload-")
            video, name = save_upload(upload.name, upload, tmp), upload.name  # copied in chunks, not held twice
        else:
            video, name = demo_path, demo_path.name
        bar = st.progress(0.0, text=f"Analysing {name}...")

        def progress(frac: float, text: str) -> None:
            bar.progress(min(max(float(frac), 0.0), 1.0), text=f"Analysing {name}: {text}")

        try:
            review = analyse(video, name, exercise, progress, person=ctx.profile.name if ctx.profile else None)
        except CoachError as e:
            bar.empty()
            st.error(str(e).replace(str(video), name))
            return
        except Exception as e:  # a bug, not the user's doing: one line, details in the log
            log.exception("analysis failed")
            bar.empty()
            st.error(f"The analysis failed ({type(e).__name__}: {e}); try another video or report this.")
            return
        bar.empty()
        old = st.session_state.get("review")
        if old is not None:
            old.cleanup()
        if ctx.history is not None and ctx.profile is not None:
            try:
                review.session_ids = save_review(ctx.history, ctx.profile, review.result, name, keep)
                review.kept_video = keep
            except CoachError as e:
                st.warning(f"Not saved to the history: {e}")
        st.session_state["review"] = review
        st.session_state.pop("review_part", None)  # a new video opens on its first exercise
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _show_review(review, catalogue: dict) -> None:
    from coach.analyze import SHARED_FILES, part_line
    from coach.app_review import (DOWNLOADS, hold_notes, part_span, rep_rows, review_plots, set_notes,
                                  summary_figures, video_columns)

    parts = review.result.all_parts()
    st.divider()
    k = 0
    if len(parts) > 1:  # a workout: one exercise after another, each counted as its own part
        k = st.radio(f"This video holds {len(parts)} exercises, one after another", range(len(parts)),
                     format_func=lambda i: part_line(parts[0].summary["parts"][i]), key="review_part")
        k = k if k is not None and k < len(parts) else 0
    res = parts[k]
    s = res.summary
    ex = s.get("exercise_name") or "exercise not recognised"
    how = " (recognised)" if s.get("exercise_source") == "recognised" else ""
    view = f", {s['view']} view" if s.get("view") else ""
    st.subheader(f"{review.name}: {ex}{how}{view}")
    if review.session_ids:
        which = (f"session {review.session_ids[0]}" if len(review.session_ids) == 1 else
                 "sessions " + ", ".join(map(str, review.session_ids)) + ", one per exercise")
        st.caption(f"Saved to the history ({which})"
                   + (" with the annotated video." if review.kept_video else ", without the video."))
    figs = [f for f in summary_figures(s) if f[0] != "Exercise"]
    cols = st.columns(max(len(figs), 4))
    for col, (label, value) in zip(cols, figs):
        col.metric(label, value)
    for w in s.get("warnings") or []:
        st.warning(w)
    if s.get("exercise") is None:
        st.warning("No rep of a known exercise was recognised: choose the exercise above and press Analyse again.")
    video = res.files.get("annotated_video")
    left, right = st.columns(video_columns(s))
    with left:
        if video is not None and video.is_file():
            span = part_span(s)  # one exercise of several: its video starts where it does
            st.video(video.read_bytes(), format="video/mp4", start_time=int(span[0]) if span else 0)
    with right:
        notes = set_notes(s) + hold_notes(s)
        if notes:
            st.markdown("\n".join(f"- {n}" for n in notes))
    rows = rep_rows(s, catalogue)
    st.markdown("**Rep by rep**")
    if rows:
        st.dataframe(_drop_empty(rows, "Evidence"), hide_index=True, width="stretch", key="review_reps",
                     column_config={"Quality": _quality_column(),
                                    "Evidence": st.column_config.TextColumn("Evidence", width="large"),
                                    "Cue": st.column_config.TextColumn("Cue", width="large")})
    elif s.get("kind") != "hold":
        st.info("No reps were found in this video.")
    if res.plots is None:  # a result made before plots were kept on it
        res.plots = review_plots(res, catalogue)
    plots = res.plots
    for title, png, note in plots:
        st.markdown(f"**{title}**")
        if note:
            st.caption(note)
        if png is not None:
            st.image(png, width="stretch")
    st.markdown("**Downloads**")
    stem = Path(review.name).stem
    avail = [(key, label, mime) for key, label, mime in DOWNLOADS if key in res.files and res.files[key].is_file()]
    cols = st.columns(4)
    for i, (key, label, mime) in enumerate(avail):
        path = res.files[key]
        # read when clicked, not on every rerun of the page (the video alone can be tens of MB)
        part = f"_part{s['part']}" if s.get("part") and key not in SHARED_FILES else ""
        cols[i % 4].download_button(label, data=path.read_bytes, file_name=f"{stem}{part}_{path.name}", mime=mime,
                                    key=f"dl_{key}", on_click="ignore", width="stretch")


# ----------------------------------------------------------------------------------------------------------------
# History
def history_page(ctx: AppContext | None = None) -> None:
    import pandas as pd

    ctx = ctx or context()
    st.title("History")
    h = ctx.history
    if h is None:
        st.error(f"The history cannot be opened: {ctx.db_error}")
        return
    if ctx.profile is None:
        st.info("Add a person in the sidebar to start a history.")
        return
    sessions = h.sessions(ctx.profile)
    st.caption(f"Sets and reviewed videos of **{ctx.profile.name}**, kept on this computer in {h.path}.")
    if not sessions:
        st.info(f"No sessions yet for {ctx.profile.name}. Every set on the Live page and every video on the Review "
                f"page is saved here, with charts of reps, quality and faults over time.")
        _export(h, ctx.profile)
        return
    exercises = sorted({s["exercise"] for s in sessions if s["exercise"]})
    names = {s["exercise"]: s["exercise_name"] or s["exercise"] for s in sessions if s["exercise"]}
    pick = st.selectbox("Exercise", ["all", *exercises], key="history_exercise",
                        format_func=lambda e: "All exercises" if e == "all" else names.get(e, e))
    if pick != "all":
        sessions = [s for s in sessions if s["exercise"] == pick]
    df = pd.DataFrame([{
        "When": _dt.datetime.fromisoformat(s["started_utc"]).astimezone().replace(tzinfo=None),
        "Exercise": s["exercise_name"] or "not recognised", "Reps": s["rep_count"], "Good reps": s["good_reps"],
        "Quality": s["mean_quality"], "id": s["id"]} for s in sessions])
    week = df[df["When"] >= _dt.datetime.now() - _dt.timedelta(days=7)]
    m = st.columns(4)
    m[0].metric("Sessions", len(df))
    m[1].metric("Reps", int(df["Reps"].sum()))
    m[2].metric("Reps this week", int(week["Reps"].sum()))
    q = df["Quality"].dropna()
    m[3].metric("Mean quality", f"{q.mean():.0f}" if len(q) else "–")
    t1, t2, t3 = st.tabs(["Reps", "Quality", "Faults"])
    with t1:
        st.altair_chart(_bar_chart(df, "Reps", "Exercise", "Reps per day"), width="stretch")
    with t2:
        qd = df.dropna(subset=["Quality"])
        if len(qd):
            st.altair_chart(_quality_chart(qd), width="stretch")
        else:
            st.caption("No rep has a quality score yet.")
    with t3:
        fc = [f for f in h.fault_counts(ctx.profile) if pick == "all" or f["exercise"] == pick]
        if fc:
            fdf = pd.DataFrame([{"When": _dt.datetime.fromisoformat(f["started_utc"]).astimezone().replace(tzinfo=None),
                                 "Fault": f["name"] or f["code"], "Reps": f["count"]} for f in fc])
            st.altair_chart(_bar_chart(fdf, "Reps", "Fault", "Reps with each fault, per day"),
                            width="stretch")
        else:
            st.caption("No faults recorded: every rep was clean.")
    st.markdown("**Sessions**")
    unfinished = any(s["status"] == "in_progress" for s in sessions)
    table = []
    for s in sessions:
        row = {"When": _local_time(s["started_utc"]),
               "Type": _session_kind(s),
               "Exercise": s["exercise_name"] or "not recognised",
               "Reps": s["rep_count"], "Good": s["good_reps"],
               "Quality": None if s["mean_quality"] is None else round(s["mean_quality"]),
               "Top fault": _fault_name(ctx.catalogue, s["exercise"], s["most_frequent_fault"]),
               "Source": s["source"]}
        if unfinished:
            row["Status"] = "unfinished" if s["status"] == "in_progress" else ""
        table.append(row)
    st.dataframe(table, hide_index=True, width="stretch", key="history_table")
    labels = {s["id"]: f"{_local_time(s['started_utc'])} · {r['Type']} · {r['Exercise']} · {s['rep_count']} reps"
              for s, r in zip(sessions, table)}
    sid = st.selectbox("Session details", list(labels), format_func=labels.get, key="history_session")
    if sid is not None:
        _session_details(h, sid, ctx.catalogue)
    _export(h, ctx.profile)


def _session_kind(s: dict) -> str:
    """"Live set 2", "Video review", or "Video review, part 2" (one exercise of a video of several)."""
    if s["kind"] == "live":
        return f"Live set {s['set_index'] or ''}".strip()
    return "Video review" + (f", part {s['set_index']}" if s["set_index"] else "")


def _fault_name(catalogue: dict, ex_id: str | None, code: str | None) -> str:
    if not code:
        return ""
    ex = catalogue.get(ex_id or "")
    try:
        return ex.fault(code).name if ex is not None else code.replace("_", " ")
    except KeyError:
        return code.replace("_", " ")


def _bar_chart(df, y: str, color: str, title: str):
    import altair as alt

    return (alt.Chart(df, title=title, height=240)
            .mark_bar(size=22)
            .encode(x=alt.X("yearmonthdate(When):T", title=None,
                            axis=alt.Axis(format="%b %d", labelAngle=0, tickCount="day")),
                    y=alt.Y(f"sum({y}):Q", title=y), color=alt.Color(f"{color}:N", title=color),
                    tooltip=[alt.Tooltip("yearmonthdate(When):T", title="Day"), color, alt.Tooltip(f"sum({y}):Q",
                                                                                                   title=y)]))


def _quality_chart(df):
    import altair as alt

    base = alt.Chart(df, title="Mean quality per session (100 = every rep clean)", height=240).encode(
        x=alt.X("When:T", title=None, axis=alt.Axis(format="%b %d %H:%M", labelAngle=0)),
        y=alt.Y("Quality:Q", scale=alt.Scale(domain=[0, 100]), title="Quality"),
        color=alt.Color("Exercise:N"), tooltip=["When:T", "Exercise", "Quality", "Reps"])
    return base.mark_line() + base.mark_point(filled=True, size=60)


def _session_details(h: History, sid: int, catalogue: dict | None = None) -> None:
    from coach.app_review import rep_rows, set_notes, summary_figures

    s = h.session(sid)
    if s is None:
        st.info("That session was deleted.")
        return
    summary = dict(s["summary"])
    summary["reps"] = s["reps"]
    summary.setdefault("exercise_name", s["exercise_name"])
    summary.setdefault("rep_count", s["rep_count"])
    summary.setdefault("good_reps", s["good_reps"])
    with st.container(border=True):
        kind = _session_kind(s)
        st.markdown(f"**{kind}: {s['exercise_name'] or 'exercise not recognised'}** · {_local_time(s['started_utc'])}"
                    + (f" · {s['source']}" if s["kind"] == "review" and s["source"] else ""))
        figs = [f for f in summary_figures(summary) if f[0] != "Exercise"]
        cols = st.columns(max(len(figs), 4))
        for col, (label, value) in zip(cols, figs):
            col.metric(label, value)
        if s["status"] == "in_progress":
            st.caption("This set did not finish (the app was closed during it): the reps done before are kept.")
        rows = rep_rows(summary, catalogue)
        if rows:
            st.dataframe(_drop_empty(rows, "Evidence"), hide_index=True, width="stretch",
                         key=f"session_reps_{sid}", column_config={"Quality": _quality_column()})
        for note in set_notes(summary):
            st.markdown(f"- {note}")
        if s.get("video_path") and Path(s["video_path"]).is_file():
            st.video(Path(s["video_path"]).read_bytes(), format="video/mp4")
        _session_report_button(h, sid, s, catalogue)
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        confirm = c1.checkbox("Yes, delete this session and everything saved with it", key=f"confirm_delete_{sid}")
        if c2.button("Delete session", key=f"delete_{sid}", disabled=not confirm, width="stretch"):
            h.delete_session(sid)
            st.session_state.pop("history_session", None)
            st.toast("Session deleted", icon=":material/delete:")
            st.rerun()


def _session_report_button(h: History, sid: int, s: dict, catalogue: dict | None) -> None:
    """The session as the report to print or send, made when clicked (pictures only when its video was kept)."""
    from coach.report import session_report

    day = _dt.datetime.fromisoformat(s["started_utc"]).astimezone().strftime("%Y-%m-%d")
    who = "".join(c if c.isalnum() else "_" for c in s.get("profile") or "").lower()
    what = "".join(c if c.isalnum() else "_" for c in s.get("exercise") or "session")

    def make() -> str:
        fresh = h.session(sid)
        return session_report(fresh if fresh is not None else s, catalogue)

    st.download_button("Report to print or send (HTML)", data=make, file_name=f"{who}_{what}_{day}_report.html",
                       mime="text/html", key=f"session_report_{sid}", on_click="ignore",
                       help="One file with the results, the rep table and the plots"
                            + (", and pictures of the reps" if s.get("video_path") else
                               " (pictures of the reps only when the annotated video was kept)"))


def _export(h: History, profile: Profile) -> None:
    st.markdown("**Export**")
    who = st.radio("Whose history", [profile.name, "Everyone"], horizontal=True, key="export_who")
    ref = None if who == "Everyone" else profile
    slug = "everyone" if ref is None else "".join(c if c.isalnum() else "_" for c in profile.name).lower()
    c1, c2, c3 = st.columns(3)
    c1.download_button("All of it (JSON)", data=lambda: h.export_json(ref), file_name=f"coach_history_{slug}.json",
                       mime="application/json", key="export_json", on_click="ignore", width="stretch")
    c2.download_button("Sessions (CSV)", data=lambda: h.export_csv(ref)["sessions.csv"],
                       file_name=f"coach_sessions_{slug}.csv", mime="text/csv", key="export_sessions",
                       on_click="ignore", width="stretch")
    c3.download_button("Reps (CSV)", data=lambda: h.export_csv(ref)["reps.csv"], file_name=f"coach_reps_{slug}.csv",
                       mime="text/csv", key="export_reps", on_click="ignore", width="stretch")


# ----------------------------------------------------------------------------------------------------------------
# Teach
def teach_page(ctx: AppContext | None = None) -> None:
    from coach.app_review import UPLOAD_TYPES

    ctx = ctx or context()
    cat = ctx.catalogue
    st.title("Teach an exercise")
    st.write("Upload a few videos of **good** reps of an exercise the coach does not know yet (or of one it knows, "
             "done your way). It learns how the movement looks, then counts and coaches it like the built-in ones.")
    st.caption("Tips: 2 to 5 videos, 5 or more clean reps each, filmed from the view you will train in, whole body "
               "in view. Training takes a few minutes on this computer. " + PRIVACY)
    with st.form("teach_form", border=False, enter_to_submit=False):  # one run with the press: see review_page
        name = st.text_input("Exercise name", key="teach_name", placeholder="e.g. Goblet squat", max_chars=40)
        bases = [None, *sorted(cat, key=lambda k: cat[k].name.lower())]
        base = st.selectbox("Is it a variant of a known exercise?", bases, key="teach_base",
                            format_func=lambda b: "No: find the rep movement in the videos" if b is None
                            else f"Yes: like {cat[b].name} (same rep counting and fault checks)")
        files = st.file_uploader("Videos of good reps", type=UPLOAD_TYPES, accept_multiple_files=True,
                                 key="teach_files")
        run = st.form_submit_button("Teach", type="primary", key="teach_run")
    if run:
        _run_teach(name, base, files or [])
    from coach.exercises import load_catalogue

    try:
        taught = _taught(load_catalogue())  # fresh: includes one taught just now
    except CoachError:
        taught = _taught(cat)
    st.markdown("**Exercises you taught**")
    if taught:
        st.dataframe([{"Exercise": e.name, "Id": e.id, "Kind": e.kind, "Camera": ", ".join(e.views)}
                      for e in taught], hide_index=True, width="stretch")
    else:
        st.caption("None yet. Taught exercises appear in the Live and Review exercise lists.")


def _taught(cat: dict) -> list:
    user = (user_data_dir() / "exercises").resolve()
    out = []
    for e in cat.values():
        try:
            if e.source and Path(e.source).resolve().parent == user:
                out.append(e)
        except OSError:
            continue
    return sorted(out, key=lambda e: e.name.lower())


def _run_teach(name: str, base: str | None, files: list) -> None:
    name = " ".join((name or "").split())
    if not name:
        st.error("Type a name for the exercise first.")
        return
    if not files:
        st.error("Upload at least one video of good reps (two or more teach it better).")
        return
    try:
        from coach.teach import teach_exercise
    except ImportError:
        st.error("Teaching is not available in this version of coach (coach.teach is missing); update coach.")
        return
    from coach.app_review import save_upload

    tmp = work_dir("coach-teach-")
    try:
        paths = []
        for i, f in enumerate(files):
            if not f.size:
                st.error(f"{f.name} is empty: choose it again or leave it out.")
                return
            paths.append(save_upload(f"{i:02d}_{f.name}", f, tmp))
        bar = st.progress(0.0, text="Reading the videos...")

        def progress(frac: float, text: str) -> None:
            bar.progress(min(max(float(frac), 0.0), 1.0), text=text)

        try:
            result = teach_exercise(name, paths, base=base, progress=progress)
        except CoachError as e:
            bar.empty()
            msg = str(e)
            for p, f in zip(paths, files):
                msg = msg.replace(str(p), f.name)
            st.error(msg)
            return
        except Exception as e:
            log.exception("teaching failed")
            bar.empty()
            st.error(f"Teaching failed ({type(e).__name__}: {e}); try other videos or report this.")
            return
        bar.empty()
        ex = result.exercise
        st.success(f"Learned **{ex.name}** from {result.reps_found} reps. It is in the exercise lists of the Live and "
                   f"Review pages now.")
        if result.report:
            with st.expander("Training report"):
                st.text(result.report)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _icon():
    """The favicon, drawn here (a page icon from the Material set would be fetched from Google's servers)."""
    import cv2
    import numpy as np

    img = np.full((64, 64, 3), 255, np.uint8)
    green = (46, 158, 91)
    cv2.rectangle(img, (14, 29), (50, 35), green, -1)
    for x in (8, 46):
        cv2.rectangle(img, (x, 18), (x + 10, 46), green, -1)
    from PIL import Image

    return Image.fromarray(img)


def main() -> None:
    """The app: sidebar context, then the page chosen in the navigation."""
    st.set_page_config(page_title=APP_TITLE, page_icon=_icon(), layout="wide")
    ctx = context()
    pages = [
        st.Page(lambda: live_page(ctx), title="Live", icon=":material/videocam:", url_path="live", default=True),
        st.Page(lambda: review_page(ctx), title="Review", icon=":material/movie:", url_path="review"),
        st.Page(lambda: history_page(ctx), title="History", icon=":material/monitoring:", url_path="history"),
        st.Page(lambda: teach_page(ctx), title="Teach", icon=":material/school:", url_path="teach"),
    ]
    st.navigation(pages, position="top").run()
