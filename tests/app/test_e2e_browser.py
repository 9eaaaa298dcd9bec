"""End to end in a real browser: Debian's Chromium driven by Playwright, a fake camera fed from a real exercise
clip, the app served by Streamlit, all inside a network namespace of its own with only loopback.

The scenario runs once (tests/app/_e2e_run.py, about a minute) and these tests check what it saw:

* Live: Start camera -> the camera-setup check -> the page counts the clip's 3 jumping jacks (and no more while
  the person stands still), shows the cue and speaks it through the browser's speech synthesis; End set saves
  the set.
* Review: upload a clip -> the per-rep table, both plots, a video the browser plays (H.264), the downloads.
* History: both sessions are there, in the charts and the export.

WebRTC on loopback: aiortc (aioice) never offers 127.0.0.1 as a candidate, so the namespace's ``lo`` also gets
127.0.0.2 (still loopback: nothing can leave the namespace). Screenshots of each page go to
test-artifacts/app/.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration]

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "_e2e_run.py"
LIVE_CLIP = "more_exercises/kaiakol__computervision/jumpingjack_correct_007.mp4"  # 3 jacks, front view
REVIEW_CLIP = "more_exercises/chauhan08__Fitness/shoulder-press.mp4"  # 10 presses
SHOTS = ("live_ready.png", "live_counting.png", "live_rest.png", "review_report.png", "history.png", "teach.png")
NETNS_SETUP = 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo && exec "$@"'


def _netns_prefix() -> list[str]:
    """``unshare`` arguments that give a private network namespace here, or skip saying why not."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("the browser tests need `unshare` and `ip` (util-linux, iproute2) for a loopback-only network")
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        probe = subprocess.run([*prefix, "--", "bash", "-c", NETNS_SETUP, "probe", "true"], capture_output=True)
        if probe.returncode == 0:
            return prefix
    pytest.skip("cannot create a private network namespace here (`unshare -n` needs root or user namespaces); "
                "the browser tests only run on loopback")


@pytest.fixture(scope="module")
def e2e(data_dir, artifacts_dir, tmp_path_factory):
    chromium = Path(os.environ.get("COACH_CHROMIUM", "/usr/bin/chromium"))
    if not chromium.exists():
        pytest.skip(f"Chromium not found at {chromium} (install Debian's chromium; ./run.sh test does)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("playwright (Python) is not installed: pip install -e '.[test]'")
    prefix = _netns_prefix()
    work = tmp_path_factory.mktemp("e2e")
    shots = artifacts_dir / "app"
    for name in SHOTS:
        (shots / name).unlink(missing_ok=True)
    out = work / "result.json"
    cmd = [*prefix, "--", "bash", "-c", NETNS_SETUP, "e2e", sys.executable, str(RUNNER), "--work", str(work),
           "--out", str(out), "--shots", str(shots), "--live-clip", str(data_dir / LIVE_CLIP),
           "--review-clip", str(data_dir / REVIEW_CLIP)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if not out.exists():
        pytest.fail(f"the browser scenario did not run (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    res = json.loads(out.read_text())
    (artifacts_dir / "app" / "e2e_result.json").write_text(json.dumps(
        {k: v for k, v in res.items() if k != "history_export"}, indent=1))
    if res.get("fatal"):
        pytest.fail(f"browser scenario failed: {res['fatal']}\n{res.get('trace', '')}\n{res.get('server_log_tail', '')}")
    return res


def _step_ok(res: dict, name: str) -> None:
    step = next((s for s in res["steps"] if s["step"] == name), None)
    assert step is not None, f"step {name} did not run"
    assert step["ok"], f"{name}: {step.get('error')}\n{step.get('trace', '')}\n{res.get('server_log_tail', '')[-2000:]}"


def test_live_counts_the_clips_reps_and_shows_a_cue(e2e):
    _step_ok(e2e, "live")
    assert e2e["live_setup_seen"], "the camera-setup check was not shown before the set"
    assert e2e["live_reps_when_three"] == 3
    assert e2e["live_reps_before_end"] == 3, "counted more than the clip's 3 jumping jacks"
    assert e2e["live_reps_table_rows"] == 3
    assert "Nice rhythm!" in e2e["live_cue_box"]  # the jumping jack's good-rep cue, on the page
    spoken = e2e["live_speech"]
    assert spoken[0] == "Spoken cues on" and spoken.count("Nice rhythm!") == 3, spoken
    assert "Set done: 3 reps, 3 good" in spoken
    assert e2e["live_sets_table"].startswith("1 | yes | 3 | 3"), e2e["live_sets_table"]
    print(f"Live page in the browser: {e2e.get('live_fps')} fps coached (camera {e2e.get('live_camera_fps') or '-'}), "
          f"last cue {e2e.get('live_cue_delay_ms')} ms after its rep ended (the page's own measure, with Chromium "
          f"on the same cores)")


def test_review_shows_table_plots_and_a_playable_video(e2e):
    _step_ok(e2e, "review")
    assert e2e["review_errors"] == []
    assert e2e["review_reps_metric"] == "10"
    assert e2e["review_table_rows"] == 10
    assert "Good press!" in e2e["review_table_text"]
    assert e2e["review_images"] == 2 and all(w > 500 and h > 200 for w, h in e2e["review_image_sizes"])
    v = e2e["review_video"]
    assert v["play"] is True and v["error"] is None, v
    assert v["readyState"] >= 2 and v["currentTime"] > 0.5 and v["duration"] > 14, v
    assert (v["width"], v["height"]) == (426, 240)
    assert {"Annotated video (MP4)", "Reps (CSV)", "Summary (JSON)", "OpenSim markers (.trc)",
            "OpenSim joint angles (.mot)", "Landmarks (CSV)"} <= set(e2e["review_downloads"])


def test_review_report_opens_offline_with_its_pictures(e2e):
    """The report a coach sends: downloaded from the Review page and opened from the file in the same browser
    (whose network holds only the loopback): every picture shows, nothing is fetched from anywhere."""
    _step_ok(e2e, "review")
    rep = e2e["report"]
    assert e2e["report_file_name"].endswith("_report.html")
    assert rep["h1"].startswith("shoulder-press.mp4: Shoulder press"), rep["h1"]
    assert rep["rows"] == 10
    assert rep["outside"] == []
    assert len(rep["images"]) >= 3 and all(ok and w > 100 and h > 100 for ok, w, h in rep["images"]), rep["images"]
    assert rep["figures"] and all("quality" in f for f in rep["figures"]), rep["figures"]
    assert rep["meta"].startswith("Me · analysed "), rep["meta"]  # whose session: the person chosen in the sidebar


def test_history_finds_both_sessions(e2e):
    _step_ok(e2e, "history")
    assert e2e["history_sessions_metric"] == "2"
    assert e2e["history_reps_metric"] == "13"
    assert e2e["history_charts"] >= 1
    table = e2e["history_table_text"]
    assert "Live set 1 | Jumping jack | 3" in table and "Video review | Shoulder press | 10" in table
    sessions = e2e["history_export"]["profiles"][0]["sessions"]
    by_kind = {s["kind"]: s for s in sessions}
    assert set(by_kind) == {"live", "review"}
    live, review = by_kind["live"], by_kind["review"]
    assert (live["exercise"], live["rep_count"], live["status"]) == ("jumping-jack", 3, "complete")
    assert (review["exercise"], review["rep_count"], review["source"]) == ("shoulder-press", 10, "shoulder-press.mp4")
    assert review["video_path"] is None  # the video is not kept unless asked for
    for s in (live, review):
        for r in s["reps"]:
            m = r["metrics"]
            assert m["eccentric_s"] > 0 and m["concentric_s"] > 0 and m["rom"] > 0 and r["cue"]
    # the reviewed video's session as a report: its results and plots (no pictures: the video was not kept)
    rep = e2e["history_report"]
    assert e2e["history_report_file_name"].startswith("me_shoulder_press_") and rep["outside"] == []
    assert rep["h1"].startswith("shoulder-press.mp4: Shoulder press") and rep["meta"].startswith("Me · analysed ")
    assert rep["rows"] == 10 and rep["figures"] == [] and len(rep["images"]) == 2, rep


def test_teach_page_loads_and_explains(e2e):
    _step_ok(e2e, "teach")
    assert e2e["teach_error"] == "Type a name for the exercise first."


def test_screenshots_of_every_page(e2e, artifacts_dir):
    for name in SHOTS:
        p = artifacts_dir / "app" / name
        assert p.is_file() and p.stat().st_size > 20_000, f"missing screenshot {p}"


def test_nothing_left_the_machine(e2e):
    assert e2e["failed_requests"] == [], "the page tried to reach outside servers"
    assert not e2e.get("page_errors"), e2e.get("page_errors")


def test_the_server_leaves_no_working_files_behind(e2e):
    # the review's working folder (annotated video, exports) and the uploads go once the server has stopped, and
    # the folder a server killed outright left there went when this one made its own
    assert e2e["server_tmp_left"] == [], f"left in the server's temporary folder: {e2e['server_tmp_left']}"
