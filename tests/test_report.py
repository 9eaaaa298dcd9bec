"""The report to print or send (report.html): on a synthetic set whose faults and turning points are known, and a
video whose every frame says which frame it is."""
from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from coach.analyze import AnalysisResult, build_summary
from coach.report import chosen_reps, report_html
from coach.session import replay
from coach.video import AnnotatedVideoWriter, VideoFileSource
from tests.synth import squat_set

W, H = 320, 240
BAR_ROWS = slice(2, 10)  # the frame number is drawn here, above the body


def _numbered_video(path: Path, n: int, fps: float) -> Path:
    """Frame i: black with a white bar at column 3 i (mod 300) along the top (where no skeleton is drawn): a frame
    off is 3 pixels off."""
    with AnnotatedVideoWriter(path, fps, (W, H)) as out:
        for i in range(n):
            img = np.zeros((H, W, 3), np.uint8)
            x = 3 * i % 300
            img[0:12, x:x + 4] = 255
            out.write(img, i / fps)
    return path


def _bar_x(jpeg: bytes) -> float:
    import cv2

    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    scale = img.shape[1] / W
    col = img[BAR_ROWS].astype(float).mean(axis=0)
    return float(np.argmax(col)) / scale


def _red_pixels(jpeg: bytes) -> int:
    """Pixels in the report's fault colour (the marked joints); the synthetic video has none of its own."""
    import cv2

    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).astype(int)
    b, g, r = bgr[..., 0], bgr[..., 1], bgr[..., 2]
    return int(((r > 160) & (r - g > 70) & (r - b > 70)).sum())


def _bone_pixels(jpeg: bytes) -> int:
    """Pixels in the skeleton's bone colour (green); the synthetic video has none of its own."""
    import cv2

    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).astype(int)
    b, g, r = bgr[..., 0], bgr[..., 1], bgr[..., 2]
    return int(((g > 150) & (g - r > 70) & (g - b > 50)).sum())


def _jpeg(figure: dict) -> bytes:
    return base64.b64decode(figure["img"].split(",", 1)[1])


class _Figures(HTMLParser):
    def __init__(self):
        super().__init__()
        self.figures: list[dict] = []
        self.rows = 0
        self._in, self._caption, self._body = None, False, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure":
            self._in = {"class": a.get("class"), "img": None, "caption": ""}
        elif tag == "img" and self._in is not None:
            self._in["img"] = a["src"]
        elif tag == "figcaption":
            self._caption = True
        elif tag == "tbody":
            self._body = True
        elif tag == "tr" and self._body:
            self.rows += 1

    def handle_endtag(self, tag):
        if tag == "figure":
            self.figures.append(self._in)
            self._in = None
        elif tag == "figcaption":
            self._caption = False
        elif tag == "tbody":
            self._body = False

    def handle_data(self, data):
        if self._caption and self._in is not None:
            self._in["caption"] += data


def _result(tmp_path: Path):
    # four squats: the 2nd and 4th stop well short of depth (named "shallow"), the 1st and 3rd are clean
    seq, turns = squat_set(4, depth_deg=125, depths=[1, 0.72, 1, 0.72])
    video = _numbered_video(tmp_path / "client.mp4", len(seq), seq.fps)
    coach = replay("squat", seq)
    src = VideoFileSource(video)
    summary = build_summary(seq, coach, src.info, Path("pose_landmarker_full.task"), 1, [])
    return AnalysisResult(tmp_path, {}, summary, seq, coach), video, turns


def test_the_report_pictures_each_faulty_rep_at_its_turning_point_beside_the_cleanest(tmp_path):
    result, video, turns = _result(tmp_path)
    s = result.summary
    assert s["rep_count"] == 4 and [r["faults"] for r in s["reps"]] == [[], ["shallow_depth"], [], ["shallow_depth"]]
    page = report_html(result, video, title='client <b>"take 2"</b>.mp4')
    # the name as the user gave it, as text: never markup
    assert "client &lt;b&gt;&quot;take 2&quot;&lt;/b&gt;.mp4" in page and "<b>\"take 2\"</b>" not in page
    # self-contained: no script, nothing fetched
    assert "<script" not in page.lower() and not re.search(r'(src|href)="(?!data:)', page)
    p = _Figures()
    p.feed(page)
    assert p.rows == 4  # the rep table
    figs = p.figures
    # the faulty reps in order, then the cleanest for comparison (rep 1: quality 100, the earliest)
    assert [f["class"] for f in figs] == ["fault", "fault", "good"]
    assert [re.match(r"(For comparison: )?Rep (\d+)", f["caption"], re.I).group(2) for f in figs] == ["2", "4", "1"]
    evidence = [r["fault_details"][0]["evidence"] for r in s["reps"] if r["faults"]]
    assert evidence[0] in figs[0]["caption"] and evidence[1] in figs[1]["caption"]
    assert s["reps"][1]["cue"] in figs[0]["caption"]
    # each picture is the frame at that rep's turning point (the bar says which frame it is)
    for f, rep in zip(figs, [s["reps"][1], s["reps"][3], s["reps"][0]]):
        jpeg = base64.b64decode(f["img"].split(",", 1)[1])
        want = int(np.argmin(np.abs(result.sequence.t_s - rep["turn_s"])))
        assert abs(_bar_x(jpeg) - 3 * want % 300) <= 1, (rep["index"], _bar_x(jpeg), want)
    # the shallow reps' hips and knees are marked in red; the clean rep has no mark
    assert [_red_pixels(_jpeg(f)) > 30 for f in figs] == [True, True, False]
    assert all(_bone_pixels(_jpeg(f)) > 20 for f in figs)  # the skeleton drawn on the client's own video
    # and the turning points are the set's bottoms
    np.testing.assert_allclose([r["turn_s"] for r in s["reps"]], turns, atol=0.15)


def test_without_the_video_the_report_still_has_its_figures_and_table(tmp_path):
    result, video, _ = _result(tmp_path)
    page = report_html(result, None)
    p = _Figures()
    p.feed(page)
    assert p.figures == [] and p.rows == 4
    assert "Squat" in page and page.count('class="plot"') == 2


def test_which_reps_are_pictured():
    def rep(i, quality, faults=(), partial=False):
        return {"index": i, "quality": quality, "faults": list(faults), "partial": partial}

    reps = [rep(1, 50, partial=True), rep(2, 90, ["a"]), rep(3, 100), rep(4, 100), rep(5, 70, ["b"])]
    faulty, best = chosen_reps({"reps": reps})
    assert [r["index"] for r in faulty] == [2, 5] and best["index"] == 3
    # every rep has a fault: no separate comparison picture
    faulty, best = chosen_reps({"reps": [rep(1, 90, ["a"]), rep(2, 80, ["a"])]})
    assert [r["index"] for r in faulty] == [1, 2] and best is None
    # a clean set: the best rep alone
    faulty, best = chosen_reps({"reps": [rep(1, 100), rep(2, 100)]})
    assert faulty == [] and best["index"] == 1
    # only partial reps: nothing
    assert chosen_reps({"reps": [rep(1, 40, partial=True)]}) == ([], None)


def test_a_session_of_the_history_as_a_report(tmp_path):
    from coach.history import History
    from coach.io import save_npz
    from coach.report import session_report

    result, video, _ = _result(tmp_path)
    npz = save_npz(result.sequence, tmp_path / "landmarks.npz")
    result.files = {"annotated_video": video, "landmarks_npz": npz}
    h = History(tmp_path / "history.sqlite")
    anna = h.add_profile("Anna K")
    # a reviewed video kept with its annotated video: pictures from it, at the turning points
    sid = h.add_analysis(anna, result, source="client <1>.mp4", keep_video=True)
    page = session_report(h.session(sid))
    assert "<h1>client &lt;1&gt;.mp4: Squat</h1>" in page and '<p class="meta">Anna K · analysed ' in page
    p = _Figures()
    p.feed(page)
    assert p.rows == 4 and [f["class"] for f in p.figures] == ["fault", "fault", "good"]
    assert [_red_pixels(_jpeg(f)) > 30 for f in p.figures] == [True, True, False]  # marked from the rules
    # the kept video is the annotated one, skeleton drawn: only the joints at fault are marked on it
    assert [_bone_pixels(_jpeg(f)) for f in p.figures] == [0, 0, 0]
    reps = result.summary["reps"]
    for f, rep in zip(p.figures, [reps[1], reps[3], reps[0]]):
        want = int(np.argmin(np.abs(result.sequence.t_s - rep["turn_s"])))
        assert abs(_bar_x(base64.b64decode(f["img"].split(",", 1)[1])) - 3 * want % 300) <= 1
    assert page.count('class="plot"') == 2
    # the kept video deleted by hand: the report without pictures, no error
    Path(h.session(sid)["video_path"]).unlink()
    p = _Figures()
    p.feed(session_report(h.session(sid)))
    assert p.figures == [] and p.rows == 4
    # a live set (no video): its results, the plots from its landmarks
    live = h.add_coach(anna, result.coach, set_index=2, landmarks=npz)
    page = session_report(h.session(live))
    assert "<h1>Live set 2: Squat</h1>" in page and "Anna K · trained " in page
    p = _Figures()
    p.feed(page)
    assert p.figures == [] and p.rows == 4 and page.count('class="plot"') == 2
    assert "Sit deeper" in page  # the cue of a shallow rep, in the table


def test_in_a_video_of_several_sets_a_picture_says_which_set(tmp_path):
    from tests.synth import two_squat_sets

    seq, _ = two_squat_sets(rest_s=30.0, fps=15.0)  # 3 squats, 30 s rest, 4 squats: every rep clean
    video = _numbered_video(tmp_path / "session.mp4", len(seq), seq.fps)
    coach = replay("squat", seq)
    summary = build_summary(seq, coach, VideoFileSource(video).info, Path("pose_landmarker_full.task"), 1, [])
    assert [st["rep_count"] for st in summary["sets"]] == [3, 4]
    p = _Figures()
    p.feed(report_html(AnalysisResult(tmp_path, {}, summary, seq, coach), video))
    assert [f["caption"].split(" · ")[0] for f in p.figures] == ["Rep 1 (set 1)"]
    assert p.rows == 7


def test_a_hold_is_pictured_where_its_fault_was_worst(tmp_path):
    from tests.synth import pushup_pose, render

    # a high plank: 3 s straight, hips sinking for 4 s (5 cm to 17 cm below the line), 3 s straight
    sags = [0.0] * 90 + [0.05 + 0.001 * i for i in range(120)] + [0.0] * 90
    seq = render([pushup_pose(0.0, sag_m=x) for x in sags], 30.0, image_size=(W, H))
    video = _numbered_video(tmp_path / "plank.mp4", len(seq), seq.fps)
    coach = replay("plank", seq)
    summary = build_summary(seq, coach, VideoFileSource(video).info, Path("pose_landmarker_full.task"), 1, [])
    worst = summary["hold"]["fault_at_s"]["hips_sag"]
    assert 6.5 < worst < 7.5  # the hips lowest at 7 s (the measure is the mean of the last second)
    p = _Figures()
    p.feed(report_html(AnalysisResult(tmp_path, {}, summary, seq, coach), video))
    (fig,) = p.figures
    assert fig["class"] == "fault" and fig["caption"].startswith("Sagging hips (where it was worst)")
    assert summary["hold"]["faults"][0]["evidence"] in fig["caption"] and "Brace" in fig["caption"]
    want = int(np.argmin(np.abs(seq.t_s - worst)))
    assert abs(_bar_x(_jpeg(fig)) - 3 * want % 300) <= 1
    assert _red_pixels(_jpeg(fig)) > 30  # the hips marked
