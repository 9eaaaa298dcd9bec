"""Corrective cues: one short line per rep at most, the most important fault first, escalating when a fault
repeats, a short positive cue for a good rep, and a setup prompt (never a form cue) when the body is not fully
in view."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from coach.diagnosis import RepReport

log = logging.getLogger(__name__)

CUE_KINDS = ("fault", "good", "setup", "info")


@dataclass(frozen=True)
class Cue:
    text: str
    kind: str  # "fault", "good", "setup" (camera / visibility), "info" (e.g. the exercise recognised)
    t_s: float
    code: str = ""  # fault code for "fault" cues
    rep_index: int | None = None
    level: int = 1  # 1 first time, 2+ escalated (the fault repeated)

    def __post_init__(self) -> None:
        if self.kind not in CUE_KINDS:
            raise ValueError(f"cue kind must be one of {CUE_KINDS}")

    def to_dict(self) -> dict:
        return {"t_s": round(self.t_s, 3), "kind": self.kind, "text": self.text, "code": self.code or None,
                "rep_index": self.rep_index, "level": self.level}


class CueEngine:
    """Decides what to say. ``escalate_after``: a fault seen on this many reps in a row gets its stronger cue;
    ``setup_every_s``: the least time between two setup prompts; ``hold_every_s``: between two cues in a hold."""

    def __init__(self, escalate_after: int = 2, setup_every_s: float = 4.0, hold_every_s: float = 5.0):
        self.escalate_after = escalate_after
        self.setup_every_s = setup_every_s
        self.hold_every_s = hold_every_s
        self._streak: dict[str, int] = {}
        self._last_setup: tuple[str, float] | None = None
        self._last_hold: dict[str, float] = {}
        self._last_fault_rep: int | None = None

    def for_rep(self, report: RepReport, t_s: float, good_cue: str = "Good rep!", fully_visible: bool = True) -> Cue | None:
        rep = report.rep
        if not fully_visible:
            return None  # the session says "step back" instead
        seen = {f.code for f in report.faults}
        for code in list(self._streak):
            if code not in seen:
                del self._streak[code]
        for code in seen:
            self._streak[code] = self._streak.get(code, 0) + 1
        if report.faults:
            top = report.faults[0]
            streak = self._streak[top.code]
            level = 1 if streak < self.escalate_after else streak - self.escalate_after + 2
            text = top.cue
            if level >= 2:
                text = top.cue_repeat or f"Again: {top.cue[0].lower()}{top.cue[1:]}"
            self._last_fault_rep = rep.index
            return Cue(text, "fault", t_s, top.code, rep.index, level)
        if rep.partial:
            if rep.reason == "cut short":
                return Cue("Finish each rep: use the full range", "fault", t_s, "partial_rep", rep.index)
            return None  # a rep cut by the edge of the recording: nothing to coach
        if self._last_fault_rep is not None and self._last_fault_rep == rep.index - 1:
            return Cue("Better! That's it", "good", t_s, "", rep.index)
        return Cue(good_cue, "good", t_s, "", rep.index)

    def setup(self, message: str, t_s: float) -> Cue | None:
        if self._last_setup and self._last_setup[0] == message and t_s - self._last_setup[1] < self.setup_every_s:
            return None
        self._last_setup = (message, t_s)
        return Cue(message, "setup", t_s)

    def for_hold(self, faults, t_s: float) -> Cue | None:
        """During a hold: the top fault, at most every ``hold_every_s`` per fault."""
        if not faults:
            return None
        top = faults[0]
        last = self._last_hold.get(top.code)
        if last is not None and t_s - last < self.hold_every_s:
            return None
        level = 2 if last is not None else 1
        self._last_hold[top.code] = t_s
        text = top.cue_repeat if level >= 2 and top.cue_repeat else top.cue
        return Cue(text, "fault", t_s, top.code, None, level)
