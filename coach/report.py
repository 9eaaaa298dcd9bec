"""A reviewed video as one HTML file to print or send: what a coach or physiotherapist gives a client.

Self-contained (pictures inside the file, no script, nothing fetched from anywhere), so it opens offline in any
browser and prints on paper. It holds the headline figures, the notes on the set, a picture of each rep with a
fault at its turning point (the joints at fault marked) beside the cleanest rep for comparison, the rep-by-rep
table, and the plots of the Review page.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MAX_PICTURES = 24  # reps with a fault shown as a picture, at most (the table lists them all)
PICTURE_SIDE = 480  # a picture's longer side, pixels
FAULT_MARK = (217, 83, 79)  # the joints at fault (RGB), the report's fault colour

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d232b; margin: 2rem auto;
       max-width: 1040px; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.meta { color: #5b6470; margin-top: 0; }
.figures { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0; }
.figures div { border: 1px solid #d8dde3; border-radius: 6px; padding: .5rem .9rem; min-width: 7rem; }
.figures b { display: block; font-size: 1.4rem; } .figures span { color: #5b6470; font-size: .85rem; }
.warning { background: #fff6db; border-left: 4px solid #e0a800; padding: .4rem .8rem; margin: .4rem 0; }
.pictures { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1rem; }
figure { margin: 0; border: 1px solid #d8dde3; border-radius: 6px; overflow: hidden; break-inside: avoid; }
figure img { width: 100%; display: block; } figcaption { padding: .5rem .7rem; font-size: .9rem; }
figure.good { border-color: #2e9e5b; } figure.fault { border-color: #d9534f; }
.cue { font-style: italic; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { border-bottom: 1px solid #e3e7ec; padding: .3rem .4rem; text-align: left; vertical-align: top; }
th { background: #f3f5f8; } td.q-good { color: #1e7a44; font-weight: 600; } td.q-fault { color: #b3322e; }
img.plot { width: 100%; border: 1px solid #e3e7ec; }
.small { color: #5b6470; font-size: .85rem; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr, figure { break-inside: avoid; } }
"""


def write_report(path: str | os.PathLike, result, video: str | os.PathLike | None = None,
                 catalogue: dict | None = None, title: str | None = None, person: str | None = None) -> Path:
    """Write the report of ``result`` (a :class:`coach.analyze.AnalysisResult`: its summary, landmark sequence
    and coach) to ``path``. ``video``: the analysed video, for the pictures of reps (none without it).
    ``title``: the video's name as the user knows it (an upload is analysed under a working name); ``person``:
    whose session it is."""
    path = Path(path)
    path.write_text(report_html(result, video, catalogue, title, person), encoding="utf-8")
    return path


def session_report(session: dict, catalogue: dict | None = None) -> str:
    """A session of the history (:meth:`coach.history.History.session`) as a report: its stored results, its
    landmarks for the plots, and its kept annotated video (if the user kept it) for the pictures."""
    from types import SimpleNamespace

    from coach.io import load_npz

    summary = dict(session.get("summary") or {})
    summary["reps"] = session.get("reps") or []
    for key, col in (("exercise", "exercise"), ("exercise_name", "exercise_name"),
                     ("exercise_source", "exercise_source"), ("kind", "exercise_kind"), ("view", "view"),
                     ("rep_count", "rep_count"), ("partial_count", "partial_count"), ("good_reps", "good_reps")):
        if summary.get(key) is None:
            summary[key] = session.get(col)
    seq = None
    if session.get("landmarks_path") and Path(session["landmarks_path"]).is_file():
        try:
            seq = load_npz(session["landmarks_path"])
        except Exception as e:  # the results stand without the plots
            log.warning("landmarks of session %s unreadable: %s", session.get("id"), e)
    video = session.get("video_path")
    video = video if video and Path(video).is_file() else None
    if session.get("kind") == "live":
        title = f"Live set {session['set_index']}" if session.get("set_index") else "Live set"
        when = ("trained", session.get("started_utc"))
    else:
        title = session.get("source") or "Video review"
        when = ("analysed", summary.get("created_utc") or session.get("started_utc"))
    result = SimpleNamespace(summary=summary, sequence=seq, coach=None)
    return report_html(result, video, catalogue, title, session.get("profile"), when, video_annotated=True)


def report_html(result, video: str | os.PathLike | None = None, catalogue: dict | None = None,
                title: str | None = None, person: str | None = None,
                when: tuple[str, str | None] | None = None, video_annotated: bool = False) -> str:
    """The report as a page. ``when``: (verb, ISO time) for its date line, ("analysed", the summary's
    ``created_utc``) by default. ``video_annotated``: ``video`` is the annotated video (a session's kept copy),
    whose frames have the skeleton already: the pictures only mark the joints at fault on them."""
    from coach.app_review import hold_notes, rep_rows, review_plots, set_notes, summary_figures
    from coach.exercises import load_catalogue

    cat = catalogue if catalogue is not None else load_catalogue()
    s = result.summary
    name = title or Path((s.get("video") or {}).get("path") or "video").name
    ex = s.get("exercise_name") or "exercise not recognised"
    how = " (recognised)" if s.get("exercise_source") == "recognised" else ""
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(name)}: {e(ex)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{e(name)}: {e(ex)}{e(how)}</h1>", f'<p class="meta">{e(_meta_line(s, person, when))}</p>',
           '<div class="figures">']
    for label, value in summary_figures(s):
        if label != "Exercise":
            out.append(f"<div><b>{e(str(value))}</b><span>{e(label)}</span></div>")
    out.append("</div>")
    parts = s.get("parts") or []
    if len(parts) > 1 and s.get("part"):
        from coach.analyze import part_line

        out.append(f'<p>Part {s["part"]} of {len(parts)} of this video, one exercise after another (each part has '
                   "its report):</p><ul>" + "".join(f"<li>{'<b>' if p['part'] == s['part'] else ''}"
                                                  f"{e(part_line(p))}{'</b>' if p['part'] == s['part'] else ''}"
                                                  f"</li>" for p in parts) + "</ul>")
    for w in s.get("warnings") or []:
        out.append(f'<p class="warning">{e(w)}</p>')
    if s.get("exercise") is None:
        out.append('<p class="warning">No rep of a known exercise was recognised: analyse the video again with '
                   "the exercise chosen.</p>")
    notes = set_notes(s) + hold_notes(s)
    if notes:
        out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    try:
        out += _pictures(result, video, cat, video_annotated)
    except Exception as err:  # pictures are extras: the report stands without them
        log.exception("report pictures failed")
        out.append(f'<p class="small">The pictures of the reps could not be made ({e(type(err).__name__)}: '
                   f"{e(str(err))}).</p>")
    rows = rep_rows(s, cat)
    if rows:
        out.append("<h2>Rep by rep</h2>" + _table(rows))
    plots = getattr(result, "plots", None)
    for title, png, note in plots if plots is not None else review_plots(result, cat):
        out.append(f"<h2>{e(title)}</h2>" + (f'<p class="small">{e(note)}</p>' if note else "")
                   + ('<img class="plot" alt="plot" src="data:image/png;base64,'
                      f'{base64.b64encode(png).decode()}">' if png is not None else ""))
    version = f" {s['coach_version']}" if s.get("coach_version") else ""
    out.append(f'<p class="small">Made by coach{e(version)} on this computer. Positions are estimated from one '
               "camera: distances and angles are approximate, most of all for joints turned away from it.</p>"
               "</body></html>")
    return "\n".join(out)


def _meta_line(s: dict, person: str | None = None, when: tuple[str, str | None] | None = None) -> str:
    v = s.get("video") or {}
    parts = [person] if person else []
    verb, iso = when or ("analysed", s.get("created_utc"))
    try:
        t = _dt.datetime.fromisoformat(iso).astimezone()
        parts.append(f"{verb} {t:%Y-%m-%d %H:%M}")
    except (TypeError, ValueError):
        pass
    if v.get("duration_s") is not None:
        parts.append(f"{v['duration_s']:.0f} s of video")
    if s.get("view"):
        parts.append(f"{s['view']} view")
    return " · ".join(parts)


def _table(rows: list[dict]) -> str:
    e = html.escape
    cols = [c for c in rows[0] if any(r.get(c) not in (None, "") for r in rows)]
    out = ["<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr></thead><tbody>"]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            cls = ""
            if c == "Quality" and v is not None:
                cls = ' class="q-good"' if r.get("Faults") == "good" else ' class="q-fault"'
            cells.append(f"<td{cls}>{'' if v is None else e(str(v))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def chosen_reps(summary: dict) -> tuple[list[dict], dict | None]:
    """The reps the report pictures: those with a fault (the first :data:`MAX_PICTURES`, in order), and the
    cleanest full rep for comparison (the best quality, the earliest of equals; None without a full rep)."""
    full = [r for r in summary.get("reps") or [] if not r.get("partial")]
    faulty = [r for r in full if r.get("faults")][:MAX_PICTURES]
    best = min(full, key=lambda r: (-(r.get("quality") or 0), r["index"]), default=None)
    if best is not None and best.get("faults") and faulty:
        best = None  # every rep has a fault: the pictures above already show the best of them
    return faulty, best


@dataclass
class _Shot:
    """A picture to take: its heading, the lines beneath it, the cue, and the landmarks to mark."""

    label: str
    lines: list[str]
    cue: str = ""
    faulty: bool = False
    marks: tuple[str, ...] = ()


def _pictures(result, video, catalogue: dict, annotated: bool = False) -> list[str]:
    s, seq = result.summary, result.sequence
    if video is None or not Path(video).is_file() or seq is None or not len(seq):
        return []
    ex = catalogue.get(s.get("exercise") or "")
    shots: dict[int, _Shot] = {}  # frame -> what to show, in the order shown
    intro = ""
    if s.get("kind") == "hold":
        h = s.get("hold") or {}
        details = {d["code"]: d for d in h.get("faults") or []}
        for code, t in sorted((h.get("fault_at_s") or {}).items(), key=lambda kv: kv[1]):
            d = details.get(code) or {"code": code}
            secs = (h.get("fault_s") or {}).get(code)
            shots.setdefault(_nearest(seq.t_s, t), _Shot(
                f"{d.get('name') or code} (where it was worst)",
                [d.get("evidence") or "", f"{secs:.1f} s of the hold" if secs is not None else ""],
                _rule_cue(ex, code), True, _marks(ex, d)))
        span = h.get("in_position_span_s")
        if not shots and span:  # no fault: the middle of the time in position
            shots[_nearest(seq.t_s, (span[0] + span[1]) / 2)] = _Shot("In position", ["Clean: no fault found"])
        head = "The hold"
        if shots and any(x.faulty for x in shots.values()):
            intro = '<p class="small">Each fault where it was worst; the joints at fault are marked in red.</p>'
    else:
        faulty, best = chosen_reps(s)
        many = len(s.get("sets") or []) > 1

        def which(r: dict) -> str:  # "rep 12 (set 2)" in a video of several sets
            return f"rep {r['index']}" + (f" (set {r['set']})" if many and r.get("set") else "")

        def shot(label: str, r: dict) -> _Shot:
            details = r.get("fault_details") or []
            lines = [f"{d.get('name') or d['code']}: {d.get('evidence') or ''}" for d in details]
            marks = tuple(dict.fromkeys(j for d in details for j in _marks(ex, d, r)))
            return _Shot(f"{label} · quality {r.get('quality')}", lines or ["Clean: no fault found"],
                         r.get("cue") or "", bool(details), marks)

        for r in faulty:
            shots.setdefault(_nearest(seq.t_s, r["turn_s"]), shot(which(r).capitalize(), r))
        if best is not None:
            label = f"For comparison: {which(best)}" if faulty else which(best).capitalize()
            shots.setdefault(_nearest(seq.t_s, best["turn_s"]), shot(label, best))
        head = "Reps to look at" if faulty else "The best rep"
        if faulty:
            intro = ('<p class="small">Each picture is the rep\'s turning point; the joints at fault are marked in '
                     "red.</p>")
    if not shots:
        return []
    from coach.video import VideoFileSource

    figs = {}
    for fr in VideoFileSource(video, max_side=PICTURE_SIDE).pick(shots):
        figs[fr.index] = _figure_html(fr.image, seq.frame(fr.index), shots[fr.index], float(seq.t_s[fr.index]),
                                      annotated)
    if not figs:
        return []
    return [f"<h2>{head}</h2>", intro, '<div class="pictures">', *(figs[i] for i in shots if i in figs), "</div>"]


def _nearest(t_s: np.ndarray, t: float) -> int:
    i = int(np.searchsorted(t_s, t))
    if i > 0 and (i == len(t_s) or abs(t_s[i - 1] - t) <= abs(t_s[i] - t)):
        i -= 1
    return i


def _marks(ex, detail: dict, rep: dict | None = None) -> tuple[str, ...]:
    """The landmarks a fault is about: those of its rule's measure; for the learned model's, the joint that
    strayed most (a skeleton joint of the model's own by the landmarks it is made of)."""
    from coach.diagnosis import measure_joints, strayed_landmarks

    if detail.get("source") == "model":
        return strayed_landmarks(((rep or {}).get("model") or {}).get("deviation_joint"))
    try:
        return measure_joints(ex.fault(detail["code"]).measure) if ex is not None else ()
    except KeyError:
        return ()


def _rule_cue(ex, code: str) -> str:
    try:
        return ex.fault(code).cue if ex is not None else ""
    except KeyError:
        return ""


def _figure_html(image: np.ndarray, pose, shot: _Shot, t_s: float, annotated: bool = False) -> str:
    import cv2

    from coach.overlay import draw_skeleton

    e = html.escape
    pic = draw_skeleton(image, pose, highlight={j: FAULT_MARK for j in shot.marks}, marks_only=annotated)
    ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(pic, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        return ""
    src = "data:image/jpeg;base64," + base64.b64encode(jpg.tobytes()).decode("ascii")
    label, _, rest = shot.label.partition(" · ")
    lines = [f"<b>{e(label)}</b> · {t_s:.1f} s" + (f" · {e(rest)}" if rest else "")]
    lines += [e(x) for x in shot.lines if x]
    if shot.cue:
        lines.append(f'<span class="cue">“{e(shot.cue)}”</span>')
    return (f'<figure class="{"fault" if shot.faulty else "good"}"><img src="{src}" alt="{e(label)}"><figcaption>'
            + "<br>".join(lines) + "</figcaption></figure>")
