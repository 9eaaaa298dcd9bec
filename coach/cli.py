"""The ``coach`` command line: ``coach analyze VIDEO``, ``coach train``, ``coach evaluate``, ...

Errors a user can cause print one line (``coach: error: ...`` saying what to do) and exit non-zero, without a
traceback (``--debug`` shows it).
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from coach.errors import CoachError

log = logging.getLogger("coach")


def _add_analyze(sub) -> None:
    p = sub.add_parser("analyze", help="analyse a recorded video: landmarks, reps, faults, annotated video",
                       description="Analyse a recorded exercise video. Writes landmarks (.npz, .csv), an annotated "
                                   "H.264 MP4, OpenSim .trc/.mot exports, reps.csv, summary.json and report.html (a "
                                   "report to print or send, pictures of the reps inside) into --out.")
    p.add_argument("video", type=Path, help="video file (MP4, MOV, AVI, WebM, ...)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: ./coach_out/<video name>); re-running replaces its files")
    p.add_argument("--exercise", default="auto", help="exercise id (see `coach exercises`) or 'auto' to recognise it")
    p.add_argument("--pose-model", type=Path, default=None,
                   help="pose landmarker .task bundle (default: assets/pose_landmarker_full.task)")
    p.add_argument("--num-poses", type=int, default=1, help="people to detect per frame (the first is coached)")
    p.add_argument("--no-video", action="store_true", help="skip the annotated video (faster)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_analyze)


def _cmd_analyze(args) -> int:
    from coach.analyze import analyze_video

    out = args.out or Path("coach_out") / args.video.stem
    result = analyze_video(args.video, out, exercise=args.exercise, pose_model=args.pose_model,
                           num_poses=args.num_poses, write_video=not args.no_video,
                           progress=not args.no_progress)
    print(result.report())
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="coach", description="Camera-based exercise-form coach.")
    ap.add_argument("--debug", action="store_true", help="verbose logs and full tracebacks")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_analyze(sub)
    for extra in _EXTRA_COMMANDS:
        extra(sub)
    return ap


def _add_exercises(sub) -> None:
    p = sub.add_parser("exercises", help="list the exercise catalogue (ids for --exercise)")
    p.add_argument("id", nargs="?", help="show one exercise in detail")
    p.set_defaults(func=_cmd_exercises)


def _cmd_exercises(args) -> int:
    from coach.exercises import get_exercise, load_catalogue
    from coach.models import ModelStore

    cat = load_catalogue()
    store = ModelStore()
    if args.id:
        ex = get_exercise(args.id, cat)
        print(f"{ex.id}: {ex.name} ({ex.kind}); views: {', '.join(ex.views)} (best: {ex.preferred_view})")
        print(f"  {ex.description}")
        if ex.signal:
            print(f"  reps: turning point = {ex.signal.turning_point} of {ex.signal.measure}, full range >= "
                  f"{ex.signal.full_range:g}")
        for f in ex.faults:
            views = f" [{', '.join(f.views)}]" if f.views else ""
            print(f"  fault {f.code}: {f.describe()}{views} -> \"{f.cue}\"")
        folder = store.folder(ex)
        print(f"  model: {folder if folder else 'none (the measurements alone decide)'}")
        print(f"  file: {ex.source}")
        return 0
    for ex in sorted(cat.values(), key=lambda e: e.id):
        model = "model" if store.folder(ex) else "     "
        print(f"{ex.id:16s} {ex.kind:5s} {model}  {ex.name}: best filmed {ex.preferred_view}-on")
    return 0


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train an exercise's simulator (and fault classifier) from recordings",
                       description="Train the learnable physics simulator of EXERCISE on the good reps in DATA_DIR "
                                   "and, when DATA_DIR also holds faulty recordings, a random forest on the "
                                   "simulator's error signatures. DATA_DIR holds videos or landmark files in "
                                   "correct/ and wrong/ (or <fault code>/) sub-folders.")
    p.add_argument("exercise", help="exercise id (see `coach exercises`)")
    p.add_argument("data_dir", type=Path)
    p.add_argument("--out", type=Path, default=None,
                   help="model folder (default: <user data>/models/<exercise>; assets/models/<exercise> to bundle)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="optimiser steps per simulator (default 1500)")
    p.set_defaults(func=_cmd_train)


@contextlib.contextmanager
def _percent_bar(desc: str, text_width: int):
    """A terminal progress bar in percent; yields the ``progress(fraction, text)`` callback the library calls."""
    from tqdm import tqdm

    with tqdm(total=100, desc=desc, unit="%", leave=False) as bar:
        def progress(frac: float, text: str) -> None:
            bar.n = round(100 * frac)
            bar.set_postfix_str(text[:text_width])
            bar.refresh()

        yield progress


def _cmd_train(args) -> int:
    from coach.train import train_exercise

    with _percent_bar(f"training {args.exercise}", 40) as progress:
        result = train_exercise(args.exercise, args.data_dir, args.out, seed=args.seed, steps=args.steps,
                                progress=progress)
    print(result.report())
    return 0


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score rep counting and fault diagnosis on labelled recordings",
                       description="Rep counting per exercise against counts made by eye, push-up correct-vs-wrong "
                                   "with grouped cross-validation (no scene on both sides), and the labelled "
                                   "landmark tables. DATA_DIR is the shared data folder.")
    p.add_argument("data_dir", type=Path, nargs="?", default=None, help="default: $COACH_DATA or ../shared/data")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="optimiser steps per simulator inside the folds")
    p.add_argument("--only", choices=["reps", "pushups", "tables"], action="append",
                   help="run only these parts (repeatable)")
    p.add_argument("--json", type=Path, default=None, help="also write the full results as JSON")
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args) -> int:
    import json

    from coach.evaluate import evaluate, format_report
    from coach.paths import data_root

    root = args.data_dir or data_root()
    with _percent_bar("evaluating", 50) as progress:
        res = evaluate(root, folds=args.folds, seed=args.seed, steps=args.steps, progress=progress,
                       parts=tuple(args.only) if args.only else ("reps", "pushups", "tables"))
    print(format_report(res))
    if args.json:
        from coach.io import atomic_path

        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(res, indent=1, default=str))
    return 0


# Later commands register here, each a function(subparsers).
_EXTRA_COMMANDS: list = [_add_exercises, _add_train, _add_evaluate]


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except CoachError as e:
        if args.debug:
            raise
        print(f"coach: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("coach: interrupted (finished outputs were kept; partial ones removed)", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not the user's doing: still one line unless --debug
        if args.debug:
            raise
        print(f"coach: internal error: {type(e).__name__}: {e} (re-run with --debug for details and report it)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
