"""The history store: schema and migrations, profiles, sessions from a Coach and from an analysis, live sets
written as they happen, deletes that cascade, exports, and the errors a user can cause."""
from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading

import pytest

from coach import history as hist_mod
from coach.history import History, HistoryError, default_db_path, summary_from_coach


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COACH_DB", raising=False)
    return tmp_path / "home"


@pytest.fixture
def h(tmp_path) -> History:
    return History(tmp_path / "h.sqlite")


def rep(i: int, faults=(), partial=False, quality=None, velocity=0.5) -> dict:
    """A rep in the shape of RepReport.to_dict()."""
    details = [{"code": c, "name": c.replace("_", " ").capitalize(), "severity": 2, "source": "measure",
                "evidence": f"{c} evidence on rep {i}", "value": 1.5, "threshold": 1.0, "probability": None}
               for c in faults]
    return {"index": i, "start_s": 2.0 * i, "turn_s": 2.0 * i + 0.8, "end_s": 2.0 * i + 1.7, "partial": partial,
            "partial_reason": "cut short" if partial else None,
            "quality": quality if quality is not None else (100 - 30 * len(faults)),
            "faults": list(faults), "fault_details": details, "cue": "Go deeper" if faults else "Good rep!",
            "view": "side",
            "metrics": {"duration_s": 1.7, "eccentric_s": 0.8, "concentric_s": 0.9, "rom": 95.0, "rom_in": 95.0,
                        "rom_out": 94.0, "concentric_velocity_m_s": velocity, "peak_velocity_m_s": velocity * 1.6},
            "measures": {"knee_flexion@turn": 95.0}, "model": None}


def summary(reps: list[dict], exercise="squat", name="Squat") -> dict:
    full = [r for r in reps if not r["partial"]]
    counts = {}
    for r in reps:
        for c in r["faults"]:
            counts[c] = counts.get(c, 0) + 1
    return {"exercise": exercise, "exercise_name": name, "exercise_source": "given", "kind": "reps", "view": "side",
            "rep_count": len(full), "partial_count": len(reps) - len(full),
            "good_reps": sum(1 for r in full if not r["faults"]),
            "set": {"rep_count": len(full), "mean_quality": sum(r["quality"] for r in full) / max(len(full), 1),
                    "most_frequent_fault": max(counts, key=counts.get) if counts else None, "fault_counts": counts,
                    "mean_duration_s": 1.7, "mean_eccentric_s": 0.8, "mean_concentric_s": 0.9, "mean_rom": 95.0,
                    "mean_concentric_velocity_m_s": 0.5, "velocity_loss_pct": 12.5},
            "hold": None, "reps": reps,
            "cues": [{"t_s": r["end_s"], "kind": "fault" if r["faults"] else "good", "text": r["cue"],
                      "code": (r["faults"] or [None])[0], "rep_index": r["index"], "level": 1} for r in reps],
            "video": {"path": "/somewhere/clip.mp4", "duration_s": 12.0}}


# -- the file -----------------------------------------------------------------------------------------------------
def test_created_on_first_use_under_the_user_data_folder(home):
    h = History()
    assert h.path == home / "history.sqlite" == default_db_path()
    assert h.path.is_file()
    assert h.schema_version == hist_mod.MIGRATIONS[-1][0]
    with sqlite3.connect(h.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"profiles", "sessions", "reps", "faults", "cues", "settings", "schema_migrations"} <= tables
        assert [r[0] for r in con.execute("SELECT version FROM schema_migrations")] == [1]


def test_coach_db_env_overrides_the_path(home, tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_DB", str(tmp_path / "elsewhere" / "x.sqlite"))
    assert History().path == tmp_path / "elsewhere" / "x.sqlite"
    assert (tmp_path / "elsewhere" / "x.sqlite").is_file()


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path):
    h = History(tmp_path / "h.sqlite")
    h.add_session(h.ensure_profile(), summary([rep(1)]))
    h2 = History(tmp_path / "h.sqlite")
    assert len(h2.sessions()) == 1
    with sqlite3.connect(h2.path) as con:
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == 1


def test_a_later_migration_runs_in_order_and_keeps_the_data(tmp_path, monkeypatch):
    h = History(tmp_path / "h.sqlite")
    sid = h.add_session(h.ensure_profile("Ann"), summary([rep(1), rep(2, ["shallow"])]))
    monkeypatch.setattr(hist_mod, "MIGRATIONS", hist_mod.MIGRATIONS + [
        (2, "ALTER TABLE sessions ADD COLUMN rpe REAL; CREATE INDEX sessions_rpe ON sessions (rpe)")])
    h2 = History(tmp_path / "h.sqlite")
    assert h2.schema_version == 2
    s = h2.session(sid)
    assert s["rep_count"] == 2 and "rpe" in s and len(s["reps"]) == 2


def test_a_failing_migration_leaves_the_file_at_the_old_version(tmp_path, monkeypatch):
    History(tmp_path / "h.sqlite")
    monkeypatch.setattr(hist_mod, "MIGRATIONS", hist_mod.MIGRATIONS + [
        (2, "ALTER TABLE sessions ADD COLUMN ok REAL; ALTER TABLE no_such_table ADD COLUMN x REAL")])
    with pytest.raises(sqlite3.OperationalError):
        History(tmp_path / "h.sqlite")
    with sqlite3.connect(tmp_path / "h.sqlite") as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1
        cols = {r[1] for r in con.execute("PRAGMA table_info(sessions)")}
        assert "ok" not in cols  # the whole step rolled back


def test_a_file_from_a_newer_coach_is_refused_untouched(tmp_path):
    p = tmp_path / "h.sqlite"
    History(p)
    with sqlite3.connect(p) as con:
        con.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="newer coach.*upgrade"):
        History(p)


@pytest.mark.parametrize("make, match", [
    (lambda p: p.write_bytes(b"this is not a database at all" * 100), "not a coach history database"),
    (lambda p: sqlite3.connect(p).execute("CREATE TABLE other (x)").connection.commit(), "another program"),
    (lambda p: p.mkdir(), "is a folder"),
])
def test_a_wrong_file_gives_a_one_line_error(tmp_path, make, match):
    p = tmp_path / "h.sqlite"
    make(p)
    with pytest.raises(HistoryError, match=match) as e:
        History(p)
    assert "\n" not in str(e.value)


def test_an_unwritable_location_gives_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HistoryError, match="cannot create"):
        History(blocker / "sub" / "h.sqlite")


# -- profiles -------------------------------------------------------------------------------------------------------
def test_profiles(h):
    assert h.profiles() == []
    me = h.ensure_profile()
    assert me.name == "Me" and h.ensure_profile().id == me.id
    ann = h.add_profile("  Ann   Lee ")
    assert ann.name == "Ann Lee"
    with pytest.raises(HistoryError, match="already exists"):
        h.add_profile("ann lee")
    with pytest.raises(HistoryError, match="type a name"):
        h.add_profile("   ")
    assert [p.name for p in h.profiles()] == ["Me", "Ann Lee"]
    assert h.rename_profile(ann.id, "Ann").name == "Ann"
    with pytest.raises(HistoryError, match="no profile"):
        h.profile("Nobody")


def test_sessions_are_kept_per_person_and_deleting_a_person_removes_theirs(h):
    a, b = h.add_profile("A"), h.add_profile("B")
    h.add_session(a, summary([rep(1)]))
    sb = h.add_session(b, summary([rep(1), rep(2)], "lunge", "Lunge"))
    assert [s["profile"] for s in h.sessions(a)] == ["A"]
    assert [s["exercise"] for s in h.sessions(b)] == ["lunge"]
    h.delete_profile(b.id)
    assert h.session(sb) is None
    with sqlite3.connect(h.path) as con:
        assert con.execute("SELECT count(*) FROM reps").fetchone()[0] == 1  # only A's rep is left


# -- sessions -------------------------------------------------------------------------------------------------------
def test_a_session_keeps_every_rep_metric_fault_evidence_and_cue(h):
    p = h.ensure_profile()
    reps = [rep(1), rep(2, ["shallow_squat", "knees_in"]), rep(3, partial=True)]
    sid = h.add_session(p, summary(reps), source="clip.mp4")
    s = h.session(sid)
    assert s["kind"] == "review" and s["status"] == "complete" and s["source"] == "clip.mp4"
    assert (s["rep_count"], s["partial_count"], s["good_reps"]) == (2, 1, 1)
    assert s["most_frequent_fault"] == "shallow_squat" and s["velocity_loss_pct"] == 12.5
    assert s["mean_eccentric_s"] == 0.8 and s["duration_s"] == 12.0
    assert s["reps"] == reps  # RepReport.to_dict() comes back whole
    assert s["summary"]["set"]["fault_counts"] == {"shallow_squat": 1, "knees_in": 1}
    assert "reps" not in s["summary"]
    assert [c["text"] for c in s["cues"]] == ["Good rep!", "Go deeper", "Good rep!"]
    rows = h.reps(p)
    assert [r["rep"] for r in rows] == [1, 2, 3]
    r2 = rows[1]
    assert (r2["eccentric_s"], r2["concentric_s"], r2["rom"], r2["concentric_velocity_m_s"]) == (0.8, 0.9, 95.0, 0.5)
    assert r2["faults"] == "shallow_squat;knees_in"
    assert "shallow_squat evidence on rep 2" in r2["evidence"]
    fc = h.fault_counts(p)
    assert {(f["code"], f["count"]) for f in fc} == {("shallow_squat", 1), ("knees_in", 1)}


def test_nan_and_numpy_values_are_stored_as_null_and_numbers(h):
    import numpy as np

    r = rep(1)
    r["metrics"]["rom"] = float("nan")
    r["metrics"]["concentric_velocity_m_s"] = np.float32(0.25)
    sid = h.add_session(h.ensure_profile(), summary([r]))
    s = h.session(sid)
    assert s["reps"][0]["metrics"]["rom"] is None
    assert abs(s["reps"][0]["metrics"]["concentric_velocity_m_s"] - 0.25) < 1e-6
    assert h.reps()[0]["rom"] is None


def test_a_write_that_fails_part_way_stores_nothing(h, monkeypatch):
    p = h.ensure_profile()

    def boom(*a, **k):
        raise RuntimeError("disk fell off")
    monkeypatch.setattr(History, "_insert_cues", staticmethod(boom))
    with pytest.raises(RuntimeError):
        h.add_session(p, summary([rep(1), rep(2)]))
    assert h.sessions() == []
    with sqlite3.connect(h.path) as con:
        assert con.execute("SELECT count(*) FROM reps").fetchone()[0] == 0


def test_a_live_set_is_written_as_it_happens(h):
    """Session row at the start, each rep as it finishes (a crash keeps them), the summary at the end."""
    p = h.ensure_profile()
    sid = h.start_session(p, exercise=None, workout_id="w1", set_index=1)
    s = h.session(sid)
    assert s["status"] == "in_progress" and s["kind"] == "live" and s["rep_count"] == 0
    ex = {"exercise": "squat", "exercise_name": "Squat", "exercise_source": "recognised", "kind": "reps"}
    h.add_rep(sid, rep(1), ex)
    h.add_rep(sid, rep(2, ["knees_in"]), ex)
    s = h.session(sid)  # what a crash now would leave: both reps, counted
    assert s["status"] == "in_progress" and s["exercise"] == "squat"
    assert (s["rep_count"], s["good_reps"], len(s["reps"])) == (2, 1, 2)
    reps = [rep(1), rep(2, ["knees_in"]), rep(3)]  # the last rep is flushed at the end of the set
    h.finish_session(sid, summary(reps))
    s = h.session(sid)
    assert s["status"] == "complete" and s["ended_utc"]
    assert [r["index"] for r in s["reps"]] == [1, 2, 3]
    assert (s["rep_count"], s["good_reps"]) == (3, 2)
    assert len(s["cues"]) == 3
    with sqlite3.connect(h.path) as con:
        assert con.execute("SELECT count(*) FROM faults WHERE session_id = ?", (sid,)).fetchone()[0] == 1


def test_writes_from_several_threads(h):
    p = h.ensure_profile()
    errors = []

    def work(k):
        try:
            sid = h.start_session(p, set_index=k)
            for i in range(1, 6):
                h.add_rep(sid, rep(i))
            h.finish_session(sid, summary([rep(i) for i in range(1, 6)]))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(s["rep_count"] for s in h.sessions(p)) == [5, 5, 5, 5]


def test_kept_files_and_delete(h, tmp_path):
    video = tmp_path / "annotated.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    lm = tmp_path / "landmarks.npz"
    lm.write_bytes(b"npz")
    p = h.ensure_profile()
    kept = h.add_session(p, summary([rep(1)]), keep_video=video, landmarks=lm)
    plain = h.add_session(p, summary([rep(1)]), landmarks=lm)
    s = h.session(kept)
    assert s["video_path"] and (h.files_dir / str(kept) / "annotated.mp4").read_bytes() == video.read_bytes()
    assert h.session(plain)["video_path"] is None  # no video unless asked for
    assert (h.files_dir / str(plain) / "landmarks.npz").is_file()
    assert h.delete_session(kept) is True
    assert h.session(kept) is None and not (h.files_dir / str(kept)).exists()
    assert h.delete_session(kept) is False
    with sqlite3.connect(h.path) as con:
        for table in ("reps", "faults", "cues"):
            n = con.execute(f"SELECT count(*) FROM {table} WHERE session_id = ?", (kept,)).fetchone()[0]
            assert n == 0, table


def test_export_json_and_csv(h):
    a, b = h.add_profile("A"), h.add_profile("B")
    h.add_session(a, summary([rep(1), rep(2, ["knees_in"])]))
    h.add_session(b, summary([rep(1)], "lunge", "Lunge"))
    everything = json.loads(h.export_json())
    assert everything["format"] == "coach.history"
    assert [p["name"] for p in everything["profiles"]] == ["A", "B"]
    sa = everything["profiles"][0]["sessions"][0]
    assert sa["reps"][1]["fault_details"][0]["evidence"] == "knees_in evidence on rep 2"
    only_b = h.export(b)
    assert [p["name"] for p in only_b["profiles"]] == ["B"]
    files = h.export_csv(a)
    sessions = list(csv.DictReader(io.StringIO(files["sessions.csv"])))
    reps = list(csv.DictReader(io.StringIO(files["reps.csv"])))
    assert len(sessions) == 1 and sessions[0]["rep_count"] == "2" and sessions[0]["profile"] == "A"
    assert [r["rep"] for r in reps] == ["1", "2"]
    assert reps[1]["faults"] == "knees_in" and "evidence on rep 2" in reps[1]["evidence"]
    assert reps[0]["eccentric_s"] == "0.8" and reps[0]["concentric_velocity_m_s"] == "0.5"


def test_each_rep_keeps_its_set(h):
    """A reviewed video of two sets keeps each rep's set (velocity loss is within a set: next-set advice needs
    it); a live set's reps are of the set its session is."""
    from coach.session import replay
    from synth import two_squat_sets

    seq, _ = two_squat_sets(30.0)
    coach = replay("squat", seq)
    p = h.ensure_profile()
    review = h.add_session(p, summary_from_coach(coach, "session.mp4"), kind="review")
    live = h.add_session(p, summary([rep(1), rep(2)]), kind="live", set_index=3)
    stored = h.session(review)
    assert [r["set"] for r in stored["reps"]] == [1, 1, 1, 2, 2, 2, 2]
    assert [x["rep_count"] for x in stored["summary"]["sets"]] == [3, 4]
    assert stored["velocity_loss_pct"] == max(x["velocity_loss_pct"] for x in coach.sets())
    rows = list(csv.DictReader(io.StringIO(h.export_csv(p)["reps.csv"])))
    assert [(int(r["session_id"]), r["set"]) for r in rows] == [(review, "1")] * 3 + [(review, "2")] * 4 + [(live, "3")] * 2


def test_settings(h):
    assert h.get_setting("last_profile") is None
    h.set_setting("last_profile", "Ann")
    h.set_setting("last_profile", "Bob")
    assert h.get_setting("last_profile") == "Bob"


# -- from the coaching core, on a real recording --------------------------------------------------------------------
@pytest.mark.integration
def test_a_real_set_from_the_coach(h, data_dir):
    from coach.datasets import cached_landmarks
    from coach.session import Coach

    seq = cached_landmarks(data_dir / "more_exercises/kaiakol__computervision/jumpingjack_correct_007.mp4")
    coach = Coach("jumping-jack", image_size=seq.image_size)
    for res in seq.results():
        coach.process(res)
    coach.finish()
    sid = h.add_coach(h.ensure_profile(), coach)
    s = h.session(sid)
    assert s["kind"] == "live" and s["exercise"] == "jumping-jack" and s["rep_count"] == 3
    assert s["reps"] == json.loads(json.dumps(summary_from_coach(coach)["reps"]))
    for r in h.reps(session_id=sid):
        assert r["eccentric_s"] > 0 and r["concentric_s"] > 0 and r["rom"] > 0 and r["quality"] is not None
        assert r["cue"]
