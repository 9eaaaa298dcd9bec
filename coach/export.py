"""Practitioner exports: OpenSim ``.trc`` markers and ``.mot`` joint angles (open unchanged in OpenSim, Pose2Sim's
Blender add-on and spreadsheets), plus parsers for both, and the landmark CSV (:func:`coach.io.save_csv`).

**Axes (TRC).** OpenSim is Y-up. Markers are MediaPipe world landmarks converted as
``X = x`` (the image's right), ``Y = -y`` (up), ``Z = -z`` (towards the camera): a right-handed frame (a half turn
about x), so the person appears in OpenSim's default view as in the video. The origin is MediaPipe's, between the
hips, moving with the person (MediaPipe gives no floor or travel). Units are metres (``units="mm"`` multiplies by
1000); sequences read from 2-D formats hold the pseudo-world of :mod:`coach.formats` (scaled to a 0.5 m torso).

**Markers.** By default the 25 BlazePose markers of Pose2Sim's ``Markers_BlazePose.xml``
(perfanalytics/pose2sim, ``Pose2Sim/OpenSim_Setup``), with the same names, so the file drives Pose2Sim's BlazePose
model and IK setup; ``markers="all"`` writes all 33 MediaPipe landmarks (the extra face points have no marker in
that model and OpenSim ignores them).

**Missing data.** Frames where nobody was found (and landmarks a 2-D format lacks) are missing. Gaps of up to
``max_gap_s`` seconds between known values are filled by linear interpolation per marker (0 disables); longer
gaps are written as empty cells, which OpenSim reads as missing (NaN) and leaves out of IK for that frame. Frames
with no known marker at all are not written (OpenSim's IK fails on them); ``Frame#`` and ``Time`` keep the video's
frame numbers and times, so such gaps stay visible. Every value is followed by a tab, as OpenSim's own writer
does, so a row whose last marker is empty still has the right number of fields. ``missing="nan"`` writes ``NaN``
instead of empty cells for tools that need a number in every cell.

**Angles (MOT).** :func:`coach.angles.joint_angles` in degrees, OpenSim storage format (``inDegrees=yes``), one
column per angle after ``time``. OpenSim's GUI reads ``.mot`` with its Storage class, which stops at the first
``NaN``: short gaps are interpolated, rarely known angles left out and rows with an unknown angle left out (see
:func:`write_mot`; ``keep_nan=True`` keeps everything with ``NaN``). The angle names are not coordinates of an
OpenSim model: open the file with File > Load Motion next to a model, or in the Plotter, or in a spreadsheet.

Checked with OpenSim 4.5 (``pyopensim``): the ``.trc`` reads with ``TimeSeriesTableVec3`` and runs through
``InverseKinematicsTool``; the ``.mot`` reads with ``Storage`` and ``TimeSeriesTable``.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from coach.angles import ANGLE_NAMES, joint_angles
from coach.errors import DataFormatError, InputNotFoundError, NoPersonError
from coach.io import atomic_path, save_csv
from coach.types import LANDMARK_NAMES, LM, PoseSequence

log = logging.getLogger(__name__)

#: Marker names of Pose2Sim's ``OpenSim_Setup/Markers_BlazePose.xml`` (in that file's order). They are the
#: MediaPipe landmark names; the face details (eye corners, ears, mouth) are not in that marker set.
POSE2SIM_BLAZEPOSE_MARKERS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_foot_index", "left_heel", "right_foot_index", "right_heel", "right_thumb", "right_pinky", "right_index",
    "left_thumb", "left_pinky", "left_index",
)

UNIT_SCALE = {"m": 1.0, "mm": 1000.0}
_DECIMALS = {"m": 6, "mm": 3}  # micrometre resolution either way
TIME_DECIMALS = 6
ANGLE_DECIMALS = 4

#: The landmark CSV, for exports next to .trc/.mot.
write_landmarks_csv = save_csv


def to_opensim_axes(world_xyz: np.ndarray) -> np.ndarray:
    """MediaPipe world (x right, y down, z away from camera) -> OpenSim (X right, Y up, Z towards camera)."""
    w = np.asarray(world_xyz, dtype=np.float64)
    return w * np.array([1.0, -1.0, -1.0])


def from_opensim_axes(xyz: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_opensim_axes` (the same half turn)."""
    return to_opensim_axes(xyz)


def fill_gaps(values: np.ndarray, t_s: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly interpolate NaN runs along axis 0 that last at most ``max_gap_s`` seconds (time between the known
    values on either side, minus one frame) per column; leading/trailing runs and longer gaps stay NaN."""
    v = np.array(values, dtype=np.float64, copy=True)
    if max_gap_s <= 0 or v.shape[0] < 3:
        return v
    t = np.asarray(t_s, dtype=np.float64)
    flat = v.reshape(v.shape[0], -1)
    dt = float(np.median(np.diff(t)))
    for c in range(flat.shape[1]):
        col = flat[:, c]
        bad = ~np.isfinite(col)
        if not bad.any() or bad.all():
            continue
        good = np.flatnonzero(~bad)
        gaps = np.flatnonzero(np.diff(good) > 1)  # good[g] .. good[g+1] brackets a NaN run
        for g in gaps:
            a, b = good[g], good[g + 1]
            if t[b] - t[a] - dt <= max_gap_s + 1e-9:
                col[a + 1:b] = np.interp(t[a + 1:b], (t[a], t[b]), (col[a], col[b]))
    return flat.reshape(v.shape)


def _marker_list(markers: str | Sequence[str]) -> list[str]:
    if isinstance(markers, str):
        if markers == "pose2sim":
            return [n for n in LANDMARK_NAMES if n in POSE2SIM_BLAZEPOSE_MARKERS]
        if markers == "all":
            return list(LANDMARK_NAMES)
        raise ValueError(f"markers must be 'pose2sim', 'all' or a list of landmark names, got {markers!r}")
    names = list(markers)
    unknown = [n for n in names if n not in LM]
    if unknown:
        raise ValueError(f"unknown landmark names {unknown} (see coach.types.LANDMARK_NAMES)")
    return names


def _fmt_table(values: np.ndarray, decimals: int, missing: str) -> np.ndarray:
    out = np.char.mod(f"%.{decimals}f", values)
    out[~np.isfinite(values)] = missing
    # "-0.000000" reads back as 0 either way; print it as "0.000000" for tidiness.
    out[out == "-" + f"%.{decimals}f" % 0.0] = f"%.{decimals}f" % 0.0
    return out


def write_trc(seq: PoseSequence, path: str | os.PathLike, units: str = "m",
              markers: str | Sequence[str] = "pose2sim", max_gap_s: float = 0.2,
              min_visibility: float | None = None, missing: str = "empty", keep_empty_frames: bool = False) -> Path:
    """Write the world landmarks of ``seq`` as an OpenSim ``.trc`` marker file (atomically); see the module
    docstring for axes, markers and missing data. ``min_visibility`` treats less visible landmarks as missing.

    Frames without any known marker (nobody in view, after gap filling) are left out unless
    ``keep_empty_frames``: OpenSim's inverse kinematics stops with an error on such a frame. ``Frame#`` is the
    video's frame number (1-based) and ``Time`` its timestamp, so left-out frames show as jumps in both.
    """
    if units not in UNIT_SCALE:
        raise ValueError(f"units must be 'm' or 'mm', got {units!r}")
    if missing not in ("empty", "nan"):
        raise ValueError(f"missing must be 'empty' or 'nan', got {missing!r}")
    path = Path(path)
    names = _marker_list(markers)
    idx = [LM[n] for n in names]
    world = seq.world_xyz[:, idx].astype(np.float64)
    known = seq.present[:, None] & np.isfinite(world).all(axis=2)
    if min_visibility is not None:
        known &= seq.visibility[:, idx] >= min_visibility
    world[~known] = np.nan
    xyz = fill_gaps(to_opensim_axes(world), seq.t_s, max_gap_s) * UNIT_SCALE[units]
    rows = np.arange(len(seq)) if keep_empty_frames else np.flatnonzero(np.isfinite(xyz).all(axis=2).any(axis=1))
    if seq.meta.get("world") == "pseudo":
        log.warning("%s: %s has pseudo-world coordinates (scaled to a 0.5 m torso), not measured metres",
                    path.name, seq.source or "the sequence")
    if len(rows) == 0:
        raise NoPersonError(f"nothing to export to {path.name}: no frame of {seq.source or 'the sequence'} has a "
                            f"known landmark (check that the video shows a person)")
    if len(rows) < len(seq):
        log.info("%s: %d of %d frames have no known marker and are left out", path.name, len(seq) - len(rows),
                 len(seq))
    n, m = len(rows), len(names)
    rate = f"{seq.fps:.10g}"
    cells = _fmt_table(xyz[rows].reshape(n, m * 3), _DECIMALS[units], "" if missing == "empty" else "NaN")
    times = _fmt_table(seq.t_s[rows], TIME_DECIMALS, "")
    first = int(rows[0]) + 1 if n else 1
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate}\t{rate}\t{n}\t{m}\t{units}\t{rate}\t{first}\t{len(seq)}",
        "Frame#\tTime\t" + "".join(f"{nm}\t\t\t" for nm in names),
        "\t\t" + "".join(f"X{i}\tY{i}\tZ{i}\t" for i in range(1, m + 1)),
    ]
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
            for k, i in enumerate(rows):
                f.write(f"{i + 1}\t{times[k]}\t" + "".join(c + "\t" for c in cells[k]) + "\n")
    log.debug("wrote %d frames x %d markers to %s", n, m, path)
    return path


def write_mot(seq: PoseSequence | dict[str, np.ndarray], path: str | os.PathLike,
              t_s: np.ndarray | None = None, names: Sequence[str] | None = None, max_gap_s: float = 0.2,
              min_visibility: float | None = None, min_known: float = 0.5, keep_nan: bool = False) -> Path:
    """Write joint angles (degrees) as an OpenSim ``.mot`` storage file (atomically).

    ``seq`` is a :class:`PoseSequence` (angles from :func:`coach.angles.joint_angles`, frames where nobody was
    found unknown) or a ready ``{name: (T,) degrees}`` dict with ``t_s``. ``names`` picks and orders columns
    (default: :data:`coach.angles.ANGLE_NAMES`, or the dict's order).

    OpenSim's Storage reader (the GUI's Load Motion and Plot) stops at the first ``NaN``, so by default the file
    holds none: gaps up to ``max_gap_s`` are interpolated, columns known in less than ``min_known`` of the frames
    that have any angle are left out (without ``names``; with ``names`` every named column is kept), then rows
    with an unknown value are left out (their times are simply absent). ``keep_nan=True`` writes every row and
    column with ``NaN`` for unknown values instead (fine for OpenSim's TimeSeriesTable, pandas, spreadsheets).
    """
    path = Path(path)
    if isinstance(seq, PoseSequence):
        angles = joint_angles(seq, min_visibility=min_visibility)
        t = seq.t_s
        for k in angles:
            angles[k] = np.where(seq.present, angles[k], np.nan)
    else:
        if t_s is None:
            raise ValueError("pass t_s with an angle dict")
        angles, t = dict(seq), np.asarray(t_s, dtype=np.float64)
    cols = list(names) if names is not None else (list(ANGLE_NAMES) if isinstance(seq, PoseSequence)
                                                   else list(angles))
    for c in cols:
        if c not in angles:
            raise ValueError(f"no angle named {c!r} (have {', '.join(angles)})")
        if np.shape(angles[c]) != t.shape:
            raise ValueError(f"angle {c!r} has shape {np.shape(angles[c])}, expected {t.shape}")
        if not c or any(ch.isspace() for ch in c):
            raise ValueError(f"column name {c!r} is empty or has white space, which OpenSim cannot read")
    table = np.column_stack([np.asarray(angles[c], np.float64) for c in cols]) if cols else np.zeros((len(t), 0))
    table = fill_gaps(table, t, max_gap_s)
    rows = np.arange(len(t))
    if not keep_nan:
        ok = np.isfinite(table)
        if names is None and table.shape[1]:
            any_row = ok.any(axis=1)
            frac = ok[any_row].mean(axis=0) if any_row.any() else np.zeros(table.shape[1])
            keep = frac >= min_known
            dropped = [c for c, k in zip(cols, keep) if not k]
            if dropped:
                log.info("%s: leaving out angles known in under %.0f%% of frames: %s", path.name, 100 * min_known,
                         ", ".join(dropped))
            cols = [c for c, k in zip(cols, keep) if k]
            table, ok = table[:, keep], ok[:, keep]
        rows = np.flatnonzero(ok.all(axis=1)) if cols else np.zeros(0, np.int64)
        if len(rows) == 0:
            raise NoPersonError(f"nothing to export to {path.name}: no frame has every angle known (check that "
                                f"the video shows a person, or pass keep_nan=True)")
        if len(rows) < len(t):
            log.info("%s: %d of %d frames have an unknown angle and are left out", path.name, len(t) - len(rows),
                     len(t))
    cells = _fmt_table(table[rows], ANGLE_DECIMALS, "NaN")
    times = _fmt_table(t[rows], TIME_DECIMALS, "")
    header = ["Coordinates", "version=1", f"nRows={len(rows)}", f"nColumns={len(cols) + 1}", "inDegrees=yes",
              "endheader", "\t".join(["time"] + cols)]
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(header) + "\n")
            for k in range(len(rows)):
                f.write("\t".join([times[k], *cells[k]]) + "\n")
    log.debug("wrote %d rows x %d angles to %s", len(rows), len(cols), path)
    return path


# ---------------------------------------------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrcData:
    """A parsed ``.trc`` file. ``xyz`` (T, M, 3) in the file's axes and units, NaN where a cell is empty."""

    markers: tuple[str, ...]
    frame: np.ndarray  # (T,) int
    t_s: np.ndarray  # (T,)
    xyz: np.ndarray  # (T, M, 3)
    data_rate: float
    units: str
    header: dict = field(default_factory=dict)

    def marker(self, name: str) -> np.ndarray:
        return self.xyz[:, self.markers.index(name)]


@dataclass(frozen=True)
class MotData:
    """A parsed ``.mot`` / ``.sto`` file: ``values`` (T, N) for ``columns`` after ``time``."""

    name: str
    t_s: np.ndarray
    columns: tuple[str, ...]
    values: np.ndarray
    in_degrees: bool
    header: dict = field(default_factory=dict)

    def __getitem__(self, column: str) -> np.ndarray:
        return self.values[:, self.columns.index(column)]

    def as_dict(self) -> dict[str, np.ndarray]:
        return {c: self.values[:, i] for i, c in enumerate(self.columns)}


def _tokens(line: str) -> list[str]:
    """Tab-separated fields as OpenSim reads them: empty fields kept, a trailing empty field dropped."""
    parts = [p.strip() for p in line.rstrip("\r\n").split("\t")]
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def _num(s: str, path: Path, line_no: int) -> float:
    if s == "":
        return np.nan
    try:
        return float(s)
    except ValueError:
        raise DataFormatError(f"{path}: line {line_no} holds {s[:20]!r}, not a number; pass a valid file") from None


def _read_lines(path: Path, what: str) -> list[str]:
    if not path.is_file():
        raise InputNotFoundError(f"{what} not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            return f.readlines()
    except UnicodeDecodeError:
        raise DataFormatError(f"{path} is not a text {what} (binary content); pass a {what}") from None


def read_trc(path: str | os.PathLike) -> TrcData:
    """Parse an OpenSim ``.trc`` marker file (tab-separated; empty cells become NaN)."""
    path = Path(path)
    lines = _read_lines(path, ".trc file")
    hint = "pass an OpenSim .trc marker file"
    if len(lines) < 5 or not lines[0].startswith("PathFileType"):
        raise DataFormatError(f"{path} is not a .trc file (it does not start with PathFileType); {hint}")
    keys, vals = [k for k in _tokens(lines[1]) if k], [v for v in _tokens(lines[2]) if v]
    if len(keys) != len(vals) or "NumMarkers" not in keys:
        raise DataFormatError(f"{path}: the .trc header (lines 2-3) is malformed; {hint}")
    header = dict(zip(keys, vals))
    try:
        n_markers = int(header["NumMarkers"])
        rate = float(header.get("DataRate", "nan"))
    except ValueError:
        raise DataFormatError(f"{path}: NumMarkers/DataRate in the .trc header are not numbers; {hint}") from None
    labels = [x for x in _tokens(lines[3]) if x]
    if labels[:2] != ["Frame#", "Time"] or len(labels) != n_markers + 2:
        raise DataFormatError(f"{path}: line 4 should hold Frame#, Time and {n_markers} marker names, found "
                              f"{len(labels) - 2}; {hint}")
    markers = tuple(labels[2:])
    frames, times, rows = [], [], []
    expected = 2 + 3 * n_markers
    started = False
    for k, line in enumerate(lines[5:], start=6):
        tok = _tokens(line)
        if not tok or tok[0] == "":
            if started:
                break  # as OpenSim: an empty line ends the data
            continue
        started = True
        if len(tok) < expected:  # writers that end rows without a tab lose trailing empty cells
            tok += [""] * (expected - len(tok))
        if len(tok) != expected:
            raise DataFormatError(f"{path}: line {k} has {len(tok)} fields, expected {expected}; {hint}")
        frames.append(int(_num(tok[0], path, k)))
        times.append(_num(tok[1], path, k))
        rows.append([_num(x, path, k) for x in tok[2:]])
    xyz = np.asarray(rows, dtype=np.float64).reshape(len(rows), n_markers, 3)
    return TrcData(markers, np.asarray(frames, dtype=np.int64), np.asarray(times, dtype=np.float64), xyz, rate,
                   header.get("Units", ""), header)


def read_mot(path: str | os.PathLike) -> MotData:
    """Parse an OpenSim ``.mot``/``.sto`` storage file (header up to ``endheader``, then a ``time`` table)."""
    path = Path(path)
    lines = _read_lines(path, ".mot file")
    hint = "pass an OpenSim .mot/.sto file"
    try:
        end = next(i for i, ln in enumerate(lines) if ln.strip().lower() == "endheader")
    except StopIteration:
        raise DataFormatError(f"{path} has no 'endheader' line, so it is not an OpenSim .mot file; {hint}") from None
    name = lines[0].strip() if end > 0 and "=" not in lines[0] else ""
    header = {}
    for ln in lines[:end]:
        if "=" in ln:
            k, v = ln.strip().split("=", 1)
            header[k.strip()] = v.strip()
    body = [ln for ln in lines[end + 1:] if ln.strip()]
    if not body:
        raise DataFormatError(f"{path}: no column labels after 'endheader'; {hint}")
    cols = _tokens(body[0]) if "\t" in body[0] else body[0].split()
    if not cols or cols[0].lower() != "time":
        raise DataFormatError(f"{path}: the first column after 'endheader' should be time; {hint}")
    data = []
    for k, ln in enumerate(body[1:], start=end + 3):
        tok = _tokens(ln) if "\t" in ln else ln.split()
        if len(tok) != len(cols):
            raise DataFormatError(f"{path}: line {k} has {len(tok)} values, expected {len(cols)}; {hint}")
        data.append([_num(x, path, k) for x in tok])
    arr = np.asarray(data, dtype=np.float64).reshape(len(data), len(cols))
    in_deg = header.get("inDegrees", "yes").lower() in ("yes", "true", "1")
    return MotData(name, arr[:, 0], tuple(cols[1:]), arr[:, 1:], in_deg, header)
