"""Training history: every live set and every reviewed video, per person, in one local SQLite file.

What is stored is results, never video frames: per-rep tempo, range of motion, velocity, quality, faults with
their evidence and the cue, the set summary, the cues spoken, and (optionally) the landmarks. An annotated
video is kept only when the user asks for it (``keep_video``), copied into the history's own folder.

Layout (``SCHEMA_VERSION`` 1; ``PRAGMA user_version`` holds the version, ``schema_migrations`` when each step
ran):

* ``profiles``  the people training on this machine.
* ``sessions``  one set (live) or one reviewed video: the exercise, when, the set summary as columns for the
  known figures plus ``summary_json`` for everything; ``status`` is ``in_progress`` while a live set runs,
  so a set cut off by a crash keeps its finished reps and shows as unfinished.
* ``reps``      one row per rep: the known metrics as columns and ``data_json`` = ``RepReport.to_dict()``.
* ``faults``    one row per fault of a rep, with its evidence (for fault-history queries).
* ``cues``      what the coach said, when.
* ``settings``  small key/value store (the last profile used, ...).

Every write is one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``), the journal is WAL, foreign keys cascade
deletes (a profile's sessions, a session's reps, faults and cues). Migrations are ordered SQL steps applied in
one transaction each; a file written by a newer coach is refused with a message, never altered.

Connections are opened per call, so one :class:`History` may be used from several threads (the Streamlit
script thread and the live page's writer thread).
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import logging
import math
import os
import shutil
import sqlite3
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from coach.errors import CoachError
from coach.paths import user_data_dir

log = logging.getLogger(__name__)

EXPORT_FORMAT = "coach.history"
DEFAULT_PROFILE = "Me"

#: Rep metrics kept as columns (everything else of ``RepReport.to_dict()`` is in ``reps.data_json``).
REP_METRICS = ("duration_s", "eccentric_s", "concentric_s", "rom", "concentric_velocity_m_s", "peak_velocity_m_s")
#: Set-summary figures kept as columns of ``sessions`` (all of it is in ``summary_json``).
SET_FIGURES = ("mean_quality", "mean_duration_s", "mean_eccentric_s", "mean_concentric_s", "mean_rom",
               "mean_concentric_velocity_m_s", "velocity_loss_pct")

_V1 = """
CREATE TABLE profiles (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) > 0),
    created_utc TEXT NOT NULL,
    meta_json   TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE sessions (
    id                  INTEGER PRIMARY KEY,
    profile_id          INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    kind                TEXT NOT NULL CHECK (kind IN ('live', 'review')),
    status              TEXT NOT NULL DEFAULT 'complete' CHECK (status IN ('in_progress', 'complete')),
    started_utc         TEXT NOT NULL,
    ended_utc           TEXT,
    exercise            TEXT,
    exercise_name       TEXT,
    exercise_source     TEXT,
    exercise_kind       TEXT,
    view                TEXT,
    source              TEXT NOT NULL DEFAULT '',
    workout_id          TEXT,
    set_index           INTEGER,
    person_index        INTEGER NOT NULL DEFAULT 0,
    duration_s          REAL,
    rep_count           INTEGER NOT NULL DEFAULT 0,
    partial_count       INTEGER NOT NULL DEFAULT 0,
    good_reps           INTEGER NOT NULL DEFAULT 0,
    most_frequent_fault TEXT,
    mean_quality        REAL,
    mean_duration_s     REAL,
    mean_eccentric_s    REAL,
    mean_concentric_s   REAL,
    mean_rom            REAL,
    mean_concentric_velocity_m_s REAL,
    velocity_loss_pct   REAL,
    hold_s              REAL,
    hold_good_s         REAL,
    hold_quality        INTEGER,
    video_path          TEXT,
    landmarks_path      TEXT,
    summary_json        TEXT NOT NULL DEFAULT '{}',
    notes               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_profile ON sessions (profile_id, started_utc);
CREATE INDEX sessions_by_exercise ON sessions (profile_id, exercise, started_utc);
CREATE TABLE reps (
    id             INTEGER PRIMARY KEY,
    session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx            INTEGER NOT NULL,
    start_s        REAL,
    turn_s         REAL,
    end_s          REAL,
    partial        INTEGER NOT NULL DEFAULT 0,
    partial_reason TEXT,
    quality        INTEGER,
    faults         TEXT NOT NULL DEFAULT '',
    cue            TEXT NOT NULL DEFAULT '',
    view           TEXT,
    duration_s     REAL,
    eccentric_s    REAL,
    concentric_s   REAL,
    rom            REAL,
    concentric_velocity_m_s REAL,
    peak_velocity_m_s REAL,
    data_json      TEXT NOT NULL,
    UNIQUE (session_id, idx)
);
CREATE TABLE faults (
    id         INTEGER PRIMARY KEY,
    rep_id     INTEGER NOT NULL REFERENCES reps(id) ON DELETE CASCADE,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    code       TEXT NOT NULL,
    name       TEXT,
    severity   INTEGER,
    source     TEXT,
    evidence   TEXT,
    value      REAL,
    threshold  REAL
);
CREATE INDEX faults_by_session ON faults (session_id);
CREATE INDEX faults_by_code ON faults (code);
CREATE TABLE cues (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t_s        REAL,
    kind       TEXT,
    text       TEXT NOT NULL,
    code       TEXT,
    rep_index  INTEGER,
    level      INTEGER
);
CREATE INDEX cues_by_session ON cues (session_id);
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

#: Ordered schema steps: (version, SQL). Version N's SQL turns a version N-1 database into version N. Append,
#: never edit a released step.
MIGRATIONS: list[tuple[int, str]] = [(1, _V1)]


class HistoryError(CoachError):
    """The history database cannot be opened or written (the message says what to do)."""


@dataclass(frozen=True)
class Profile:
    id: int
    name: str
    created_utc: str


def default_db_path() -> Path:
    """``COACH_DB`` when set, else ``<user data>/history.sqlite``."""
    env = os.environ.get("COACH_DB")
    return Path(env).expanduser() if env else user_data_dir() / "history.sqlite"


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _num(v):
    if v is None or isinstance(v, bool):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _json(v) -> str:
    return json.dumps(v, ensure_ascii=False, allow_nan=False, default=_json_default)


def _json_default(o):
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean(v):
    """NaN/inf -> None, recursively (SQLite JSON and strict JSON readers reject NaN)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            return _clean(v.item())
        except (TypeError, ValueError):
            return v
    return v


def summary_from_coach(coach, source: str = "") -> dict:
    """A Coach's set as the same dict shape :func:`coach.analyze.build_summary` writes (without video/pose)."""
    ex = coach.exercise
    s = coach.set_summary()
    return _clean({
        "exercise": ex.id if ex else None, "exercise_name": ex.name if ex else None,
        "exercise_source": "none" if ex is None else ("recognised" if coach.recognised else "given"),
        "kind": ex.kind if ex else None, "view": coach.view or None,
        "rep_count": s["rep_count"], "partial_count": s["partial_count"], "good_reps": s["good_reps"],
        "set": {k: v for k, v in s.items() if k != "hold"}, "hold": s["hold"], "sets": coach.sets(),
        "reps": coach.rep_dicts(), "cues": [c.to_dict() for c in coach.cue_log],
        "source": source,
    })


def _session_columns(summary: dict) -> dict:
    """The ``sessions`` columns from a summary (summary.json shape, or :func:`summary_from_coach`)."""
    s = summary or {}
    st = s.get("set") or {}
    hold = s.get("hold") or {}
    reps = s.get("reps") or []
    cols = {
        "exercise": s.get("exercise"), "exercise_name": s.get("exercise_name"),
        "exercise_source": s.get("exercise_source"), "exercise_kind": s.get("kind"), "view": s.get("view"),
        "rep_count": int(s.get("rep_count") or st.get("rep_count") or 0),
        "partial_count": int(s.get("partial_count") or st.get("partial_count") or 0),
        "good_reps": int(s.get("good_reps") or st.get("good_reps") or 0),
        "most_frequent_fault": st.get("most_frequent_fault"),
        "hold_s": _num(hold.get("in_position_s")), "hold_good_s": _num(hold.get("good_form_s")),
        "hold_quality": hold.get("quality"),
    }
    for k in SET_FIGURES:
        cols[k] = _num(st.get(k))
    video = s.get("video") or {}
    if video.get("duration_s") is not None:
        cols["duration_s"] = _num(video["duration_s"])
    elif reps:
        cols["duration_s"] = _num(max(r.get("end_s") or 0 for r in reps) - min(r.get("start_s") or 0 for r in reps))
    return cols


def _summary_blob(summary: dict) -> str:
    return _json(_clean({k: v for k, v in (summary or {}).items() if k not in ("reps", "cues")}))


class History:
    """The history database at ``path`` (default :func:`default_db_path`), created and migrated on first use.

    Raises :class:`HistoryError` when the file cannot be created or is not a history database.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path).expanduser() if path else default_db_path()
        if self.path.is_dir():
            raise HistoryError(f"{self.path} is a folder; choose a history file such as {self.path / 'history.sqlite'}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise HistoryError(f"cannot create {self.path.parent} ({e.strerror or e}); choose a writable location "
                               f"for the history file") from None
        self._migrate()

    # -- connections ------------------------------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            con = sqlite3.connect(self.path, timeout=15.0, isolation_level=None)
        except sqlite3.Error as e:
            raise HistoryError(f"cannot open the history file {self.path} ({e}); choose a writable location") \
                from None
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA busy_timeout = 15000")
            yield con
        except sqlite3.DatabaseError as e:
            msg = str(e)
            if "not a database" in msg or "malformed" in msg:
                raise HistoryError(f"{self.path} is not a coach history database ({msg}); choose another file or "
                                   f"move this one away") from None
            if "readonly" in msg or "unable to open" in msg or "disk" in msg:
                raise HistoryError(f"cannot write the history file {self.path} ({msg}); choose a writable "
                                   f"location or free some disk space") from None
            raise
        finally:
            con.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is stored, or none of it."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _migrate(self) -> None:
        target = MIGRATIONS[-1][0]
        with self._connect() as con:
            try:
                con.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError:  # e.g. a network file system: the default journal still works
                log.warning("history: WAL journal not available for %s", self.path)
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > target:
                raise HistoryError(f"{self.path} was written by a newer coach (history schema {version}, this coach "
                                   f"knows {target}); upgrade coach or choose another history file")
            if version == 0:
                tables = con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
                if tables:
                    raise HistoryError(f"{self.path} is an SQLite file of another program; choose another "
                                       f"history file")
            for step, sql in MIGRATIONS:
                if step <= version:
                    continue
                con.execute("BEGIN IMMEDIATE")
                try:
                    # re-read inside the lock: another process may have migrated meanwhile
                    now = con.execute("PRAGMA user_version").fetchone()[0]
                    if now >= step:
                        con.execute("ROLLBACK")
                        continue
                    for stmt in _statements(sql):
                        con.execute(stmt)
                    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                                "applied_utc TEXT NOT NULL)")
                    con.execute("INSERT INTO schema_migrations VALUES (?, ?)", (step, utc_now()))
                    con.execute(f"PRAGMA user_version = {int(step)}")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
                log.info("history %s: schema %d", self.path, step)

    @property
    def schema_version(self) -> int:
        with self._connect() as con:
            return int(con.execute("PRAGMA user_version").fetchone()[0])

    @property
    def files_dir(self) -> Path:
        """Where kept videos and landmarks of sessions live: ``<db stem>-files/<session id>/`` beside the file."""
        return self.path.parent / f"{self.path.stem}-files"

    # -- settings ---------------------------------------------------------------------------------------------
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self._connect() as con:
            row = con.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as con:
            con.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                        "value = excluded.value", (key, str(value)))

    # -- profiles ---------------------------------------------------------------------------------------------
    def profiles(self) -> list[Profile]:
        with self._connect() as con:
            rows = con.execute("SELECT id, name, created_utc FROM profiles ORDER BY id").fetchall()
        return [Profile(r["id"], r["name"], r["created_utc"]) for r in rows]

    def add_profile(self, name: str) -> Profile:
        name = " ".join(str(name or "").split())
        if not name:
            raise HistoryError("type a name for the new profile")
        if len(name) > 60:
            raise HistoryError("profile names are at most 60 characters; use a shorter name")
        try:
            with self._tx() as con:
                cur = con.execute("INSERT INTO profiles (name, created_utc) VALUES (?, ?)", (name, utc_now()))
                pid = cur.lastrowid
        except sqlite3.IntegrityError:
            raise HistoryError(f"a profile called {name!r} already exists; pick it in the list or use another "
                               f"name") from None
        return self.profile(pid)

    def profile(self, ref: int | str) -> Profile:
        with self._connect() as con:
            if isinstance(ref, int):
                r = con.execute("SELECT id, name, created_utc FROM profiles WHERE id = ?", (ref,)).fetchone()
            else:
                r = con.execute("SELECT id, name, created_utc FROM profiles WHERE name = ?", (ref,)).fetchone()
        if r is None:
            raise HistoryError(f"no profile {ref!r}; create it first")
        return Profile(r["id"], r["name"], r["created_utc"])

    def ensure_profile(self, name: str = DEFAULT_PROFILE) -> Profile:
        """The profile called ``name``, created when missing."""
        try:
            return self.profile(name)
        except HistoryError:
            try:
                return self.add_profile(name)
            except HistoryError:  # created by another thread meanwhile
                return self.profile(name)

    def rename_profile(self, profile: int | str, new_name: str) -> Profile:
        pid = self._pid(profile)
        new_name = " ".join(str(new_name or "").split())
        if not new_name:
            raise HistoryError("type the new name")
        try:
            with self._tx() as con:
                con.execute("UPDATE profiles SET name = ? WHERE id = ?", (new_name, pid))
        except sqlite3.IntegrityError:
            raise HistoryError(f"a profile called {new_name!r} already exists; use another name") from None
        return self.profile(pid)

    def delete_profile(self, profile: int | str) -> None:
        """Delete a person and everything recorded for them (sessions, reps, kept files)."""
        pid = self._pid(profile)
        with self._connect() as con:
            ids = [r[0] for r in con.execute("SELECT id FROM sessions WHERE profile_id = ?", (pid,))]
        with self._tx() as con:
            con.execute("DELETE FROM profiles WHERE id = ?", (pid,))
        for sid in ids:
            shutil.rmtree(self.files_dir / str(sid), ignore_errors=True)

    def _pid(self, profile: int | str | Profile) -> int:
        if isinstance(profile, Profile):
            return profile.id
        return self.profile(profile).id

    # -- writing sessions -------------------------------------------------------------------------------------
    def add_session(self, profile: int | str | Profile, summary: dict, *, kind: str = "review",
                    started_utc: str | None = None, ended_utc: str | None = None, source: str = "",
                    workout_id: str | None = None, set_index: int | None = None, person_index: int = 0,
                    keep_video: str | os.PathLike | None = None, landmarks: str | os.PathLike | None = None,
                    notes: str = "") -> int:
        """Store one finished set or reviewed video (summary.json shape: ``reps`` and ``cues`` lists included)
        in one transaction; returns the session id. ``keep_video`` / ``landmarks``: files to copy into the
        history's folder (the video only when the user asked to keep it)."""
        pid = self._pid(profile)
        summary = _clean(summary or {})
        now = utc_now()
        with self._tx() as con:
            sid = self._insert_session(con, pid, kind, "complete", started_utc or now, ended_utc or now, source,
                                       workout_id, set_index, person_index, summary, notes)
            for rep in summary.get("reps") or []:
                self._insert_rep(con, sid, rep)
            self._insert_cues(con, sid, summary.get("cues") or [])
        self._attach_files(sid, keep_video, landmarks)
        return sid

    def add_analysis(self, profile: int | str | Profile, result, *, source: str = "", keep_video: bool = False,
                     notes: str = "", workout_id: str | None = None, set_index: int | None = None) -> int:
        """A reviewed video: an :class:`coach.analyze.AnalysisResult` (its landmarks are kept; its annotated
        video only with ``keep_video``). ``workout_id``, ``set_index``: for one exercise of a video of several
        (see :func:`coach.app_review.save_review`)."""
        files = getattr(result, "files", {}) or {}
        summary = result.summary
        return self.add_session(profile, summary, kind="review", started_utc=summary.get("created_utc"),
                                source=source or Path((summary.get("video") or {}).get("path") or "").name,
                                keep_video=files.get("annotated_video") if keep_video else None,
                                landmarks=files.get("landmarks_npz"), notes=notes, workout_id=workout_id,
                                set_index=set_index)

    def add_coach(self, profile: int | str | Profile, coach, *, kind: str = "live", started_utc: str | None = None,
                  ended_utc: str | None = None, source: str = "camera", **kw) -> int:
        """A finished set from a :class:`coach.session.Coach` (call ``coach.finish()`` first)."""
        return self.add_session(profile, summary_from_coach(coach, source), kind=kind, started_utc=started_utc,
                                ended_utc=ended_utc, source=source, **kw)

    # live: a set written as it happens, so a crash keeps the reps already finished
    def start_session(self, profile: int | str | Profile, *, kind: str = "live", exercise: str | None = None,
                      exercise_name: str | None = None, started_utc: str | None = None, source: str = "camera",
                      workout_id: str | None = None, set_index: int | None = None, person_index: int = 0) -> int:
        pid = self._pid(profile)
        with self._tx() as con:
            return self._insert_session(con, pid, kind, "in_progress", started_utc or utc_now(), None, source,
                                        workout_id, set_index, person_index,
                                        {"exercise": exercise, "exercise_name": exercise_name}, "")

    def add_rep(self, session_id: int, rep: dict, exercise: dict | None = None) -> None:
        """Append a finished rep to a set in progress (updates the set's counts in the same transaction).
        ``exercise``: ``{"exercise", "exercise_name", "exercise_source", "kind"}`` once it is known (a set
        started in "auto" learns its exercise with the first reps)."""
        rep = _clean(rep)
        with self._tx() as con:
            self._insert_rep(con, session_id, rep)
            con.execute("""UPDATE sessions SET
                rep_count = (SELECT count(*) FROM reps WHERE session_id = :s AND partial = 0),
                partial_count = (SELECT count(*) FROM reps WHERE session_id = :s AND partial = 1),
                good_reps = (SELECT count(*) FROM reps r WHERE r.session_id = :s AND r.partial = 0 AND r.faults = ''),
                mean_quality = (SELECT avg(quality) FROM reps WHERE session_id = :s AND partial = 0),
                view = coalesce(:view, view)
                WHERE id = :s""", {"s": session_id, "view": rep.get("view") or None})
            if exercise and exercise.get("exercise"):
                con.execute("UPDATE sessions SET exercise = ?, exercise_name = ?, exercise_source = ?, "
                            "exercise_kind = ? WHERE id = ?",
                            (exercise.get("exercise"), exercise.get("exercise_name"), exercise.get("exercise_source"),
                             exercise.get("kind"), session_id))

    def finish_session(self, session_id: int, summary: dict, *, ended_utc: str | None = None,
                       landmarks: str | os.PathLike | None = None, keep_video: str | os.PathLike | None = None) -> None:
        """Close a live set: its summary, any reps not yet stored (the one flushed at the end), the cues."""
        summary = _clean(summary or {})
        cols = _session_columns(summary)
        with self._tx() as con:
            have = {r[0] for r in con.execute("SELECT idx FROM reps WHERE session_id = ?", (session_id,))}
            for rep in summary.get("reps") or []:
                if rep.get("index") not in have:
                    self._insert_rep(con, session_id, rep)
            con.execute("DELETE FROM cues WHERE session_id = ?", (session_id,))
            self._insert_cues(con, session_id, summary.get("cues") or [])
            sets = ", ".join(f"{k} = :{k}" for k in cols)
            con.execute(f"UPDATE sessions SET {sets}, status = 'complete', ended_utc = :ended, "
                        f"summary_json = :blob WHERE id = :sid",
                        {**cols, "ended": ended_utc or utc_now(), "blob": _summary_blob(summary), "sid": session_id})
        self._attach_files(session_id, keep_video, landmarks)

    def _insert_session(self, con, pid: int, kind: str, status: str, started: str, ended: str | None, source: str,
                        workout_id, set_index, person_index: int, summary: dict, notes: str) -> int:
        if kind not in ("live", "review"):
            raise ValueError(f"kind must be 'live' or 'review', not {kind!r}")
        cols = _session_columns(summary)
        cols.update(profile_id=pid, kind=kind, status=status, started_utc=started, ended_utc=ended,
                    source=source or "", workout_id=workout_id, set_index=set_index, person_index=int(person_index),
                    summary_json=_summary_blob(summary), notes=notes or "")
        names = list(cols)
        cur = con.execute(f"INSERT INTO sessions ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})",
                          cols)
        return int(cur.lastrowid)

    @staticmethod
    def _insert_rep(con, sid: int, rep: dict) -> None:
        m = rep.get("metrics") or {}
        row = {
            "session_id": sid, "idx": int(rep.get("index") or 0), "start_s": _num(rep.get("start_s")),
            "turn_s": _num(rep.get("turn_s")), "end_s": _num(rep.get("end_s")), "partial": int(bool(rep.get("partial"))),
            "partial_reason": rep.get("partial_reason"), "quality": rep.get("quality"),
            "faults": ";".join(rep.get("faults") or []), "cue": rep.get("cue") or "", "view": rep.get("view"),
            "data_json": _json(rep),
        }
        for k in REP_METRICS:
            row[k] = _num(m.get(k))
        names = list(row)
        cur = con.execute(f"INSERT OR REPLACE INTO reps ({', '.join(names)}) VALUES "
                          f"({', '.join(':' + n for n in names)})", row)
        rid = cur.lastrowid
        for f in rep.get("fault_details") or []:
            con.execute("INSERT INTO faults (rep_id, session_id, code, name, severity, source, evidence, value, "
                        "threshold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (rid, sid, f.get("code"), f.get("name"), f.get("severity"), f.get("source"),
                         f.get("evidence"), _num(f.get("value")), _num(f.get("threshold"))))

    @staticmethod
    def _insert_cues(con, sid: int, cues: list[dict]) -> None:
        con.executemany("INSERT INTO cues (session_id, t_s, kind, text, code, rep_index, level) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?)",
                        [(sid, _num(c.get("t_s")), c.get("kind"), c.get("text") or "", c.get("code"),
                          c.get("rep_index"), c.get("level")) for c in cues if c.get("text")])

    def _attach_files(self, sid: int, keep_video, landmarks) -> None:
        """Copy the files to keep into ``files_dir/<id>/`` (outside the transaction: a failed copy leaves the
        session's results stored, without that file)."""
        updates = {}
        for col, src, name in (("video_path", keep_video, "annotated.mp4"), ("landmarks_path", landmarks,
                                                                            "landmarks.npz")):
            if not src:
                continue
            src = Path(src)
            if not src.is_file():
                continue
            dest = self.files_dir / str(sid) / name
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                if src.resolve() != dest.resolve():
                    shutil.copyfile(src, dest)
                updates[col] = str(dest)
            except OSError as e:
                log.warning("history: could not keep %s (%s)", src, e)
        if updates:
            with self._tx() as con:
                for col, v in updates.items():
                    con.execute(f"UPDATE sessions SET {col} = ? WHERE id = ?", (v, sid))

    # -- reading ----------------------------------------------------------------------------------------------
    def sessions(self, profile: int | str | Profile | None = None, *, exercise: str | None = None,
                 kind: str | None = None, limit: int | None = None) -> list[dict]:
        """Sessions newest first (with the profile's name), as dicts of the ``sessions`` columns."""
        where, args = [], []
        if profile is not None:
            where.append("s.profile_id = ?")
            args.append(self._pid(profile))
        if exercise:
            where.append("s.exercise = ?")
            args.append(exercise)
        if kind:
            where.append("s.kind = ?")
            args.append(kind)
        sql = ("SELECT s.*, p.name AS profile FROM sessions s JOIN profiles p ON p.id = s.profile_id"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY s.started_utc DESC, s.id DESC")
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._connect() as con:
            rows = con.execute(sql, args).fetchall()
        return [self._session_row(r) for r in rows]

    @staticmethod
    def _session_row(r: sqlite3.Row) -> dict:
        d = dict(r)
        d["summary"] = json.loads(d.pop("summary_json") or "{}")
        return d

    def session(self, session_id: int) -> dict | None:
        """One session with its reps (``RepReport.to_dict()`` each), faults and cues."""
        with self._connect() as con:
            r = con.execute("SELECT s.*, p.name AS profile FROM sessions s JOIN profiles p ON p.id = s.profile_id "
                            "WHERE s.id = ?", (session_id,)).fetchone()
            if r is None:
                return None
            d = self._session_row(r)
            d["reps"] = [json.loads(x["data_json"]) for x in
                         con.execute("SELECT data_json FROM reps WHERE session_id = ? ORDER BY idx", (session_id,))]
            d["cues"] = [dict(x) for x in con.execute(
                "SELECT t_s, kind, text, code, rep_index, level FROM cues WHERE session_id = ? ORDER BY id",
                (session_id,))]
        return d

    def reps(self, profile: int | str | Profile | None = None, session_id: int | None = None) -> list[dict]:
        """Rep rows (columns, not the JSON) with their session's time and exercise, oldest first."""
        where, args = [], []
        if profile is not None:
            where.append("s.profile_id = ?")
            args.append(self._pid(profile))
        if session_id is not None:
            where.append("r.session_id = ?")
            args.append(session_id)
        sql = ("SELECT r.session_id, s.started_utc, s.kind, s.exercise, p.name AS profile, r.idx AS rep, r.start_s, "
               "r.turn_s, r.end_s, r.partial, r.partial_reason, r.quality, r.faults, r.cue, r.view, "
               + ", ".join(f"r.{k}" for k in REP_METRICS) +
               ", (SELECT group_concat(f.evidence, ' | ') FROM faults f WHERE f.rep_id = r.id) AS evidence, "
               # the set: of the reviewed video the rep is in, or the live set its session is
               "coalesce(json_extract(r.data_json, '$.set'), s.set_index) AS \"set\" "
               "FROM reps r JOIN sessions s ON s.id = r.session_id JOIN profiles p ON p.id = s.profile_id"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY s.started_utc, s.id, r.idx")
        with self._connect() as con:
            return [dict(r) for r in con.execute(sql, args)]

    def fault_counts(self, profile: int | str | Profile | None = None) -> list[dict]:
        """Faults per session: ``{"session_id", "started_utc", "exercise", "code", "name", "count"}``."""
        where, args = "", []
        if profile is not None:
            where, args = "WHERE s.profile_id = ?", [self._pid(profile)]
        sql = ("SELECT s.id AS session_id, s.started_utc, s.exercise, f.code, max(f.name) AS name, count(*) AS count "
               f"FROM faults f JOIN sessions s ON s.id = f.session_id {where} "
               "GROUP BY s.id, f.code ORDER BY s.started_utc, s.id, f.code")
        with self._connect() as con:
            return [dict(r) for r in con.execute(sql, args)]

    # -- deleting ---------------------------------------------------------------------------------------------
    def delete_session(self, session_id: int) -> bool:
        """Delete a session with its reps, faults, cues and kept files. False when there was none."""
        with self._tx() as con:
            n = con.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount
        shutil.rmtree(self.files_dir / str(session_id), ignore_errors=True)
        return n > 0

    # -- export -----------------------------------------------------------------------------------------------
    def export(self, profile: int | str | Profile | None = None) -> dict:
        """Everything (or one person's) as one JSON-able dict: profiles -> sessions -> reps and cues."""
        pid = None if profile is None else self._pid(profile)
        out = {"format": EXPORT_FORMAT, "schema_version": self.schema_version, "exported_utc": utc_now(),
               "profiles": []}
        for p in self.profiles():
            if pid is not None and p.id != pid:
                continue
            sessions = []
            for s in reversed(self.sessions(p.id)):
                full = self.session(s["id"])
                full.pop("profile", None)
                sessions.append(full)
            out["profiles"].append({"id": p.id, "name": p.name, "created_utc": p.created_utc, "sessions": sessions})
        return out

    def export_json(self, profile: int | str | Profile | None = None) -> str:
        return json.dumps(self.export(profile), indent=1, ensure_ascii=False)

    def export_csv(self, profile: int | str | Profile | None = None) -> dict[str, str]:
        """``{"sessions.csv": text, "reps.csv": text}``: one row per session / per rep (faults with evidence)."""
        sessions = list(reversed(self.sessions(profile)))
        scols = ["id", "profile", "kind", "status", "started_utc", "ended_utc", "exercise", "exercise_name", "view",
                 "source", "set_index", "duration_s", "rep_count", "partial_count", "good_reps", "most_frequent_fault",
                 *SET_FIGURES, "hold_s", "hold_good_s", "hold_quality", "video_path"]
        reps = self.reps(profile)
        rcols = ["session_id", "profile", "started_utc", "kind", "exercise", "rep", "start_s", "turn_s", "end_s",
                 "partial", "partial_reason", "quality", "faults", "evidence", "cue", "view", *REP_METRICS, "set"]
        return {"sessions.csv": _csv(scols, sessions), "reps.csv": _csv(rcols, reps)}


def _csv(cols: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in cols])
    return buf.getvalue()


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (the scripts hold no ';' inside literals)."""
    return [s.strip() for s in sql.split(";") if s.strip()]


def new_workout_id() -> str:
    return uuid.uuid4().hex[:12]
