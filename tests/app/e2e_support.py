"""Helpers for the browser end-to-end tests: a fake-camera clip, the Streamlit server, headless Chromium.

Everything here stays on loopback: Streamlit listens on 127.0.0.1 with usage statistics off, Chromium is told
not to reach any service, and the tests run it inside a network namespace that has only ``lo``.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("COACH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--mute-audio",
    "--allow-loopback-in-peer-connection", "--use-fake-ui-for-media-stream",
    "--disable-features=MediaRouter,OptimizationHints,Translate",
]


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit ``size`` (width, height), even-sized and centred on black."""
    import cv2

    w, h = size
    fh, fw = image.shape[:2]
    s = min(w / fw, h / fh)
    nw, nh = int(round(fw * s)) // 2 * 2, int(round(fh * s)) // 2 * 2
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    canvas = np.zeros((h, w, 3), np.uint8)
    canvas[y0:y0 + nh, x0:x0 + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return canvas


def clip_to_mjpeg(video: Path, out: Path, size=(640, 480), fps: float = 30.0, head_s: float = 0.0,
                  tail_s: float = 0.0, quality: int = 85) -> dict:
    """A video as Chromium's fake-camera file: concatenated JPEGs at ``fps`` (frames repeated or skipped by
    time), letterboxed into ``size``. ``head_s`` / ``tail_s`` hold the first / last frame that long (a still
    person while the connection comes up; a pause before the file loops). Returns {"frames", "duration_s",
    "source_fps", "clip_start_s", "clip_end_s"}."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise FileNotFoundError(video)
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(bgr)
    cap.release()
    if not frames:
        raise ValueError(f"no frames in {video}")
    duration = len(frames) / src_fps
    n_out = int(round((head_s + duration + tail_s) * fps))
    out.parent.mkdir(parents=True, exist_ok=True)
    cache: dict[int, bytes] = {}
    with open(out, "wb") as f:
        for k in range(n_out):
            i = min(max(int((k / fps - head_s) * src_fps), 0), len(frames) - 1)
            if i not in cache:
                ok, jpg = cv2.imencode(".jpg", letterbox(frames[i], size), [cv2.IMWRITE_JPEG_QUALITY, quality])
                cache[i] = jpg.tobytes()
            f.write(cache[i])
    return {"frames": n_out, "duration_s": n_out / fps, "source_fps": src_fps, "clip_start_s": head_s,
            "clip_end_s": head_s + duration}


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 90.0) -> None:
    import urllib.request

    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except Exception as e:  # not up yet
            last = e
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s ({last})")


@contextlib.contextmanager
def streamlit_server(env: dict, log_path: Path, port: int | None = None):
    """Run the app on 127.0.0.1 (headless, no usage statistics); yields the base URL."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app.py"), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--global.developmentMode", "false", "--client.toolbarMode", "minimal"]
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def launch_chromium(playwright, user_data_dir: Path, fake_video: Path | None = None, width: int = 1400,
                    height: int = 1000):
    """A persistent headless Chromium context (fresh profile) with the fake camera when ``fake_video``."""
    args = list(CHROMIUM_FLAGS)
    if fake_video is not None:
        args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={fake_video}"]
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=str(CHROMIUM), headless=True, args=args,
        viewport={"width": width, "height": height}, permissions=["camera"], accept_downloads=True)


#: Recorded in every frame: what the page asked the browser to say (speech synthesis is stubbed so it needs no
#: audio device; the real API is still called when present).
SPEECH_PROBE = """
(() => {
  const log = [];
  Object.defineProperty(window, '__coachSpeechCalls', {value: log});
  try {
    const synth = window.speechSynthesis;
    if (synth) {
      const speak = synth.speak.bind(synth);
      synth.speak = (u) => { log.push(u.text); try { speak(u); } catch (e) {} };
    }
  } catch (e) {}
})();
"""
