"""AnnotatedVideoWriter: browser-playable H.264 MP4, timestamps kept, atomic, clear errors."""
from __future__ import annotations

import shutil
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from coach.errors import OutputError
from coach.video import AnnotatedVideoWriter, h264_encoder


def _frames(n, w=160, h=120):
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[..., 0] = (i * 7) % 256
        img[h // 3: h // 2, (i * 3) % (w - 10):(i * 3) % (w - 10) + 10] = 255
        yield img


def _probe(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        info = {"codec": v.codec_context.name, "pix_fmt": v.codec_context.pix_fmt, "width": v.width,
                "height": v.height, "rate": v.average_rate, "time_base": v.time_base}
        pts = [f.pts for f in c.decode(video=0)]
        info["frames"] = len(pts)
        info["pts_s"] = [float(p * v.time_base) for p in pts]
        info["duration_s"] = float(v.duration * v.time_base) if v.duration else c.duration / 1e6
    return info


def _top_level_atoms(path: Path) -> list[str]:
    data = path.read_bytes()
    i, out = 0, []
    while i + 8 <= len(data):
        size, typ = struct.unpack(">I4s", data[i:i + 8])
        if size == 1:
            size = struct.unpack(">Q", data[i + 8:i + 16])[0]
        out.append(typ.decode("latin-1"))
        if size < 8:
            break
        i += size
    return out


def test_has_an_h264_encoder():
    assert h264_encoder() in ("libx264", "libopenh264") or h264_encoder().startswith("h264")


def test_writes_browser_ready_h264_at_2997(tmp_path):
    out = tmp_path / "sub" / "clip.mp4"
    fps = 30000 / 1001
    with AnnotatedVideoWriter(out, fps=fps, size=(160, 120)) as w:
        for i, img in enumerate(_frames(60)):
            w.write(img, i / fps)
    info = _probe(out)
    assert info["codec"] == "h264"
    assert info["pix_fmt"] == "yuv420p"
    assert (info["width"], info["height"]) == (160, 120)
    assert info["frames"] == 60
    assert info["rate"] == Fraction(30000, 1001)
    assert info["duration_s"] == pytest.approx(60 / fps, abs=1e-3)
    assert info["pts_s"][:3] == pytest.approx([0.0, 1 / fps, 2 / fps], abs=1e-4)
    atoms = _top_level_atoms(out)
    assert atoms.index("moov") < atoms.index("mdat"), "faststart: moov must come before mdat for streaming"
    assert [p.name for p in out.parent.iterdir()] == ["clip.mp4"]


def test_variable_frame_timing_is_kept(tmp_path):
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.uniform(0.02, 0.06, 40))
    t -= t[0]
    out = tmp_path / "vfr.mp4"
    with AnnotatedVideoWriter(out, fps=30) as w:
        for ti, img in zip(t, _frames(40)):
            w.write(img, float(ti) + 5.0)  # timestamps need not start at 0
    info = _probe(out)
    assert info["frames"] == 40
    np.testing.assert_allclose(info["pts_s"], t, atol=2e-5)


def test_default_timestamps_and_odd_size(tmp_path):
    out = tmp_path / "odd.mp4"
    with AnnotatedVideoWriter(out, fps=25) as w:
        for img in _frames(10, w=161, h=121):
            w.write(img)
    info = _probe(out)
    assert (info["width"], info["height"]) == (160, 120)
    assert info["frames"] == 10
    assert info["duration_s"] == pytest.approx(10 / 25, abs=1e-3)


def test_non_increasing_timestamps_are_nudged(tmp_path):
    out = tmp_path / "dup.mp4"
    with AnnotatedVideoWriter(out, fps=30) as w:
        for img in _frames(5):
            w.write(img, 1.0)
    info = _probe(out)
    assert info["frames"] == 5
    assert np.all(np.diff(info["pts_s"]) > 0)


def test_frames_of_another_size_are_resized(tmp_path):
    out = tmp_path / "resized.mp4"
    with AnnotatedVideoWriter(out, fps=30, size=(64, 48)) as w:
        for img in _frames(3, w=160, h=120):
            w.write(img)
    info = _probe(out)
    assert (info["width"], info["height"], info["frames"]) == (64, 48, 3)


def test_exception_leaves_nothing_behind(tmp_path):
    out = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with AnnotatedVideoWriter(out, fps=30) as w:
            for img in _frames(5):
                w.write(img)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_kept_when_writing_fails(tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"old")
    with pytest.raises(ValueError):
        with AnnotatedVideoWriter(out, fps=30) as w:
            w.write(np.zeros((10, 10), np.uint8))  # not RGB
    assert out.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [out]


def test_no_frames_is_an_error_and_leaves_nothing(tmp_path):
    out = tmp_path / "empty.mp4"
    with pytest.raises(OutputError, match="no frames"):
        with AnnotatedVideoWriter(out, fps=30):
            pass
    assert list(tmp_path.iterdir()) == []


def test_bad_input_errors(tmp_path):
    with pytest.raises(ValueError):
        AnnotatedVideoWriter(tmp_path / "x.mp4", fps=0)
    w = AnnotatedVideoWriter(tmp_path / "x.mp4", fps=30)
    with pytest.raises(RuntimeError, match="context manager"):
        w.write(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        with AnnotatedVideoWriter(tmp_path / "y.mp4", fps=30) as w2:
            w2.write(np.zeros((8, 8, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="writable"):
        with AnnotatedVideoWriter(blocker / "out.mp4", fps=30) as w:
            w.write(np.zeros((8, 8, 3), np.uint8))


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

_PAGE = """<!doctype html><html><body><video id="v" src="clip.mp4" muted playsinline></video>
<canvas id="c" width="16" height="12"></canvas><pre id="out">pending</pre><script>
const v = document.getElementById('v'), o = document.getElementById('out');
v.addEventListener('error', () => { o.textContent = 'ERROR ' + (v.error && v.error.code); });
v.addEventListener('loadeddata', () => { v.currentTime = 1.0; });
// 'seeked' can fire before the frame is ready to draw (a loaded machine drew nothing): draw until the frame at
// 1.0 s shows, for up to 10 s, and report what was drawn last.
v.addEventListener('seeked', () => {
  const c = document.getElementById('c').getContext('2d'), start = performance.now();
  const draw = () => {
    c.clearRect(0, 0, 16, 12); c.drawImage(v, 0, 0, 16, 12);
    const px = c.getImageData(2, 2, 1, 1).data;
    if (px[0] <= 150 && performance.now() - start < 10000) { setTimeout(draw, 50); return; }
    o.textContent = 'OK ' + v.readyState + ' ' + v.duration + ' ' + v.videoWidth + 'x' + v.videoHeight + ' ' + px[0];
  };
  draw();
});
</script></body></html>"""


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine")
def test_plays_in_headless_chromium(tmp_path):
    """The HTML5 <video> element loads the file, knows its duration and decodes a frame (local files only)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with AnnotatedVideoWriter(tmp_path / "clip.mp4", fps=25) as w:
        for i in range(50):
            img = np.full((120, 160, 3), 0, np.uint8)
            img[..., 0] = 200 if i >= 20 else 20  # red after 0.8 s
            w.write(img, i / 25)
    (tmp_path / "play.html").write_text(_PAGE)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--allow-file-access-from-files"])
        try:
            page = browser.new_page()
            page.goto((tmp_path / "play.html").as_uri())
            page.wait_for_function("document.getElementById('out').textContent !== 'pending'", timeout=60_000)
            result = page.inner_text("#out")
        finally:
            browser.close()
    assert result.startswith("OK "), result
    _, ready, duration, size, red = result.split()
    assert int(ready) >= 2
    assert float(duration) == pytest.approx(2.0, abs=0.05)
    assert size == "160x120"
    assert int(red) > 150  # the frame at 1.0 s was decoded (red)
