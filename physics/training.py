"""Training of the interaction network (torch): data preparation, augmentation, one-step + rollout loss.

Windows of ``rollout_steps + 2`` consecutive grid frames are drawn from the training sequences. The first two
frames give the state (position and finite-difference velocity); the model then rolls out ``rollout_steps``
steps on its own predictions, and the loss compares each predicted position with the observed one:

    loss = e_1 + rollout_weight * mean_{h = 2..H} e_h / h^2

with ``e_h`` the mean squared position error after ``h`` steps in units of the acceleration scale (dividing by
``h^2`` puts every step on the scale of a one-step error). Augmentation, each drawn per window: a rotation about
the vertical axis (``yaw_deg``), a small tilt of the vertical (``tilt_deg``, cameras are not level), mirroring
(reflection + left/right swap), tempo (the sequences are re-timed by factors in ``tempo_range`` before going on
the grid), dropped joints (``mask_dropout``) and Gaussian noise on the two input frames (``noise_std``, body
units) while the targets stay clean, which teaches the model to correct its own errors in rollouts.

Deterministic: the same data, config and seed give the same weights (a time budget that cuts training short
breaks this; it is a safety limit, not the normal way to stop).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import Callable, Sequence

import numpy as np

from physics.errors import TrainingDataError
from physics.frame import FrameSpec, to_grid
from physics.network import NetworkConfig
from physics.sequence import MotionSequence
from physics.skeleton import Skeleton

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (stored in the simulator file's metadata)."""

    steps: int = 1500  # optimiser steps (``epochs`` overrides when given)
    epochs: float | None = None  # passes over the training windows
    time_budget_s: float | None = None  # safety limit on wall time
    batch_size: int = 64
    lr: float = 2e-3
    lr_final_fraction: float = 0.05  # cosine decay to lr * this
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    huber_delta: float | None = None  # robust loss: Huber on position errors, in units of acc_scale (None: MSE)
    rollout_steps: int = 6
    rollout_weight: float = 0.5
    noise_std: float = 0.003
    mask_dropout: float = 0.05
    yaw_deg: float = 180.0
    tilt_deg: float = 8.0
    mirror: bool = True
    tempo_range: tuple[float, float] = (0.8, 1.25)
    tempo_variants: int = 5
    val_fraction: float = 0.15  # whole sequences held out of the training data to pick the best checkpoint
    eval_every: int = 100
    seed: int = 0
    num_threads: int | None = None  # torch threads while training (None: leave as is)
    hidden: int = 64
    layers: int = 2
    effect_dim: int = 32

    @property
    def network(self) -> NetworkConfig:
        return NetworkConfig(self.hidden, self.layers, self.effect_dim)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tempo_range"] = list(self.tempo_range)
        return d

    @classmethod
    def from_kwargs(cls, base: "TrainConfig | None" = None, **kw) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(kw) - names)
        if unknown:
            raise TypeError(f"unknown training option(s) {unknown}; known: {sorted(names)}")
        if "tempo_range" in kw:
            kw["tempo_range"] = tuple(float(v) for v in kw["tempo_range"])
        return replace(base or cls(), **kw)


@dataclass(frozen=True)
class TrainProgress:
    """Passed to the ``progress`` callback at every evaluation and at the end."""

    step: int
    total_steps: int
    loss: float
    val_rmse: float | None
    elapsed_s: float


@dataclass
class TrainResult:
    weights: dict[str, np.ndarray]
    rest: np.ndarray
    scales: dict[str, float]
    summary: dict


# --- data ----------------------------------------------------------------------------------------------------
def _tempo_factors(cfg: TrainConfig) -> list[float]:
    lo, hi = cfg.tempo_range
    if cfg.tempo_variants <= 1 or lo == hi:
        return [1.0]
    f = np.geomspace(lo, hi, cfg.tempo_variants)
    return sorted({round(float(v), 6) for v in f} | {1.0})


def _grids(seqs: Sequence[MotionSequence], skeleton: Skeleton, spec: FrameSpec, factors: list[float]):
    """Every sequence on the grid at every time-scale factor (sequence-major order)."""
    return [to_grid(s, skeleton, spec, time_scale=f) for s in seqs for f in factors]


def data_statistics(grids, skeleton: Skeleton) -> tuple[np.ndarray, dict[str, float]]:
    """Rest length per relation (median observed length) and the feature scales, from grid sequences."""
    xs, vs, acs, lens = [], [], [], []
    s, r = skeleton.senders, skeleton.receivers
    for g in grids:
        x, m = g.x, g.m
        if len(x) == 0:
            continue
        xs.append(x[m])
        mv = m[1:] & m[:-1]
        vs.append((x[1:] - x[:-1])[mv])
        if len(x) > 2:
            ma = m[2:] & m[1:-1] & m[:-2]
            acs.append((x[2:] - 2 * x[1:-1] + x[:-2])[ma])
        d = np.linalg.norm(x[:, s] - x[:, r], axis=-1)
        d[~(m[:, s] & m[:, r])] = np.nan
        lens.append(d)
    if not xs or not sum(len(a) for a in acs):
        raise TrainingDataError("no usable frames: every training sequence is too short or has its root or "
                                "size joints unseen")
    allx, allv, alla = np.concatenate(xs), np.concatenate(vs), np.concatenate(acs)
    d = np.concatenate(lens)
    with np.errstate(all="ignore"):
        rest = np.nanmedian(d, axis=0) if len(d) else np.full(len(s), np.nan)
    if np.isnan(rest).any():
        fill = float(np.nanmedian(rest)) if np.isfinite(rest).any() else 1.0
        missing = [f"{skeleton.joints[s[i]]}-{skeleton.joints[r[i]]}" for i in np.flatnonzero(np.isnan(rest))]
        log.warning("no observed length for relation(s) %s; using %.3f", missing, fill)
        rest = np.where(np.isnan(rest), fill, rest)
    # relations come in pairs a->b, b->a: make them exactly equal
    rest = rest.astype(np.float32)
    rest[1::2] = rest[0::2]

    def rms(a):
        v = float(np.sqrt(np.mean(np.square(a, dtype=np.float64))))
        return v if v > 1e-8 else 1.0

    return rest, {"pos_scale": rms(allx), "vel_scale": rms(allv), "acc_scale": rms(alla)}


def _windows(grids, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenated clean positions ``(N, J, 3)``, masks ``(N, J)`` and valid window starts."""
    xs, ms, starts = [], [], []
    offset = 0
    for g in grids:
        k = len(g)
        x = np.where(g.m[..., None], g.x, 0.0).astype(np.float32)
        xs.append(x)
        ms.append(g.m)
        if k >= length:
            st = np.arange(k - length + 1)
            ok = (g.m[st] & g.m[st + 1] & g.m[st + 2]).any(axis=1)
            starts.append(st[ok] + offset)
        offset += k
    if not starts or not sum(len(s) for s in starts):
        raise TrainingDataError(f"no training window of {length} valid grid frames; give longer sequences or "
                                f"lower rollout_steps")
    return np.concatenate(xs), np.concatenate(ms), np.concatenate(starts)


def _rotations(rng: np.random.Generator, n: int, cfg: TrainConfig, vertical: int) -> np.ndarray:
    """``(n, 3, 3)``: a yaw about the vertical axis, then a small tilt about both horizontal axes."""
    h1, h2 = [a for a in range(3) if a != vertical]

    def rot(axis_a, axis_b, ang):
        r = np.tile(np.eye(3), (n, 1, 1))
        c, s = np.cos(ang), np.sin(ang)
        r[:, axis_a, axis_a], r[:, axis_a, axis_b] = c, -s
        r[:, axis_b, axis_a], r[:, axis_b, axis_b] = s, c
        return r

    yaw = rng.uniform(-1, 1, n) * math.radians(cfg.yaw_deg)
    t1 = rng.uniform(-1, 1, n) * math.radians(cfg.tilt_deg)
    t2 = rng.uniform(-1, 1, n) * math.radians(cfg.tilt_deg)
    # yaw turns the horizontal plane (h1, h2); tilts turn (vertical, h1) and (vertical, h2)
    return (rot(vertical, h2, t2) @ rot(vertical, h1, t1) @ rot(h1, h2, yaw)).astype(np.float32)


def split_validation(n: int, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Indices of training and validation sequences (whole sequences; none held out below 4 sequences)."""
    rng = np.random.default_rng(cfg.seed + 7919)
    order = rng.permutation(n)
    n_val = int(round(n * cfg.val_fraction)) if n >= 4 else 0
    n_val = min(n_val, n - 2) if n_val else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


# --- training ------------------------------------------------------------------------------------------------
def train_network(sequences: Sequence[MotionSequence], skeleton: Skeleton, spec: FrameSpec, cfg: TrainConfig,
                  progress: Callable[[TrainProgress], None] | None = None,
                  evaluate: Callable[[dict, np.ndarray, dict, list], float] | None = None) -> TrainResult:
    """Train on ``sequences`` and return numpy weights, rest lengths, feature scales and a summary.

    ``evaluate(weights, rest, scales, val_sequences) -> rmse`` scores a checkpoint on the validation
    sequences (the simulator passes its own one-step evaluation).
    """
    import torch

    from physics.torch_network import TorchInteractionNetwork

    t_start = time.perf_counter()
    seqs = list(sequences)
    if not seqs:
        raise TrainingDataError("no training sequences given")
    for s in seqs:
        s.check_skeleton(skeleton)
    tr_idx, val_idx = split_validation(len(seqs), cfg)
    train_seqs = [seqs[i] for i in tr_idx]
    val_seqs = [seqs[i] for i in val_idx]
    factors = _tempo_factors(cfg)
    base_grids = _grids(train_seqs, skeleton, spec, [1.0])
    rest, scales = data_statistics(base_grids, skeleton)
    grids = base_grids + _grids(train_seqs, skeleton, spec, [f for f in factors if f != 1.0])
    length = cfg.rollout_steps + 2
    xall, mall, starts = _windows(grids, length)
    if cfg.epochs is not None:
        total = max(1, int(math.ceil(cfg.epochs * len(starts) / cfg.batch_size)))
    else:
        total = int(cfg.steps)
    log.info("training on %d sequences (%d held out), %d grid frames x %d tempi, %d windows, %d steps",
             len(train_seqs), len(val_seqs), sum(len(g) for g in base_grids), len(factors), len(starts), total)

    old_threads = torch.get_num_threads()
    if cfg.num_threads:
        torch.set_num_threads(int(cfg.num_threads))
    try:
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        model = TorchInteractionNetwork(skeleton, cfg.network, rest, scales)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        perm = skeleton.mirror_permutation
        flip_axis = [a for a in range(3) if a != skeleton.vertical_axis][0]
        acc2 = scales["acc_scale"] ** 2
        best = (math.inf, None, -1)
        history = []
        last_loss = math.nan
        stopped_by_budget = False
        step = 0
        for step in range(1, total + 1):
            frac = (step - 1) / max(1, total - 1)
            lr = cfg.lr * (cfg.lr_final_fraction + (1 - cfg.lr_final_fraction) * 0.5 * (1 + math.cos(math.pi * frac)))
            for group in opt.param_groups:
                group["lr"] = lr
            b = cfg.batch_size
            win = starts[rng.integers(0, len(starts), b)][:, None] + np.arange(length)
            xb = xall[win]  # (B, L, J, 3)
            mb = mall[win]  # (B, L, J)
            if cfg.mirror:
                flip = rng.random(b) < 0.5
                xb[flip] = xb[flip][:, :, perm]
                mb[flip] = mb[flip][:, :, perm]
                xb[flip, ..., flip_axis] *= -1
            if cfg.yaw_deg or cfg.tilt_deg:
                rots = _rotations(rng, b, cfg, skeleton.vertical_axis)
                xb = np.einsum("blji,bki->bljk", xb, rots)
            m_in = mb[:, 0] & mb[:, 1]
            if cfg.mask_dropout > 0:
                m_in = m_in & (rng.random(m_in.shape) >= cfg.mask_dropout)
            hist = xb[:, :2]
            if cfg.noise_std > 0:
                hist = hist + rng.normal(0.0, cfg.noise_std, hist.shape).astype(np.float32)
            mt = torch.as_tensor(m_in.astype(np.float32))
            m3 = mt.unsqueeze(-1)
            h = torch.as_tensor(np.ascontiguousarray(hist, dtype=np.float32))
            x = h[:, 1] * m3
            v = (h[:, 1] - h[:, 0]) * m3
            target = torch.as_tensor(np.ascontiguousarray(xb[:, 2:], dtype=np.float32))
            tmask = torch.as_tensor(mb[:, 2:].astype(np.float32)) * mt.unsqueeze(1)
            loss = torch.zeros(())
            for k in range(cfg.rollout_steps):
                a = model(x, v, mt)
                v = v + a
                x = x + v
                sq = ((x - target[:, k]) ** 2).sum(-1) / acc2
                if cfg.huber_delta:
                    d = cfg.huber_delta * (k + 1) ** 2
                    r = torch.sqrt(sq + 1e-12)
                    sq = torch.where(r <= d, sq, 2 * d * r - d * d)
                e_k = (sq * tmask[:, k]).sum() / tmask[:, k].sum().clamp_min(1.0)
                if k == 0:
                    loss = loss + e_k
                else:
                    loss = loss + cfg.rollout_weight / (cfg.rollout_steps - 1) * e_k / (k + 1) ** 2
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            last_loss = float(loss.detach())
            if not math.isfinite(last_loss):
                raise TrainingDataError("training diverged (loss is not finite); lower lr or check the data")
            elapsed = time.perf_counter() - t_start
            over = cfg.time_budget_s is not None and elapsed > cfg.time_budget_s
            if step % cfg.eval_every == 0 or step == total or over:
                val = None
                if evaluate is not None and val_seqs:
                    val = float(evaluate(model.numpy_weights(), rest, scales, val_seqs))
                    if val < best[0]:
                        best = (val, model.numpy_weights(), step)
                history.append({"step": step, "loss": round(last_loss, 6),
                                "val_rmse": None if val is None else round(val, 6)})
                log.debug("step %d/%d loss %.4f val %s", step, total, last_loss, val)
                if progress is not None:
                    progress(TrainProgress(step, total, last_loss, val, elapsed))
            if over:
                stopped_by_budget = True
                log.warning("training stopped by the time budget (%.0f s) at step %d of %d",
                            cfg.time_budget_s, step, total)
                break
        weights = best[1] if best[1] is not None else model.numpy_weights()
    finally:
        torch.set_num_threads(old_threads)

    summary = {
        "n_sequences": len(seqs), "n_train_sequences": len(train_seqs), "n_val_sequences": len(val_seqs),
        "n_frames": int(sum(len(s) for s in seqs)),
        "duration_s": round(float(sum(s.duration_s for s in seqs)), 3),
        "n_grid_frames": int(sum(len(g) for g in base_grids)), "n_windows": int(len(starts)),
        "joint_seen_fraction": {j: round(float(v), 4) for j, v in zip(
            skeleton.joints, np.concatenate([g.m for g in base_grids]).mean(axis=0))},
        "tempo_factors": factors, "steps_done": step, "steps_planned": total,
        "stopped_by_time_budget": stopped_by_budget, "best_step": best[2] if best[1] is not None else step,
        "best_val_rmse": None if best[1] is None else round(best[0], 6), "final_loss": round(last_loss, 6),
        "history": history, "train_time_s": round(time.perf_counter() - t_start, 2),
        "sources": [s.source for s in train_seqs][:200],
    }
    return TrainResult(weights, rest, scales, summary)
