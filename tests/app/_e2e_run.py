"""The browser end-to-end scenario, run by tests/app/test_e2e_browser.py inside a network namespace with only
loopback (``unshare -n``). It drives the real app in headless Chromium and writes what it saw as JSON; the
test makes the assertions. Usage::

    python tests/app/_e2e_run.py --work DIR --out result.json --shots DIR --live-clip A.mp4 --review-clip B.mp4

Scenario: Live (fake camera fed from a real clip: Start camera, count the reps, a cue, end the set), Review
(upload a clip: table, plots, playable video, downloads), History (both sessions, export), Teach (page loads).
A screenshot of each page goes to --shots.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import SPEECH_PROBE, clip_to_mjpeg, launch_chromium, streamlit_server  # noqa: E402

LIVE_TIMEOUT_S = 240
REVIEW_TIMEOUT_S = 300


def shot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to its height first."""
    h = page.evaluate("() => { const m = document.querySelector('[data-testid=stMain]'); "
                      "return m ? m.scrollHeight + 80 : document.body.scrollHeight; }")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(h), 6000))})
    time.sleep(0.8)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


#: what a page shows, read from the DOM in one go (a locator would wait up to its timeout for an element a
#: fragment's re-render just replaced): {"metrics": {label: value}, "alerts": [text], "setup": bool}
PAGE_STATE_JS = """() => {
    const metrics = {};
    for (const m of document.querySelectorAll('[data-testid=stMetric]')) {
        const l = m.querySelector('[data-testid=stMetricLabel]'), v = m.querySelector('[data-testid=stMetricValue]');
        if (l && v && !(l.innerText.trim() in metrics)) metrics[l.innerText.trim()] = v.innerText.trim();
    }
    const alerts = [];
    for (const k of ['stAlertContentSuccess', 'stAlertContentError', 'stAlertContentInfo'])
        for (const e of document.querySelectorAll(`[data-testid=${k}]`)) alerts.push(e.innerText.trim());
    const heads = Array.from(document.querySelectorAll('h1, h2, h3')).map(h => h.innerText.trim());
    return {metrics, alerts, setup: heads.some(h => h.startsWith('Camera setup'))};
}"""


def metric(page, label: str) -> str | None:
    """The value of the first st.metric with this label (None when absent)."""
    return page.evaluate(PAGE_STATE_JS)["metrics"].get(label)


def wait_for(fn, timeout: float, every: float = 0.5, what: str = "condition"):
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        try:
            last = fn()
        except Exception as e:  # the page is re-rendering: try again
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def goto_page(page, title: str) -> None:
    page.get_by_test_id("stTopNavLink").filter(has_text=title).first.click() \
        if page.get_by_test_id("stTopNavLink").count() else page.get_by_role("link", name=title).first.click()


def grid_rows(page, key_testid: str = "stDataFrame") -> int:
    """Data rows of the first visible dataframe (its accessible grid)."""
    return page.get_by_test_id(key_testid).first.locator("[role=row]").count() - 1


def grid_text(loc) -> str:
    """The cell texts of a dataframe (its accessible grid; the visible one is a canvas), read in one go."""
    return loc.evaluate("g => Array.from(g.querySelectorAll('[role=gridcell]')).map(c => c.textContent || '')"
                        ".join(' | ')")


def run_live(page, url: str, res: dict, shots: Path) -> None:
    page.goto(url + "/")
    page.get_by_role("heading", name="Live coaching").wait_for(timeout=90_000)
    page.get_by_test_id("stSelectbox").filter(has_text="Exercise").click()
    page.get_by_role("option", name="Jumping jack").click()
    page.get_by_text("Face the camera, whole body in view").wait_for(timeout=30_000)  # the exercise's setup
    page.locator("label", has_text="Speak cues").first.click()  # the user's gesture that allows speech
    time.sleep(1.0)
    shot(page, shots / "live_ready.png")
    webrtc = page.frame_locator("iframe[title*='streamlit_webrtc']")
    webrtc.get_by_role("button", name="Start camera").click()
    t0 = time.monotonic()
    cue_texts: set = set()
    timeline: list = []  # per read: (s after Start, s the read took, Reps shown, setup shown, alerts shown)

    def three_reps():
        t1 = time.monotonic()
        state = page.evaluate(PAGE_STATE_JS)  # one read of the DOM: nothing here waits for an element
        reps = state["metrics"].get("Reps")
        reps = int(reps) if reps is not None and reps.isdigit() else None
        timeline.append((round(t1 - t0, 1), round(time.monotonic() - t1, 2), reps, state["setup"],
                         len(state["alerts"])))
        cue_texts.update(state["alerts"])
        return reps is not None and reps >= 3

    wait_for(three_reps, LIVE_TIMEOUT_S, what="the Live page to count 3 reps")
    counts = [(t, r) for t, _, r, _, _ in timeline if r is not None]
    res["live_reps_when_three"] = max(r for _, r in counts)
    time.sleep(0.6)
    res["live_cue_box"] = sorted(cue_texts)
    shot(page, shots / "live_counting.png")
    res["live_caption"] = " ".join(el.inner_text() for el in page.get_by_test_id("stCaptionContainer").all())
    m = re.search(r"Coaching at (\d+) frames per second(?: \(camera: (\d+)\))?(?: · last cue (\d+) ms)?",
                  res["live_caption"])
    if m:  # the page's own figures, under the browser's load on the same machine
        res["live_fps"] = int(m.group(1))
        res["live_camera_fps"] = int(m.group(2)) if m.group(2) else None
        res["live_cue_delay_ms"] = int(m.group(3)) if m.group(3) else None
    res["live_reps_table_rows"] = grid_rows(page)
    # the clip holds still after its third jack: the count must stay at 3 while we end the set
    time.sleep(2.0)
    res["live_reps_before_end"] = int(metric(page, "Reps") or -1)
    page.get_by_role("button", name="End set").click()
    wait_for(lambda: page.get_by_text("Sets this session").count() > 0, 60, what="the set to be listed")
    wait_for(lambda: "yes" in grid_text(page.get_by_test_id("stDataFrame").last), 60, what="the set to be saved")
    res["live_sets_table"] = grid_text(page.get_by_test_id("stDataFrame").last)
    res["live_rep_counts_seen"] = counts[-20:]
    res["live_setup_seen"] = any(setup for _, _, _, setup, _ in timeline)
    res["live_timeline"] = timeline[-60:]
    res["live_speech"] = page.evaluate("() => window.__coachSpeechCalls || []")
    res["live_spoken_log"] = page.evaluate("() => window.__coachSpokenLog || []")
    shot(page, shots / "live_rest.png")
    webrtc.get_by_role("button", name="Stop camera").click()
    time.sleep(1.0)


def run_review(page, url: str, clip: Path, res: dict, shots: Path, work: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    goto_page(page, "Review")
    page.get_by_role("heading", name="Review a recorded video").wait_for(timeout=60_000)
    radio = page.get_by_test_id("stRadio")
    if radio.count():
        radio.first.locator("label", has_text="Upload a video").click()
    # The upload is slowed to about 3 s (a phone video over a home connection takes longer still) and Analyse is
    # pressed as soon as the file shows: a press during the upload must analyse the file once it is in. With a
    # plain button it ran without the file ("choose a video file first" flashed, gone with the rerun the finished
    # upload brought) and nothing happened.
    cdp = page.context.new_cdp_session(page)

    def upload_rate(bytes_per_s: float) -> None:  # -1: no limit
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                      "uploadThroughput": bytes_per_s})

    upload_rate(max(clip.stat().st_size / 3.0, 50_000.0))
    try:
        page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(clip))
        page.get_by_test_id("stFileUploader").get_by_text(clip.name).wait_for(timeout=60_000)
        button = page.get_by_role("button", name="Analyse")
        res["review_analyse_enabled_during_upload"] = button.is_enabled()
        t0 = time.monotonic()
        button.click()  # Playwright waits for the button to be enabled
        res["review_press_waited_s"] = round(time.monotonic() - t0, 2)
    finally:
        upload_rate(-1)
    try:
        page.get_by_text(re.compile(r"^Analysing |^Downloads$")).first.wait_for(timeout=30_000)
    except PlaywrightTimeout:
        res["review_alerts_after_press"] = page.evaluate(PAGE_STATE_JS)["alerts"]
        raise AssertionError("Analyse pressed during the upload did nothing: no analysis began in 30 s") from None
    page.get_by_text("Downloads").wait_for(timeout=REVIEW_TIMEOUT_S * 1000)
    time.sleep(1.5)
    res["review_errors"] = [e.inner_text() for e in page.get_by_test_id("stAlertContentError").all()]
    res["review_reps_metric"] = metric(page, "Reps")
    res["review_table_rows"] = grid_rows(page)
    res["review_table_text"] = grid_text(page.get_by_test_id("stDataFrame").first)[:3000]
    res["review_images"] = page.get_by_test_id("stImage").count()
    res["review_image_sizes"] = page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-testid=stImage] img')).map(i => [i.naturalWidth, i.naturalHeight])")
    res["review_downloads"] = [b.inner_text().strip() for b in page.get_by_test_id("stDownloadButton").all()]
    video = page.locator("video").first
    video.scroll_into_view_if_needed()
    res["review_video"] = video.evaluate("""async (v) => {
        v.muted = true;
        const ok = await v.play().then(() => true, (e) => String(e));
        await new Promise(r => setTimeout(r, 1500));
        const out = {play: ok, readyState: v.readyState, duration: v.duration, width: v.videoWidth,
                     height: v.videoHeight, currentTime: v.currentTime, error: v.error && v.error.code,
                     h264: v.canPlayType('video/mp4; codecs="avc1.42E01E"')};
        v.pause();
        return out;
    }""")
    shot(page, shots / "review_report.png")
    # the report to print or send: downloaded as a client would get it, opened from the file (offline)
    res["report_file_name"], res["report"] = open_report(page, work / "report.html", shots / "report_html.png")


REPORT_JS = """() => ({
    title: document.title, h1: document.querySelector('h1').innerText,
    meta: document.querySelector('.meta').innerText,
    rows: document.querySelectorAll('table tbody tr').length,
    figures: Array.from(document.querySelectorAll('figure figcaption')).map(f => f.innerText),
    images: Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
    outside: Array.from(document.querySelectorAll('[src],[href]')).map(e => e.getAttribute('src') ||
             e.getAttribute('href')).filter(u => !u.startsWith('data:'))})"""


def open_report(page, path: Path, screenshot: Path) -> tuple[str, dict]:
    """Click the page's "Report to print or send" download, save it, open the file in a new tab: what it shows."""
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_test_id("stDownloadButton").filter(has_text="Report to print or send").click()
    dl.value.save_as(str(path))
    report = page.context.new_page()
    try:
        report.goto(path.as_uri())
        report.wait_for_load_state("load")
        shown = report.evaluate(REPORT_JS)
        shot(report, screenshot)
    finally:
        report.close()
    return dl.value.suggested_filename, shown


def run_history(page, url: str, res: dict, shots: Path, work: Path) -> None:
    goto_page(page, "History")
    page.get_by_role("heading", name="History").wait_for(timeout=60_000)
    page.get_by_text("Session details").wait_for(timeout=60_000)
    time.sleep(1.5)
    res["history_sessions_metric"] = metric(page, "Sessions")
    res["history_reps_metric"] = metric(page, "Reps")
    tables = page.get_by_test_id("stDataFrame")
    res["history_table_text"] = " || ".join(grid_text(t)[:3000] for t in tables.all())
    res["history_charts"] = page.get_by_test_id("stVegaLiteChart").count()
    shot(page, shots / "history.png")
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_test_id("stDownloadButton").filter(has_text="All of it (JSON)").click()
    path = work / "export.json"
    dl.value.save_as(str(path))
    res["history_export"] = json.loads(path.read_text())
    # the session picked in "Session details" (the newest: the reviewed video) as its report
    res["history_report_file_name"], res["history_report"] = open_report(page, work / "history_report.html",
                                                                         shots / "history_report_html.png")


def run_teach(page, url: str, res: dict, shots: Path) -> None:
    goto_page(page, "Teach")
    page.get_by_role("heading", name="Teach an exercise").wait_for(timeout=60_000)
    page.get_by_role("button", name="Teach").click()
    page.get_by_test_id("stAlertContentError").first.wait_for(timeout=30_000)
    res["teach_error"] = page.get_by_test_id("stAlertContentError").first.inner_text()
    shot(page, shots / "teach.png")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--shots", type=Path, required=True)
    ap.add_argument("--live-clip", type=Path, required=True)
    ap.add_argument("--review-clip", type=Path, required=True)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    work, shots = args.work, args.shots
    work.mkdir(parents=True, exist_ok=True)
    shots.mkdir(parents=True, exist_ok=True)
    res: dict = {"steps": []}
    # a still lead-in while the connection comes up and a still tail after the last rep (before the file loops)
    res["mjpeg"] = clip_to_mjpeg(args.live_clip, work / "camera.mjpeg", head_s=4.0, tail_s=14.0)
    home = work / "home"
    server_tmp = work / "server-tmp"  # the server's temporary folder: empty again once it has stopped
    server_tmp.mkdir(exist_ok=True)
    # what a server killed outright leaves: its folder with a review in it and its lock file, no longer held
    killed = server_tmp / "coach-server-killed" / "coach-review-1"
    killed.mkdir(parents=True, exist_ok=True)
    (killed / "annotated.mp4").write_bytes(b"\0" * 1000)
    (killed.parent / ".lock").touch()
    env = dict(os.environ, COACH_HOME=str(home), COACH_DB=str(home / "history.sqlite"),
               COACH_CACHE=str(work / "cache"), HOME=str(work), PYTHONUNBUFFERED="1", TMPDIR=str(server_tmp))
    env.pop("COACH_RTC_CONFIG", None)
    try:
        with streamlit_server(env, work / "streamlit.log") as url:
            res["url"] = url
            with sync_playwright() as p:
                ctx = launch_chromium(p, work / "chromium-profile", work / "camera.mjpeg")
                ctx.add_init_script(SPEECH_PROBE)
                page = ctx.new_page()
                page.set_default_timeout(60_000)
                failed: list[str] = []
                page.on("requestfailed", lambda r: failed.append(r.url))
                page.on("pageerror", lambda e: res.setdefault("page_errors", []).append(str(e)[:300]))
                try:
                    for name, step in (("live", lambda: run_live(page, url, res, shots)),
                                       ("review", lambda: run_review(page, url, args.review_clip, res, shots, work)),
                                       ("history", lambda: run_history(page, url, res, shots, work)),
                                       ("teach", lambda: run_teach(page, url, res, shots))):
                        t0 = time.monotonic()
                        try:
                            step()
                            res["steps"].append({"step": name, "ok": True, "s": round(time.monotonic() - t0, 1)})
                        except Exception as e:
                            res["steps"].append({"step": name, "ok": False, "error": f"{type(e).__name__}: {e}",
                                                 "trace": traceback.format_exc()[-3000:]})
                            shot(page, shots / f"failed_{name}.png")
                            if name in ("live", "review"):
                                continue
                finally:
                    res["failed_requests"] = [u for u in failed if not u.startswith("http://127.0.0.1")][:20]
                    ctx.close()
    except Exception as e:
        res["fatal"] = f"{type(e).__name__}: {e}"
        res["trace"] = traceback.format_exc()[-3000:]
    res["server_tmp_left"] = sorted(p.name for p in server_tmp.iterdir())
    log = work / "streamlit.log"
    if log.exists():
        res["server_log_tail"] = log.read_text(errors="replace")[-4000:]
    args.out.write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
