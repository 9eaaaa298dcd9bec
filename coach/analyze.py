"""Recorded video -> everything a coach or physiotherapist needs: landmarks, reps with faults and cues,
an annotated H.264 video, OpenSim exports and ``summary.json`` (the versioned contract described by
``assets/schemas/summary.schema.json``).

One pass over the video: pose -> :class:`~coach.session.Coach` (the same loop as live coaching) -> overlay ->
encoder. Overlay drawing and encoding run in a worker thread, overlapping the pose model. Outputs are written
into a staging folder beside ``out_dir`` and moved in when the analysis is complete, ``summary.json`` last:
nothing half-written is ever left under ``out_dir``; a re-run replaces the files it writes.

With the exercise on "auto", a video in which the person moves on to another exercise (jumping jacks, then
sit-ups) is analysed in parts, one per exercise, from the same pass: the first part's files are in ``out_dir``
as for one exercise, each further part's summary, reps and report in ``out_dir/part-<k>-<id>/``, and every
summary lists the parts (``parts``).
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2

from coach.errors import NoPersonError, OutputError
from coach.exercises import get_exercise, load_catalogue
from coach.history import REP_METRICS
from coach.overlay import CUE_COLORS, HIGHLIGHT
from coach.session import Coach, Feedback, follow
from coach.types import PoseResult, PoseSequence
from coach.video import VideoFileSource

log = logging.getLogger(__name__)

SUMMARY_SCHEMA = "coach.summary"
SUMMARY_VERSION = 1
FILES = {
    "summary": "summary.json",
    "report": "report.html",
    "reps_csv": "reps.csv",
    "annotated_video": "annotated.mp4",
    "landmarks_npz": "landmarks.npz",
    "landmarks_csv": "landmarks.csv",
    "trc": "markers.trc",
    "mot": "angles.mot",
}
#: Files of the whole video, written once (in the first part's folder) for every part of it.
SHARED_FILES = ("annotated_video", "landmarks_npz", "landmarks_csv", "trc", "mot")
VIDEO_MAX_SIDE = 854  # the annotated video's longer side, at most (pixels): HD input is encoded at 854x480

Progress = Callable[[float, str], None]


@dataclass
class AnalysisResult:
    out_dir: Path
    files: dict[str, Path]
    summary: dict
    sequence: PoseSequence
    coach: Coach | None = field(default=None, repr=False)
    plots: list | None = field(default=None, repr=False)  # coach.app_review.review_plots, made once
    parts: list["AnalysisResult"] = field(default_factory=list, repr=False)  # the further exercises (parts 2, ...)

    def all_parts(self) -> list["AnalysisResult"]:
        """This result and the further parts of the video: one per exercise, in order."""
        return [self, *self.parts]

    def report(self) -> str:
        """A short plain-text report for the terminal."""
        s = self.summary
        lines = [f"{Path(s['video']['path']).name}: {s['video']['duration_s']:.1f} s, person found on "
                 f"{100 * s['pose']['detected_fraction']:.0f}% of frames"]
        parts = s.get("parts") or []
        if len(parts) > 1:
            lines.append(f"{len(parts)} exercises, one after another: "
                         + "; ".join(part_line(p) for p in parts))
        for res in self.all_parts():
            if len(parts) > 1:
                p = parts[res.summary["part"] - 1]
                lines.append(f"part {p['part']} of {len(parts)} ({_clock(p['from_s'])}-{_clock(p['to_s'])}), "
                             f"in {res.out_dir}/:")
            lines += res._lines()
        lines.append(f"outputs in {self.out_dir}/: " + ", ".join(p.name for p in self.files.values())
                     + "".join(f" and {p.out_dir.name}/" for p in self.parts))
        return "\n".join(lines)

    def _lines(self) -> list[str]:
        s = self.summary
        lines = []
        if s["exercise"] is None:
            lines.append("exercise: not recognised (no rep of a catalogue exercise seen); pass --exercise")
        else:
            how = "recognised" if s["exercise_source"] == "recognised" else "given"
            lines.append(f"exercise: {s['exercise_name']} ({s['exercise']}, {how}), camera view: {s['view'] or '?'}")
        if s["kind"] == "hold" and s.get("hold"):
            h = s["hold"]
            lines.append(f"hold: {h['in_position_s']:.1f} s in position, {h['good_form_s']:.1f} s under good form "
                         f"(quality {h['quality']})")
            for code, secs in h["fault_s"].items():
                lines.append(f"  {code}: {secs:.1f} s")
        elif s["exercise"] is not None:
            sets = s.get("sets") or []
            many = len(sets) > 1
            lines.append(f"reps: {s['rep_count']} full ({s['good_reps']} good), {s['partial_count']} partial"
                         + (f", in {len(sets)} sets" if many else ""))
            heads = {st["reps"][0]: set_line(st) for st in sets} if many else {}
            for r in s["reps"]:
                if r["index"] in heads:
                    lines.append(heads[r["index"]])
                tag = f"partial ({r['partial_reason']})" if r["partial"] else f"quality {r['quality']:3d}"
                faults = "; ".join(d["evidence"] for d in r["fault_details"]) or "clean"
                cue = f"  -> {r['cue']}" if r["cue"] else ""
                lines.append(f"  #{r['index']:<2d} {r['start_s']:6.2f}-{r['end_s']:6.2f} s  {tag}  {faults}{cue}")
        for w in s["warnings"]:
            lines.append(f"warning: {w}")
        return lines


def part_line(p: dict) -> str:
    """One part of a video of several exercises (an entry of ``summary["parts"]``): "2. Sit-up / crunch: 3 reps
    (3 good), 0:10.8-0:22.0"."""
    what = (f"held {p['in_position_s']:.0f} s" if p.get("kind") == "hold"
            else f"{p['rep_count']} rep{'s' if p['rep_count'] != 1 else ''} ({p['good_reps']} good)")
    return f"{p['part']}. {p['exercise_name'] or 'not recognised'}: {what}, {_clock(p['from_s'])}-{_clock(p['to_s'])}"


def set_line(st: dict) -> str:
    """One set of :meth:`coach.session.Coach.sets` in a line: "set 2 (after 45 s rest): 8 reps, 6 good, ..."."""
    rest = f" (after {st['rest_before_s']:.0f} s rest)" if st.get("rest_before_s") is not None else ""
    parts = [f"{st['rep_count']} reps", f"{st['good_reps']} good"]
    if st.get("mean_duration_s") is not None:
        parts.append(f"{st['mean_duration_s']:.1f} s per rep")
    if st.get("velocity_loss_pct") is not None:
        parts.append(f"velocity loss {st['velocity_loss_pct']:.0f}%")
    return f"set {st['index']}{rest}: " + ", ".join(parts)


def _staging_dir(out_dir: Path) -> Path:
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        if out_dir.exists() and not out_dir.is_dir():
            raise OutputError(f"{out_dir} exists and is not a folder; choose another --out")
        stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
        out_dir.mkdir(exist_ok=True)
        probe = out_dir / ".coach-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OutputError:
        raise
    except OSError as e:
        raise OutputError(f"cannot write to {out_dir} ({e.strerror or e}); choose a writable folder with --out") \
            from None
    return stage


class _Renderer(threading.Thread):
    """Draws the overlay and encodes frames in a worker thread (both release the GIL in C)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], max_side: int = VIDEO_MAX_SIDE):
        super().__init__(daemon=True, name="coach-video-writer")
        from coach.video import AnnotatedVideoWriter

        self.q: queue.Queue = queue.Queue(maxsize=16)
        self.error: BaseException | None = None
        w, h = size
        self.scale = min(1.0, max_side / max(w, h)) if max_side else 1.0
        out = (round(w * self.scale), round(h * self.scale))
        # One encoder thread, the fastest preset: the other core is the pose model's, and the review video
        # needs to be sharp, not small.
        self._writer = AnnotatedVideoWriter(path, fps, out, threads=1, preset="ultrafast")

    def run(self) -> None:
        from coach.overlay import annotate

        try:  # yield the CPU to the pose model: encoding takes what it leaves and catches up at the end
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        try:
            with self._writer as w:
                while True:
                    item = self.q.get()
                    if item is None:
                        break
                    image, t_s, pose, lines, highlight = item
                    if self.scale < 1.0:
                        # bilinear: a tenth of INTER_AREA's time at these modest (<= 2.25x) reductions
                        image = cv2.resize(image, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_LINEAR)
                    w.write(annotate(image, pose, lines, highlight), t_s)
        except BaseException as e:  # reported to the main thread
            self.error = e
            while True:  # drain so the producer never blocks
                try:
                    if self.q.get_nowait() is None:
                        break
                except queue.Empty:
                    break

    def put(self, item) -> None:
        if self.error is not None:
            raise self.error
        self.q.put(item)

    def finish(self) -> None:
        self.q.put(None)
        self.join()
        if self.error is not None:
            raise self.error


def _prefetch(frames, depth: int = 8):
    """Decode ahead in a worker thread (OpenCV releases the GIL while decoding), so the pose model never waits
    for the next frame. Errors of the reader surface in the caller, in order."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def reader() -> None:
        try:
            for fr in frames:
                q.put(fr)
            q.put(done)
        except BaseException as e:  # re-raised by the consumer
            q.put(e)

    threading.Thread(target=reader, daemon=True, name="coach-video-reader").start()
    while True:
        item = q.get()
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def hud_lines(fb: Feedback) -> list:
    """What the annotated video (and the live view) shows: exercise, reps, the current cue or prompt."""
    lines: list = []
    if fb.exercise:
        lines += _count_lines(fb.exercise_name, fb.recognised, fb.hold, fb.rep_count, fb.partial_count)
    elif fb.status == "recognising":
        lines.append("Recognising the exercise...")
    if fb.status in ("no_person", "not_visible") and fb.message:
        lines.append((fb.message, CUE_COLORS["setup"]))
    elif fb.display_cue is not None:
        lines.append((fb.display_cue.text, CUE_COLORS.get(fb.display_cue.kind, (255, 255, 255))))
    return lines


def _count_lines(name: str, recognised: bool, hold, rep_count: int, partial_count: int) -> list[str]:
    """The HUD's first lines: the exercise, then the hold's timer (``hold``: a HoldReport) or the rep count."""
    lines = [name + (" (recognised)" if recognised else "")]
    if hold is not None:
        lines.append(f"Hold {hold.in_position_s:4.1f} s  good form {hold.good_form_s:4.1f} s")
    else:
        extra = f"  (+{partial_count} partial)" if partial_count else ""
        lines.append(f"Reps: {rep_count}{extra}")
    return lines


def analyze_video(video: str | os.PathLike, out_dir: str | os.PathLike, exercise: str = "auto",
                  pose_model: str | os.PathLike | None = None, num_poses: int = 1, write_video: bool = True,
                  progress: bool | Progress = True, use_model: bool = True, models=None,
                  title: str | None = None, person: str | None = None) -> AnalysisResult:
    """``title``: the video's name as the user knows it, for the report (an upload is read from a working copy);
    ``person``: whose session it is, for the report."""
    video, out_dir = Path(video), Path(out_dir)
    catalogue = load_catalogue()
    if exercise not in (None, "", "auto"):
        get_exercise(exercise, catalogue)  # unknown id: fail before reading the video
    src = VideoFileSource(video)  # missing / unreadable: fails here, before anything is written
    from coach.pose import PoseEstimator

    estimator = PoseEstimator(pose_model, num_poses=num_poses)
    made_out_dir = not out_dir.exists()
    stage = _staging_dir(out_dir)
    coaches = [Coach(exercise, catalogue=catalogue, models=models, use_model=use_model,
                     image_size=(src.info.width, src.info.height))]
    results: list[PoseResult] = []
    renderer = None
    bar = None
    try:
        if write_video:
            renderer = _Renderer(stage / FILES["annotated_video"], src.info.fps, (src.info.width, src.info.height))
            renderer.start()
        total, length = len(src) or None, src.info.duration_s
        if progress is True:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="frame", desc=f"analysing {video.name}", leave=False)
        last_image, fb = None, None
        for fr in _prefetch(src):
            last_image = fr.image
            res = estimator(fr.image, fr.t_s)
            results.append(res)
            fb = follow(coaches).process(res)  # a new part when the person moved on to another exercise
            if renderer is not None:
                hl = {j: HIGHLIGHT for j in fb.highlight}
                renderer.put((fr.image, fr.t_s, res.primary, hud_lines(fb), hl))
            if bar is not None:
                bar.update(1)
            elif callable(progress) and length and fr.index % 5 == 0:  # by time: a WebM's frame count is a guess
                progress(min(fr.t_s / length, 0.99), f"{fr.t_s:.0f} s of {length:.0f} s")
        coach = follow(coaches)
        n_cues = len(coach.cue_log)
        coach.finish()
        if renderer is not None:
            if results and (len(coach.cue_log) > n_cues or coach.reports):
                _end_card(renderer, coach, last_image, results[-1], src.info.fps, fb.hold if fb else None)
            renderer.finish()
            renderer = None
        seq = PoseSequence.from_results(results, src.info.fps, source=str(video),
                                        image_size=(src.info.width, src.info.height))
        if not seq.present.any():
            raise NoPersonError(f"nobody was visible in {video}: film the whole body in good light and try again")
        if callable(progress):
            progress(0.99, "writing the report and the files")
        results = _write_outputs(stage, seq, coaches, src, estimator, num_poses, title, person)
        files = _move_into(stage, out_dir, [r.out_dir.name for r in results[1:]])
        if callable(progress):
            progress(1.0, "done")
        first = results[0]
        first.out_dir, first.files = out_dir, files
        for r in results[1:]:
            r.out_dir = out_dir / r.out_dir.name
            shared = {k: v for k, v in files.items() if k in SHARED_FILES}
            r.files = {**shared, **{k: r.out_dir / FILES[k] for k in r.files}}
        first.parts = results[1:]
        return first
    finally:
        if bar is not None:
            bar.close()
        if renderer is not None:  # failed mid-way: stop the worker, drop its half-written file
            renderer.q.put(None)
            renderer.join(timeout=10)
        estimator.close()
        shutil.rmtree(stage, ignore_errors=True)
        if made_out_dir and out_dir.is_dir() and not any(out_dir.iterdir()):  # failed: no empty folder left
            out_dir.rmdir()


def _end_card(renderer: _Renderer, coach: Coach, image, last: PoseResult, fps: float, hold=None,
              seconds: float = 1.0) -> None:
    """Hold the last frame for a moment with the final count and the last cue: a rep that ends with the
    recording is only confirmed after it, and the video should agree with the report. ``hold``: the last
    HoldReport of a hold, shown in place of a rep count."""
    lines: list = []
    ex = coach.exercise
    if ex is not None:
        lines += _count_lines(ex.name, coach.recognised, hold if ex.kind == "hold" else None, coach.rep_count,
                              coach.partial_count)
    if coach.cue_log:
        cue = coach.cue_log[-1]
        lines.append((cue.text, CUE_COLORS.get(cue.kind, (255, 255, 255))))
    lines.append("End of video")
    # Two frames: the card, and the card again ``seconds`` later; a player shows the first until the second.
    for t_s in (last.t_s + 1.0 / fps, last.t_s + seconds):
        renderer.put((image, t_s, last.primary, lines, {}))


def _move_into(stage: Path, out_dir: Path, parts: list[str]) -> dict[str, Path]:
    """The files of ``stage`` into ``out_dir``, then the part folders ``parts``; part folders of an earlier run
    go (they would not match this summary); ``summary.json`` last."""
    for old in out_dir.glob("part-*"):
        if old.is_dir() and re.fullmatch(r"part-\d+-[\w-]+", old.name) and (old / FILES["summary"]).is_file():
            shutil.rmtree(old)
    for name in parts:
        os.replace(stage / name, out_dir / name)
    files = {}
    for key, name in FILES.items():
        if key == "summary":
            continue
        src = stage / name
        if src.exists():
            os.replace(src, out_dir / name)
            files[key] = out_dir / name
        elif (out_dir / name).exists():
            (out_dir / name).unlink()  # a stale file from an earlier run would not match this summary
    os.replace(stage / FILES["summary"], out_dir / FILES["summary"])
    files["summary"] = out_dir / FILES["summary"]
    return files


def _write_outputs(stage: Path, seq: PoseSequence, coaches: list[Coach], src: VideoFileSource, estimator,
                   num_poses: int, title: str | None = None,
                   person: str | None = None) -> list[AnalysisResult]:
    """Every file but the video into ``stage``: the landmarks, and for each coach (one per exercise, in order)
    its summary, reps and report, the first in ``stage``, the others in part folders. Returns the results of the
    parts (``out_dir``: where each was written; ``files``: its own files), with their plots (made once, for the
    report and the Review page)."""
    from coach.export import write_mot, write_trc
    from coach.io import save_csv, save_npz

    warnings = []
    save_npz(seq, stage / FILES["landmarks_npz"])
    save_csv(seq, stage / FILES["landmarks_csv"])
    write_trc(seq, stage / FILES["trc"])
    try:
        write_mot(seq, stage / FILES["mot"])
    except Exception as e:  # too few known angles for a usable file: say so, keep the rest
        warnings.append(f"no .mot written: {e}")
    if seq.detected_fraction < 0.8:
        warnings.append(f"a person was found on only {100 * seq.detected_fraction:.0f}% of frames; results may "
                        f"miss reps (film the whole body, in good light)")
    parts = _parts(seq, coaches, src.info.fps) if len(coaches) > 1 else None
    out = []
    for k, coach in enumerate(coaches, start=1):
        folder = stage if k == 1 else stage / Path(parts[k - 1]["summary"]).parent
        folder.mkdir(exist_ok=True)
        summary = build_summary(seq, coach, src.info, estimator.model_path, num_poses, warnings, parts,
                                k if parts else None)
        _write_reps_csv(folder / FILES["reps_csv"], summary["reps"])
        result = AnalysisResult(folder, {}, summary, seq, coach)
        try:
            from coach.app_review import review_plots
            from coach.report import write_report

            result.plots = review_plots(result, coach.catalogue)
            write_report(folder / FILES["report"], result, src.path, coach.catalogue, title, person)
        except Exception as e:  # the report is one view of the results: say so, keep the rest
            log.exception("report failed")
            summary["warnings"].append(f"no report.html written ({type(e).__name__}: {e})")
        # the staging folder is new: what exists in it is what this run wrote (no video unless it was asked for)
        own = {k: v for k, v in FILES.items() if (folder / v).exists() or k == "summary"}
        summary["files"] = own
        (folder / FILES["summary"]).write_text(json.dumps(summary, indent=1, ensure_ascii=False))
        result.files = {k: folder / v for k, v in own.items() if k not in SHARED_FILES}
        out.append(result)
    return out


def _parts(seq: PoseSequence, coaches: list[Coach], fps: float) -> list[dict]:
    """The parts of a video of several exercises, one per coach: which exercise, from and to when (s), its
    counts, and where its summary is. A part begins with its first rep (or its hold), where the coach before
    it saw the change if it has none, never before the last rep of the part before; it ends where the next
    begins."""
    end = float(seq.t_s[-1]) + 1.0 / fps
    starts = [float(seq.t_s[0])]
    for prev, nxt in zip(coaches, coaches[1:]):
        hold = nxt.set_summary()["hold"]
        span = hold["in_position_span_s"] if hold else None
        first = min([r.rep.start_s for r in nxt.reports] + ([span[0]] if span else []), default=prev.switch[1])
        last_end = max((r.rep.end_s for r in prev.reports), default=starts[-1])
        starts.append(max(first, last_end, starts[-1]))
    out = []
    for k, (coach, a, b) in enumerate(zip(coaches, starts, starts[1:] + [end]), start=1):
        ex, st = coach.exercise, coach.set_summary()
        folder = "" if k == 1 else f"part-{k}-{ex.id if ex else 'none'}/"
        out.append({"part": k, "exercise": ex.id if ex else None, "exercise_name": ex.name if ex else None,
                    "kind": ex.kind if ex else None, "from_s": round(a, 3), "to_s": round(b, 3),
                    "rep_count": st["rep_count"], "good_reps": st["good_reps"],
                    "in_position_s": round(st["hold"]["in_position_s"], 2) if st.get("hold") else None,
                    "summary": folder + FILES["summary"]})
    return out


def _clock(seconds: float) -> str:
    """A time in a recording as m:ss.s (59.97 s is 1:00.0, not 0:60.0)."""
    m, s = divmod(round(float(seconds), 1), 60)
    return f"{int(m)}:{s:04.1f}"


def build_summary(seq: PoseSequence, coach: Coach, info, pose_model: Path, num_poses: int,
                  warnings: list[str], parts: list[dict] | None = None, part: int | None = None) -> dict:
    """The summary of ``coach``'s exercise in a video. ``parts`` (see :func:`_parts`): the video's exercises
    when there are several, ``part`` the number of this one; without them a change of exercise is a warning
    that the rest of the video is not counted here."""
    from coach import __version__

    ex = coach.exercise
    reps = coach.rep_dicts()
    not_counted = [{"turn_s": round(r.turn_s, 3), "reason": "not in the exercise's position" if why == "posture"
                    else why} for r, why in coach.rejected]
    if ex is not None and not_counted:
        warnings = warnings + [f"{len(not_counted)} movement(s) were not counted as {ex.name.lower()} reps "
                               f"({'; '.join(sorted({n['reason'] for n in not_counted}))})"]
    change = None
    if ex is not None and coach.switch is not None:
        other, since = coach.switch
        change = {"exercise": other.id, "exercise_name": other.name, "from_s": round(since, 3)}
        if parts is None:
            warnings = warnings + [f"from {_clock(since)} this looks like {other.name.lower()}, "
                                   f"which is not counted here: analyse the video again with the exercise set to "
                                   f"{other.name} ({other.id}) to count it"]
    set_summary = coach.set_summary()
    return {
        "schema": SUMMARY_SCHEMA, "schema_version": SUMMARY_VERSION, "coach_version": __version__,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "video": {"path": str(info.path), "fps": round(info.fps, 4), "frames": len(seq),
                  "duration_s": round(float(seq.t_s[-1] - seq.t_s[0]) + 1.0 / info.fps, 3),
                  "width": info.width, "height": info.height},
        "pose": {"model": Path(pose_model).name, "num_poses": num_poses,
                 "detected_fraction": round(seq.detected_fraction, 4)},
        "exercise": ex.id if ex else None, "exercise_name": ex.name if ex else None,
        "exercise_source": "none" if ex is None else ("recognised" if coach.recognised else "given"),
        "kind": ex.kind if ex else None, "view": coach.view or _whole_view(seq),
        "model": _model_info(coach),
        "rep_count": set_summary["rep_count"], "partial_count": set_summary["partial_count"],
        "good_reps": set_summary["good_reps"],
        "set": {k: v for k, v in set_summary.items() if k != "hold"},
        "sets": coach.sets(),
        "reps": reps,
        "not_counted": not_counted,
        "exercise_change": change,
        "part": part, "parts": parts,
        "hold": set_summary["hold"],
        "cues": [c.to_dict() for c in coach.cue_log],
        "warnings": list(warnings),  # its own: a part's report may add to it
    }


def _whole_view(seq: PoseSequence) -> str | None:
    from coach.diagnosis import camera_view
    from coach.measures import Frames

    return (camera_view(Frames.of(seq)) or None) if seq.present.any() else None


def _model_info(coach: Coach) -> dict | None:
    m = coach._model
    if m is None:
        return None
    m.ready()
    return {"exercise": m.exercise, "has_classifier": m.classifier is not None, "threshold": m.fault_threshold,
            "path": str(m.path) if m.path else None}


# New columns go at the end: a script that reads the columns by position still works.
REPS_CSV_COLUMNS = ["index", "start_s", "turn_s", "end_s", "partial", "partial_reason", "quality", "faults", "cue",
                    "evidence", *REP_METRICS, "set"]


def _write_reps_csv(path: Path, reps: list[dict]) -> None:
    def cell(v):
        return "" if v is None else v

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(REPS_CSV_COLUMNS)
        for r in reps:
            m = r["metrics"]
            w.writerow([r["index"], r["start_s"], r["turn_s"], r["end_s"], int(r["partial"]),
                        r["partial_reason"] or "", r["quality"], ";".join(r["faults"]), r["cue"],
                        " | ".join(d["evidence"] for d in r["fault_details"]),
                        *(cell(m.get(k)) for k in REP_METRICS), cell(r.get("set"))])
