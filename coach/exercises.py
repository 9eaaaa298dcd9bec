"""The exercise catalogue: one TOML file per exercise, read into frozen dataclasses.

Adding an exercise needs a TOML file (and optionally a trained model), no new code: every measurement an
exercise file names comes from the library in :mod:`coach.measures`. The bundled files live in
``assets/exercises/``; exercises the user teaches the app live in ``<user data>/exercises/`` and may override a
bundled id. The file format is documented in ``assets/exercises/README.md``.
"""
from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach.errors import ExerciseError
from coach.paths import assets_dir, user_data_dir

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
VIEWS = ("side", "front", "back", "oblique")
AGGREGATES = ("turn", "min", "max", "mean", "range", "range_frac", "start", "end")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


@dataclass(frozen=True)
class Range:
    """A measure kept within [low, high] (either may be None)."""

    measure: str
    low: float | None = None
    high: float | None = None

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


@dataclass(frozen=True)
class Check:
    """A condition a rep must meet to count for this exercise: a measure aggregated over the rep (``at``) lies
    within [low, high]. Checks tell exercises apart (a pull-up lifts the body, a press lifts the hands) and keep
    walking or stepping from being counted."""

    measure: str
    at: str
    low: float | None = None
    high: float | None = None
    why: str = ""

    def passes(self, value: float) -> bool:
        """Unknown (the body part was not visible) does not block."""
        if not np.isfinite(value):
            return True
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


#: Applied to every rep exercise that does not check the hips' travel itself: reps are done on the spot.
DEFAULT_CHECKS = (Check("hip_position_image", "range", None, 1.2, "the hips stay roughly in place"),)


@dataclass(frozen=True)
class SignalSpec:
    """The 1-D signal whose turning points are reps."""

    measure: str
    turning_point: str  # "max" or "min": which extreme of the signal is the turning point of a rep
    full_range: float  # signal change (its units) that a full rep covers at least
    min_rep_s: float = 0.4
    max_rep_s: float = 10.0
    smoothing_hz: float = 3.0
    concentric: str = "out"  # the lifting half: "out" of the turning point (squat) or "in" to it (pull-up)


@dataclass(frozen=True)
class VelocitySpec:
    """Concentric velocity: how fast ``point`` moves relative to ``relative_to`` (landmark groups)."""

    point: str
    relative_to: str


def value_key(measure: str, at: str) -> str:
    """The name of a measure aggregated over a rep in the rep's values (``RepReport.measures``): "measure@at"."""
    return f"{measure}@{at}"


def _past(value: float, above: float | None, below: float | None) -> bool:
    """Whether ``value`` is past a one-sided threshold (``above`` or ``below``; the other is None)."""
    return (above is not None and value > above) or (below is not None and value < below)


def _condition(measure: str, at: str, above: float | None, below: float | None) -> str:
    """A one-sided threshold on an aggregated measure in words: "elbow_flexion at turn < 50"."""
    op = f"> {above:g}" if above is not None else f"< {below:g}"
    return f"{measure} at {at} {op}"


@dataclass(frozen=True)
class Confirm:
    """A second, independent measure that must agree before a fault is named: a joint the pose model misplaces
    (an elbow hidden behind the body) cannot give a cue on its own. Unknown (not visible) does not confirm."""

    measure: str
    at: str
    above: float | None = None
    below: float | None = None

    @property
    def key(self) -> str:
        return value_key(self.measure, self.at)

    def holds(self, value: float) -> bool:
        return bool(np.isfinite(value)) and _past(value, self.above, self.below)

    def describe(self) -> str:
        return _condition(self.measure, self.at, self.above, self.below)


@dataclass(frozen=True)
class FaultRule:
    """A named fault: a measure aggregated over a rep (or over a hold) compared with a threshold."""

    code: str
    name: str
    measure: str
    at: str
    cue: str
    above: float | None = None
    below: float | None = None
    severity: int = 2  # 1 minor .. 3 major: which cue comes first
    evidence: str = ""
    cue_repeat: str = ""
    views: tuple[str, ...] = ()  # empty = any view
    min_visibility: float = 0.5
    confirm: Confirm | None = None  # a second measure that must agree (see :class:`Confirm`)

    def is_fault(self, value: float) -> bool:
        return _past(value, self.above, self.below)

    @property
    def reads(self) -> tuple[tuple[str, str], ...]:
        """The (measure, aggregate) pairs this rule reads: its own, and its confirming measure's."""
        own = (self.measure, self.at)
        return (own, (self.confirm.measure, self.confirm.at)) if self.confirm else (own,)

    @property
    def key(self) -> str:
        return value_key(self.measure, self.at)

    def describe(self) -> str:
        """The rule's condition in words, with its confirming measure's."""
        own = _condition(self.measure, self.at, self.above, self.below)
        return f"{own} and {self.confirm.describe()}" if self.confirm else own

    def fires(self, values: dict) -> bool:
        """A fault on these rep values: the measure past its threshold and, if the rule has one, the confirming
        measure agreeing."""
        v = values.get(self.key, float("nan"))
        if not (np.isfinite(v) and self.is_fault(v)):
            return False
        return self.confirm is None or self.confirm.holds(values.get(self.confirm.key, float("nan")))

    @property
    def threshold(self) -> float:
        return self.above if self.above is not None else self.below  # type: ignore[return-value]

    def margin(self, value: float) -> float:
        """How far past the threshold ``value`` is, in the threshold's units (positive = fault)."""
        return value - self.above if self.above is not None else self.below - value  # type: ignore[operator]


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    kind: str  # "reps" or "hold"
    views: tuple[str, ...]
    description: str = ""
    preferred_view: str = ""
    required: tuple[str, ...] = ()  # landmark groups that must be visible to coach
    posture: tuple[Range, ...] = ()  # the body position the exercise is done in
    signal: SignalSpec | None = None
    velocity: VelocitySpec | None = None
    faults: tuple[FaultRule, ...] = ()
    checks: tuple[Check, ...] = ()
    good_cue: str = "Good rep!"
    setup_cue: str = ""
    model: str = ""  # file name of a trained model under assets/models (or the user's models)
    source: str = ""  # where the definition was read from
    meta: dict = field(default_factory=dict)

    def fault(self, code: str) -> FaultRule:
        for f in self.faults:
            if f.code == code:
                return f
        raise KeyError(code)


def _confirm(f: dict, kind: str, where: str) -> Confirm | None:
    if "confirm" not in f:
        return None
    c = f["confirm"]
    w = f"{where} confirm"
    if not isinstance(c, dict):
        raise ExerciseError(f"{w}: write it as a table, e.g. confirm = {{ measure = \"...\", at = \"range\", "
                            f"below = 0.4 }}")
    from coach.measures import known_measure

    measure = _get(c, "measure", str, w)
    if not known_measure(measure):
        raise ExerciseError(f"{w}: unknown measure {measure!r} (see `coach measures` for the list)")
    at = _get(c, "at", str, w, "turn")
    if at not in AGGREGATES or (kind == "hold" and at == "turn"):
        raise ExerciseError(f"{w}: `at` must be one of {list(AGGREGATES)} (not \"turn\" for a hold)")
    above, below = _get(c, "above", float, w, None), _get(c, "below", float, w, None)
    if (above is None) == (below is None):
        raise ExerciseError(f"{w}: give exactly one of `above` or `below`")
    return Confirm(measure, at, above, below)


def _get(d: dict, key: str, typ, where: str, default=...):
    if key not in d:
        if default is ...:
            raise ExerciseError(f"{where}: missing `{key}`")
        return default
    v = d[key]
    if typ is float and isinstance(v, int) and not isinstance(v, bool):
        v = float(v)
    if not isinstance(v, typ):
        raise ExerciseError(f"{where}: `{key}` must be {getattr(typ, '__name__', typ)}, got {v!r}")
    return v


def _range(measure: str, v, where: str) -> Range:
    if not (isinstance(v, list) and len(v) == 2):
        raise ExerciseError(f"{where}: `{measure}` must be [low, high] (use \"\" for no limit)")
    lo, hi = (None if x in ("", None) else float(x) for x in v)
    return Range(measure, lo, hi)


def parse_exercise(data: dict, source: str = "") -> Exercise:
    """Validate a parsed TOML document into an :class:`Exercise`; errors name the file and the field."""
    from coach.measures import known_measure

    where = source or "exercise"
    version = data.get("schema", SCHEMA_VERSION)
    if version > SCHEMA_VERSION:
        raise ExerciseError(f"{where}: schema {version} is newer than this coach understands ({SCHEMA_VERSION}); "
                            f"upgrade coach")
    ex_id = _get(data, "id", str, where)
    if not _ID.match(ex_id):
        raise ExerciseError(f"{where}: id {ex_id!r} must be lower-case letters, digits and dashes")
    kind = _get(data, "kind", str, where, "reps")
    if kind not in ("reps", "hold"):
        raise ExerciseError(f"{where}: kind must be \"reps\" or \"hold\", got {kind!r}")
    views = tuple(_get(data, "views", list, where, list(VIEWS)))
    bad = [v for v in views if v not in VIEWS]
    if bad:
        raise ExerciseError(f"{where}: unknown views {bad}; use {list(VIEWS)}")

    def check_measure(m: str, w: str) -> None:
        if not known_measure(m):
            raise ExerciseError(f"{w}: unknown measure {m!r} (see `coach measures` for the list)")

    posture = []
    for m, v in (data.get("posture") or {}).items():
        check_measure(m, f"{where} [posture]")
        posture.append(_range(m, v, f"{where} [posture]"))
    signal = None
    if kind == "reps":
        s = data.get("signal")
        if not isinstance(s, dict):
            raise ExerciseError(f"{where}: a reps exercise needs a [signal] table")
        w = f"{where} [signal]"
        measure = _get(s, "measure", str, w)
        check_measure(measure, w)
        tp = _get(s, "turning_point", str, w)
        if tp not in ("max", "min"):
            raise ExerciseError(f"{w}: turning_point must be \"max\" or \"min\"")
        concentric = _get(s, "concentric", str, w, "out")
        if concentric not in ("in", "out"):
            raise ExerciseError(f"{w}: concentric must be \"in\" (lifting into the turning point, as in a pull-up) "
                                f"or \"out\" (lifting out of it, as in a squat)")
        signal = SignalSpec(measure, tp, _get(s, "full_range", float, w), _get(s, "min_rep_s", float, w, 0.4),
                            _get(s, "max_rep_s", float, w, 10.0), _get(s, "smoothing_hz", float, w, 3.0),
                            concentric)
        if signal.full_range <= 0 or signal.min_rep_s <= 0 or signal.max_rep_s <= signal.min_rep_s:
            raise ExerciseError(f"{w}: need full_range > 0 and 0 < min_rep_s < max_rep_s")
    velocity = None
    if "velocity" in data:
        w = f"{where} [velocity]"
        velocity = VelocitySpec(_get(data["velocity"], "point", str, w), _get(data["velocity"], "relative_to", str, w))
        from coach.measures import GROUPS

        for g in (velocity.point, velocity.relative_to):
            if g not in GROUPS:
                raise ExerciseError(f"{w}: unknown landmark group {g!r}; use one of {sorted(GROUPS)}")
    faults = []
    codes = set()
    for i, f in enumerate(data.get("faults") or []):
        w = f"{where} [[faults]] #{i + 1}"
        code = _get(f, "code", str, w)
        if code in codes or code == "correct":
            raise ExerciseError(f"{w}: fault code {code!r} repeated or reserved")
        codes.add(code)
        measure = _get(f, "measure", str, w)
        check_measure(measure, w)
        at = _get(f, "at", str, w, "turn")
        if at not in AGGREGATES or (kind == "hold" and at == "turn"):
            raise ExerciseError(f"{w}: `at` must be one of {list(AGGREGATES)} (not \"turn\" for a hold)")
        above = _get(f, "above", float, w, None)
        below = _get(f, "below", float, w, None)
        if (above is None) == (below is None):
            raise ExerciseError(f"{w}: give exactly one of `above` or `below`")
        fviews = tuple(_get(f, "views", list, w, []))
        if any(v not in VIEWS for v in fviews):
            raise ExerciseError(f"{w}: unknown views in {fviews}")
        severity = int(_get(f, "severity", int, w, 2))
        if not 1 <= severity <= 3:
            raise ExerciseError(f"{w}: severity must be 1, 2 or 3")
        faults.append(FaultRule(code, _get(f, "name", str, w, code.replace("_", " ")), measure, at,
                                _get(f, "cue", str, w), above, below, severity, _get(f, "evidence", str, w, ""),
                                _get(f, "cue_repeat", str, w, ""), fviews,
                                _get(f, "min_visibility", float, w, 0.5), _confirm(f, kind, w)))
    checks = []
    for i, c in enumerate(data.get("checks") or []):
        w = f"{where} [[checks]] #{i + 1}"
        measure = _get(c, "measure", str, w)
        check_measure(measure, w)
        at = _get(c, "at", str, w, "range")
        if at not in AGGREGATES:
            raise ExerciseError(f"{w}: `at` must be one of {list(AGGREGATES)}")
        lo, hi = _get(c, "min", float, w, None), _get(c, "max", float, w, None)
        if lo is None and hi is None:
            raise ExerciseError(f"{w}: give `min`, `max` or both")
        checks.append(Check(measure, at, lo, hi, _get(c, "why", str, w, "")))
    if kind == "reps" and not any(c.measure == "hip_position_image" for c in checks):
        checks.extend(DEFAULT_CHECKS)
    from coach.measures import GROUPS

    required = tuple(_get(data, "required", list, where, []))
    bad = [g for g in required if g not in GROUPS]
    if bad:
        raise ExerciseError(f"{where}: unknown landmark groups in `required`: {bad}; use {sorted(GROUPS)}")
    return Exercise(
        id=ex_id, name=_get(data, "name", str, where, ex_id), kind=kind, views=views,
        description=_get(data, "description", str, where, ""),
        preferred_view=_get(data, "preferred_view", str, where, views[0] if views else ""),
        required=required, posture=tuple(posture), signal=signal, velocity=velocity, faults=tuple(faults), checks=tuple(checks),
        good_cue=_get(data, "good_cue", str, where, "Good rep!"), setup_cue=_get(data, "setup_cue", str, where, ""),
        model=_get(data, "model", str, where, ""), source=source, meta=dict(data.get("meta") or {}))


def load_exercise_file(path: str | os.PathLike) -> Exercise:
    p = Path(path)
    try:
        with open(p, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ExerciseError(f"exercise file not found: {p}") from None
    except tomllib.TOMLDecodeError as e:
        raise ExerciseError(f"{p} is not valid TOML ({e}); fix the file") from None
    return parse_exercise(data, str(p))


def catalogue_dirs() -> list[Path]:
    """Bundled exercises first, then the user's (which override a bundled id)."""
    return [assets_dir() / "exercises", user_data_dir() / "exercises"]


def load_catalogue(dirs: list[Path] | None = None) -> dict[str, Exercise]:
    out: dict[str, Exercise] = {}
    for d in dirs or catalogue_dirs():
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.toml")):
            try:
                ex = load_exercise_file(p)
            except ExerciseError as e:
                if d == assets_dir() / "exercises":
                    raise
                log.warning("skipping %s", e)  # a broken user file must not take the app down
                continue
            out[ex.id] = ex
    return out


def get_exercise(ex_id: str, catalogue: dict[str, Exercise] | None = None) -> Exercise:
    cat = catalogue if catalogue is not None else load_catalogue()
    if ex_id not in cat:
        raise ExerciseError(f"unknown exercise {ex_id!r}; choose one of: {', '.join(sorted(cat))} (or 'auto')")
    return cat[ex_id]
