"""The Review page's workings, without Streamlit: demo clips, running the analysis on an upload, the per-rep
table and the plots (the exercise signal with rep boundaries; where in each rep the body strayed)."""
from __future__ import annotations

import logging
import shutil
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach.paths import data_root

log = logging.getLogger(__name__)

#: Bundled demos: clips of the shared data folder, when it is present (label, path under the data folder).
DEMO_CLIPS: tuple[tuple[str, str], ...] = (
    ("Jumping jacks: 3 reps, front view (9 s)", "more_exercises/kaiakol__computervision/jumpingjack_correct_007.mp4"),
    ("Shoulder press: 10 reps, front view (15 s)", "more_exercises/chauhan08__Fitness/shoulder-press.mp4"),
    ("Squats, side view", "workouttracker/videos/squats/squat_17.mp4"),
    ("Sit-ups: 10 reps, side view (39 s)", "more_exercises/Joe-Lo0716__pose_test/situp.mp4"),
    ("Lunges: 11 reps, side view (32 s)", "more_exercises/Ambaks__Nowva/lunge.mp4"),
    ("Push-ups, good form (PushFit)", "pushfit/videos/correct/correct51.mp4"),
    ("Push-ups, faulty form (PushFit)", "pushfit/videos/wrong/wrong100.mp4"),
)
UPLOAD_TYPES = ["mp4", "mov", "avi", "mkv", "webm", "m4v", "mpg", "mpeg", "3gp"]

GOOD_FILL = "#2e9e5b"
FAULT_FILL = "#d9534f"
PARTIAL_FILL = "#9e9e9e"


def demo_clips(root: Path | None = None) -> dict[str, Path]:
    """The demo clips found under the data folder (label -> path); empty when it is absent."""
    base = Path(root) if root is not None else data_root()
    return {label: base / rel for label, rel in DEMO_CLIPS if (base / rel).is_file()}


def save_upload(name: str, data, folder: Path) -> Path:
    """An uploaded file written to ``folder`` under a safe name with its suffix (OpenCV needs a file). ``data``:
    bytes, or a file object (Streamlit's upload), copied in chunks: a phone video of a whole session is hundreds of
    MB, and a second copy of it in memory is not needed."""
    suffix = Path(name).suffix.lower() or ".mp4"
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(name).stem)[:60] or "upload"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}{suffix}"
    with open(path, "wb") as f:
        if isinstance(data, (bytes, bytearray, memoryview)):
            f.write(data)
        else:
            data.seek(0)
            shutil.copyfileobj(data, f, 1 << 20)
    return path


@dataclass
class Review:
    """One analysed video kept for the page: the result, its working folder and the history sessions (one per
    exercise of the video).

    The folder goes with the review: when the page replaces it (:meth:`cleanup`), when Streamlit drops the browser
    session that held it (the review is garbage), or when the server stops (``weakref.finalize`` runs at exit).
    Without that, every visitor's last review stayed in the temporary folder for good."""

    name: str
    result: object  # coach.analyze.AnalysisResult
    work_dir: Path
    session_ids: list[int] = field(default_factory=list)
    kept_video: bool = False

    def __post_init__(self) -> None:
        self._remove = weakref.finalize(self, shutil.rmtree, str(self.work_dir), True)

    def cleanup(self) -> None:
        self._remove()


def analyse(video: Path, name: str, exercise: str = "auto", progress=None, person: str | None = None) -> Review:
    """Run :func:`coach.analyze.analyze_video` into a fresh working folder (removed with :meth:`Review.cleanup`).
    Raises :class:`coach.errors.CoachError` with a one-line message on bad input."""
    from coach.analyze import analyze_video
    from coach.workdirs import work_dir

    work = work_dir("coach-review-")
    try:
        result = analyze_video(video, work / "out", exercise=exercise, progress=progress or False,
                               title=name, person=person)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Review(name, result, work)


def save_review(history, profile, result, name: str, keep_video: bool) -> list[int]:
    """A review into the history: one session per exercise of the video (:meth:`AnalysisResult.all_parts`),
    sharing a workout id when there are several (the parts of one workout, in order). Returns the session ids."""
    from coach.history import new_workout_id

    parts = result.all_parts()
    workout = new_workout_id() if len(parts) > 1 else None
    return [history.add_analysis(profile, r, source=name, keep_video=keep_video, workout_id=workout,
                                 set_index=r.summary.get("part")) for r in parts]


# ----------------------------------------------------------------------------------------------------------------
def range_units(summary: dict, catalogue: dict | None = None) -> str:
    """The units of the exercise signal (the rep's range of motion), for column titles."""
    from coach.exercises import load_catalogue
    from coach.measures import MEASURES

    cat = catalogue if catalogue is not None else load_catalogue()
    ex = cat.get(summary.get("exercise") or "")
    if ex is None or ex.signal is None or ex.signal.measure not in MEASURES:
        return ""
    u = MEASURES[ex.signal.measure].units
    return {"deg": "deg", "body": "body lengths", "torso": "torso lengths", "thigh": "thigh lengths"}.get(u, u)


def rep_rows(summary: dict, catalogue: dict | None = None) -> list[dict]:
    """The per-rep table: time, quality, faults with evidence, cue, tempo, range, velocity."""
    units = range_units(summary, catalogue)
    rng = f"Range ({units})" if units else "Range"
    many = len(summary.get("sets") or []) > 1
    rows = []
    for r in summary.get("reps") or []:
        m = r.get("metrics") or {}
        if r.get("partial"):
            verdict = f"partial ({r.get('partial_reason') or 'cut short'})"
        else:
            verdict = ", ".join(d.get("name") or d.get("code") for d in r.get("fault_details") or []) or "good"
        rows.append({
            **({"Set": r.get("set")} if many else {}),
            "Rep": r["index"],
            "Time (s)": f"{r['start_s']:.1f}–{r['end_s']:.1f}",
            "Quality": None if r.get("partial") else r.get("quality"),
            "Faults": verdict,
            "Evidence": "; ".join(d.get("evidence") or "" for d in r.get("fault_details") or []),
            "Cue": r.get("cue") or "",
            "Down / up (s)": _tempo(m),
            rng: _sig(m.get("rom")),
            "Velocity (m/s)": _round(m.get("concentric_velocity_m_s"), 2),
        })
    return rows


def _tempo(m: dict) -> str:
    e, c = m.get("eccentric_s"), m.get("concentric_s")
    if e is None or c is None:
        return ""
    return f"{e:.1f} / {c:.1f}"


def _sig(v):
    """Two significant decimals for small values (torso lengths), whole numbers for degrees."""
    f = _round(v, 3)
    if f is None:
        return None
    return round(f) if abs(f) >= 20 else round(f, 2)


def _round(v, nd):
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return round(f, nd) if np.isfinite(f) else None


def video_columns(summary: dict) -> list[int]:
    """Widths of the report's video column and notes column: a phone video filmed upright gets a narrower column,
    so that it fits on a laptop's screen (at the landscape width it would stand about 1,000 px tall)."""
    v = summary.get("video") or {}
    w, h = v.get("width") or 0, v.get("height") or 0
    return [1, 2] if h > w > 0 else [3, 2]


def summary_figures(summary: dict) -> list[tuple[str, str]]:
    """The headline numbers: (label, value)."""
    s = summary
    st = s.get("set") or {}
    out = [("Exercise", (s.get("exercise_name") or "not recognised")
            + (" (recognised)" if s.get("exercise_source") == "recognised" else ""))]
    if s.get("kind") == "hold" and s.get("hold"):
        h = s["hold"]
        out += [("Held", f"{h['in_position_s']:.1f} s"), ("Good form", f"{h['good_form_s']:.1f} s"),
                ("Quality", str(h.get("quality", "")))]
        return out
    out.append(("Reps", f"{s.get('rep_count', 0)}" + (f" (+{s['partial_count']} partial)"
                                                         if s.get("partial_count") else "")))
    out.append(("Good reps", str(s.get("good_reps", 0))))
    many = len(s.get("sets") or []) > 1
    if many:
        out.append(("Sets", str(len(s["sets"]))))
    if st.get("mean_quality") is not None:
        out.append(("Mean quality", f"{st['mean_quality']:.0f}"))
    if st.get("velocity_loss_pct") is not None:
        out.append(("Velocity loss" + (" (most in a set)" if many else ""), f"{st['velocity_loss_pct']:.0f}%"))
    return out


def set_notes(summary: dict) -> list[str]:
    """Plain-language notes on the set: tempo, range, velocity, how often each fault came up."""
    from coach.analyze import set_line

    st = summary.get("set") or {}
    reps = summary.get("reps") or []
    sets = summary.get("sets") or []
    out = ["S" + set_line(x)[1:] for x in sets] if len(sets) > 1 else []
    if st.get("mean_eccentric_s") is not None and st.get("mean_concentric_s") is not None:
        out.append(f"Tempo: {st['mean_eccentric_s']:.1f} s down (lowering), {st['mean_concentric_s']:.1f} s up "
                   f"(lifting), {st.get('mean_duration_s') or 0:.1f} s per rep")
    if st.get("mean_concentric_velocity_m_s") is not None:
        v = f"Lifting speed: {st['mean_concentric_velocity_m_s']:.2f} m/s on average"
        if st.get("velocity_loss_pct") is not None:
            v += f", {st['velocity_loss_pct']:.0f}% slower on the last rep than on the fastest"
            v += " (in the set that slowed most)" if len(sets) > 1 else ""
        out.append(v)
    names = {}
    for r in reps:
        for d in r.get("fault_details") or []:
            names[d["code"]] = d.get("name") or d["code"]
    for code, n in sorted((st.get("fault_counts") or {}).items(), key=lambda kv: -kv[1]):
        out.append(f"{names.get(code, code.replace('_', ' '))}: {n} of {len(reps)} reps")
    strays = [(r["index"], r["model"]) for r in reps if r.get("model") and r["model"].get("deviation_joint")]
    for i, m in strays[:12]:
        ph = m.get("deviation_phase")
        when = "" if ph is None else (" early in the rep" if ph < 0.33 else " at the turn" if ph < 0.67
                                      else " late in the rep")
        label = m.get("label") or ""
        verdict = "" if label in ("", "correct") else f" (model: {label.replace('_', ' ')}, p={m.get('p_fault', 0):.2f})"
        out.append(f"Rep {i}: the {m['deviation_joint'].replace('_', ' ')} strayed most from the learned movement"
                   f"{when}{verdict}")
    full = [r for r in reps if not r.get("partial")]
    if full and not st.get("fault_counts"):
        out.append("No faults found: every rep was clean")
    partial = [r for r in reps if r.get("partial")]
    if partial:
        out.append(f"{len(partial)} partial rep{'s' if len(partial) != 1 else ''} (not counted): "
                   + ", ".join(sorted({r.get('partial_reason') or 'cut short' for r in partial})))
    return out


def hold_notes(summary: dict) -> list[str]:
    """A hold's notes: time in position and under good form, then seconds per fault (none for a rep exercise)."""
    h = summary.get("hold") if summary.get("kind") == "hold" else None
    if not h:
        return []
    return [f"Held {h['in_position_s']:.1f} s, {h['good_form_s']:.1f} s of it under good form",
            *(f"{code.replace('_', ' ').capitalize()}: {secs:.1f} s"
              for code, secs in (h.get("fault_s") or {}).items())]


def review_plots(result, catalogue: dict | None = None) -> list[tuple[str, bytes | None, str]]:
    """The plots of a review as PNG: ``(title, png or None, note)`` each; the Review page and the report show
    these (made once per analysis: :func:`coach.analyze.analyze_video` keeps them on its result). Plots are
    extras: one that cannot be drawn is a note, never an error."""
    if result.sequence is None or not len(result.sequence):  # a session kept without its landmarks
        return []
    plots = []
    try:
        fig = signal_figure(result, catalogue)
        if fig is not None:
            plots.append(("The exercise signal, rep by rep", figure_png(fig), ""))
        fig, note = deviation_figure(result, catalogue)
        title = ("The hold's measures against their limits" if result.summary.get("kind") == "hold"
                 else "Where in the rep it went wrong")
        if fig is not None or note:
            plots.append((title, None if fig is None else figure_png(fig), note))
    except Exception as e:
        log.exception("plotting failed")
        plots.append(("Plots", None, f"The plots could not be drawn ({type(e).__name__}: {e})."))
    return plots


def figure_png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------------------------
def _rep_spans(ax, reps: list[dict], label: bool = True) -> None:
    for r in reps:
        color = PARTIAL_FILL if r.get("partial") else (FAULT_FILL if r.get("faults") else GOOD_FILL)
        ax.axvspan(r["start_s"], r["end_s"], color=color, alpha=0.16, lw=0)
        ax.axvline(r["start_s"], color=color, lw=0.8, alpha=0.8)
        ax.axvline(r["end_s"], color=color, lw=0.8, alpha=0.8, ls="--")
        if r.get("turn_s") is not None:
            ax.axvline(r["turn_s"], color=color, lw=0.8, ls=":", alpha=0.9)
        if label:
            ax.text((r["start_s"] + r["end_s"]) / 2, 0.97, f"#{r['index']}", ha="center", va="top", fontsize=8,
                    color=color, transform=ax.get_xaxis_transform())


def part_span(summary: dict) -> tuple[float, float] | None:
    """Where in the video this summary's exercise is, when the video holds several (its ``parts``): (from, to)
    in seconds; None for a video of one exercise. Plots of a part show only its span."""
    parts, k = summary.get("parts"), summary.get("part")
    if not parts or not k:
        return None
    return float(parts[k - 1]["from_s"]), float(parts[k - 1]["to_s"])


def _in_span(summary: dict, t: np.ndarray, values: np.ndarray, ax) -> np.ndarray:
    """``values`` inside the part's span (NaN elsewhere; for the y limits), with the plot ``ax`` limited to it."""
    span = part_span(summary)
    if span is None:
        return values
    ax.set_xlim(*span)
    return np.where((t >= span[0]) & (t <= span[1]), values, np.nan)


def _figure(rows: int = 1, height: float = 3.0):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, height * rows), dpi=100, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, axes


def signal_figure(result, catalogue: dict | None = None):
    """The exercise's rep signal over time with each rep's start (solid), turn (dotted) and end (dashed);
    green = good rep, red = a fault, grey = partial. None when there is no signal (no exercise, a hold)."""
    from coach.exercises import load_catalogue
    from coach.measures import MEASURES, Frames, compute

    s = result.summary
    ex_id = s.get("exercise")
    cat = catalogue if catalogue is not None else load_catalogue()
    ex = cat.get(ex_id) if ex_id else None
    if ex is None or ex.signal is None:
        return None
    seq = result.sequence
    values = compute(ex.signal.measure, Frames.of(seq))
    fig, (ax,) = _figure(1, 3.2)
    ax.plot(seq.t_s, values, color="#1f5fa8", lw=1.4, label=ex.signal.measure)
    units = MEASURES[ex.signal.measure].units
    ax.set_ylabel(f"{ex.signal.measure.replace('_', ' ')}\n({'degrees' if units == 'deg' else units})")
    ax.set_xlabel("time (s)")
    values = _in_span(s, seq.t_s, values, ax)
    if np.isfinite(values).any():
        lo, hi = np.nanmin(values), np.nanmax(values)
        pad = 0.12 * (hi - lo if hi > lo else 1.0)
        ax.set_ylim(lo - pad, hi + 2 * pad)
    _rep_spans(ax, s.get("reps") or [])
    ax.set_title(f"{ex.name}: rep signal with rep start (solid), turning point (dotted), end (dashed)", fontsize=10,
                 loc="left")
    ax.grid(alpha=0.25)
    return fig


def deviation_figure(result, catalogue: dict | None = None):
    """Where the movement strayed: the trained simulator's per-joint error over time (a heatmap) when the
    exercise has a model, else the measures its fault rules check with their thresholds. Returns
    ``(figure or None, caption)``."""
    from coach.exercises import load_catalogue

    s = result.summary
    cat = catalogue if catalogue is not None else load_catalogue()
    ex = cat.get(s.get("exercise")) if s.get("exercise") else None
    if ex is None:
        return None, "No exercise was recognised, so there is nothing to compare the movement with."
    model = getattr(getattr(result, "coach", None), "_model", None)
    if model is not None:
        try:
            return _residual_figure(result, model), (
                "Per-joint deviation from the learned movement: how far each joint moved from where the trained "
                "simulator of correct reps expected it (brighter = further off; grey = joint not visible), with each "
                "rep's start (solid) and end (dashed).")
        except Exception as e:  # a model that cannot score this clip: fall back to the rule measures
            log.warning("residual plot failed: %s", e)
    fig = _rules_figure(result, ex)
    note = (f"There is no trained model for {ex.name.lower()} yet, so this shows the measures its fault rules "
            "check, over time, with each rule's limit (dashed). A rule judges one value per rep (at the turning "
            "point, its mean or its range), so a line crossing the limit marks where in the rep to look.")
    return fig, note


def _residual_figure(result, model):
    from coach.body import to_physics

    seq = result.sequence
    motion = to_physics(seq, model.simulator.skeleton)
    res = np.asarray(model.simulator.residuals(motion), np.float64)  # (T, J)
    joints = list(model.simulator.skeleton.joints)
    res = _smooth(res, seq.t_s, 0.2)
    fig, (ax,) = _figure(1, max(3.0, 0.28 * len(joints) + 1.2))
    t = seq.t_s
    finite = res[np.isfinite(res)]
    vmax = float(np.percentile(finite, 98)) if finite.size else 1.0
    import matplotlib

    cmap = matplotlib.colormaps["magma"].with_extremes(bad="#d9d9d9")  # grey: joint not visible
    im = ax.imshow(np.ma.masked_invalid(res.T), aspect="auto", origin="upper", cmap=cmap, vmin=0, vmax=vmax,
                   extent=(t[0], t[-1], len(joints) - 0.5, -0.5), interpolation="nearest")
    ax.set_yticks(range(len(joints)))
    ax.set_yticklabels([j.replace("_", " ") for j in joints], fontsize=8)
    for r in result.summary.get("reps") or []:
        ax.axvline(r["start_s"], color="white", lw=0.8)
        ax.axvline(r["end_s"], color="white", lw=0.8, ls="--")
        ax.text((r["start_s"] + r["end_s"]) / 2, -0.6, f"#{r['index']}", ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("time (s)")
    _in_span(result.summary, t, t, ax)  # (for its x limits)
    fig.colorbar(im, ax=ax, label="prediction error (m)", shrink=0.9)
    return fig


def _smooth(res: np.ndarray, t: np.ndarray, window_s: float) -> np.ndarray:
    """Mean over a centred window of ``window_s`` seconds, per joint, ignoring NaN (NaN where none is known)."""
    if len(t) < 3:
        return res
    dt = float(np.median(np.diff(t))) or 1 / 30
    k = max(1, int(round(window_s / dt)))
    if k <= 1:
        return res
    ok = np.isfinite(res)
    v = np.where(ok, res, 0.0)
    kern = np.ones(k)
    num = np.apply_along_axis(lambda c: np.convolve(c, kern, mode="same"), 0, v)
    den = np.apply_along_axis(lambda c: np.convolve(c, kern, mode="same"), 0, ok.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[den == 0] = np.nan
    out[~ok] = np.nan  # keep "not visible" visible
    return out


def _rules_figure(result, ex):
    from coach.measures import MEASURES, Frames, compute

    seq = result.sequence
    rules: dict[str, list] = {}
    for f in ex.faults:
        rules.setdefault(f.measure, []).append(f)
    if not rules:
        return None
    frames = Frames.of(seq)
    fig, axes = _figure(len(rules), 2.2)
    reps = result.summary.get("reps") or []
    for ax, (measure, rs) in zip(axes, rules.items()):
        v = compute(measure, frames)
        ax.plot(seq.t_s, v, color="#1f5fa8", lw=1.2)
        v = _in_span(result.summary, seq.t_s, v, ax)
        units = MEASURES[measure].units
        ax.set_ylabel(f"{measure.replace('_', ' ')}\n({'deg' if units == 'deg' else units})", fontsize=8)
        vals = [x for x in [*(r.threshold for r in rs)] if x is not None]
        if np.isfinite(v).any():
            lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
            lo, hi = min([lo, *vals]), max([hi, *vals])
            pad = 0.15 * (hi - lo if hi > lo else 1.0)
            ax.set_ylim(lo - pad, hi + 2 * pad)
        for r in rs:
            ax.axhline(r.threshold, color=FAULT_FILL, ls="--", lw=1)
            side = "above" if r.above is not None else "below"
            also = f" and {r.confirm.describe()}" if r.confirm else ""
            left = (part_span(result.summary) or (seq.t_s[0],))[0]
            ax.text(left, r.threshold, f" {r.name} if {side} ({r.at}){also}", color=FAULT_FILL, fontsize=7,
                    va="bottom")
        _rep_spans(ax, reps, label=ax is axes[0])
        ax.grid(alpha=0.25)
    axes[-1].set_xlabel("time (s)")
    axes[0].set_title(f"{ex.name}: the measures its fault rules check, with their limits", fontsize=10, loc="left")
    return fig


DOWNLOADS = (  # (files key, label, mime)
    ("report", "Report to print or send (HTML)", "text/html"),
    ("annotated_video", "Annotated video (MP4)", "video/mp4"),
    ("reps_csv", "Reps (CSV)", "text/csv"),
    ("summary", "Summary (JSON)", "application/json"),
    ("landmarks_csv", "Landmarks (CSV)", "text/csv"),
    ("landmarks_npz", "Landmarks (NPZ)", "application/octet-stream"),
    ("trc", "OpenSim markers (.trc)", "text/plain"),
    ("mot", "OpenSim joint angles (.mot)", "text/plain"),
)
