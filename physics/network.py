"""The interaction network's layout and its numpy inference (torch is only needed to train).

For each joint (object) the dynamic state is ``[x / pos_scale, v / vel_scale, valid]`` (7 numbers, zero when
invalid) plus a one-hot joint identity. For each relation ``s -> r``:

* relational model ``f_R``: MLP over ``[state_s, state_r, (x_s - x_r) / pos_scale, |x_s - x_r| / rest - 1,
  (v_s - v_r) / vel_scale]`` and the relation attributes ``[onehot(s), onehot(r), kind one-hot,
  rest / pos_scale]`` -> an effect vector, zeroed unless both ends are valid;
* effects summed per receiver;
* object model ``f_O``: MLP over ``[state_j, onehot(j), summed effect]`` -> acceleration of joint ``j``
  (times ``acc_scale``; zero for invalid joints).

Weights are stored under torch's names (``edge.0.weight`` is ``(out, in)``). :class:`NumpyInteractionNetwork`
pre-computes the contribution of the constant inputs (identities, relation attributes) to the first layers, so
one frame costs a handful of small matrix products.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

from physics.errors import SimulatorFileError
from physics.skeleton import RELATION_KINDS, Skeleton

log = logging.getLogger(__name__)

NODE_DYN = 7  # x (3), v (3), valid (1)
EDGE_DYN = 2 * NODE_DYN + 3 + 1 + 3  # sender and receiver state, dx, strain, dv


@dataclass(frozen=True)
class NetworkConfig:
    hidden: int = 64  # width of the hidden layers
    layers: int = 2  # hidden layers per MLP
    effect_dim: int = 32

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "NetworkConfig":
        return cls(int(d["hidden"]), int(d["layers"]), int(d["effect_dim"]))


def edge_in_dim(skeleton: Skeleton) -> int:
    return EDGE_DYN + 2 * skeleton.n_joints + len(RELATION_KINDS) + 1


def node_in_dim(skeleton: Skeleton, cfg: NetworkConfig) -> int:
    return NODE_DYN + skeleton.n_joints + cfg.effect_dim


def edge_static(skeleton: Skeleton, rest: np.ndarray, pos_scale: float) -> np.ndarray:
    """``(R, 2J + kinds + 1)`` constant relation inputs: sender/receiver identity, kind, rest length."""
    eye = np.eye(skeleton.n_joints, dtype=np.float32)
    return np.concatenate([eye[skeleton.senders], eye[skeleton.receivers], skeleton.relation_kind_onehot,
                           (np.asarray(rest, np.float32) / np.float32(pos_scale))[:, None]], axis=1)


def mlp_shapes(n_in: int, n_out: int, cfg: NetworkConfig) -> list[tuple[int, int]]:
    dims = [n_in] + [cfg.hidden] * cfg.layers + [n_out]
    return [(dims[i + 1], dims[i]) for i in range(len(dims) - 1)]


def expected_shapes(skeleton: Skeleton, cfg: NetworkConfig) -> dict[str, tuple[int, ...]]:
    out = {}
    for name, n_in, n_out in (("edge", edge_in_dim(skeleton), cfg.effect_dim),
                              ("node", node_in_dim(skeleton, cfg), 3)):
        for i, (o, n) in enumerate(mlp_shapes(n_in, n_out, cfg)):
            out[f"{name}.{i}.weight"] = (o, n)
            out[f"{name}.{i}.bias"] = (o,)
    return out


def _silu(h: np.ndarray) -> np.ndarray:
    # x * sigmoid(x) written with tanh: no overflow for large |x|
    return h * (np.float32(0.5) + np.float32(0.5) * np.tanh(np.float32(0.5) * h))


class NumpyInteractionNetwork:
    """Inference-only interaction network on numpy float32 arrays."""

    def __init__(self, skeleton: Skeleton, cfg: NetworkConfig, weights: dict[str, np.ndarray],
                 rest: np.ndarray, scales: dict[str, float]):
        shapes = expected_shapes(skeleton, cfg)
        for k, shape in shapes.items():
            if k not in weights:
                raise SimulatorFileError(f"weight {k!r} is missing")
            if tuple(weights[k].shape) != shape:
                raise SimulatorFileError(f"weight {k!r} has shape {tuple(weights[k].shape)}, expected {shape}")
        self.skeleton, self.cfg = skeleton, cfg
        j = skeleton.n_joints
        self.s, self.r = skeleton.senders, skeleton.receivers
        self.rest = np.maximum(np.asarray(rest, np.float32), np.float32(1e-4))
        self.ps = np.float32(scales["pos_scale"])
        self.vs = np.float32(scales["vel_scale"])
        self.acc = np.float32(scales["acc_scale"])
        w = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        n_layers = cfg.layers + 1
        # edge MLP, first layer split into dynamic inputs and a constant per relation
        we0 = w["edge.0.weight"].T
        self.we0 = np.ascontiguousarray(we0[:EDGE_DYN])
        self.e_const = edge_static(skeleton, self.rest, float(self.ps)) @ we0[EDGE_DYN:] + w["edge.0.bias"]
        self.we = [(np.ascontiguousarray(w[f"edge.{i}.weight"].T), w[f"edge.{i}.bias"]) for i in range(1, n_layers)]
        # node MLP: [state (7), identity (J), effect (E)]
        wn0 = w["node.0.weight"].T
        self.wn0_dyn = np.ascontiguousarray(wn0[:NODE_DYN])
        self.wn0_eff = np.ascontiguousarray(wn0[NODE_DYN + j:])
        self.n_const = wn0[NODE_DYN:NODE_DYN + j] + w["node.0.bias"]
        self.wn = [(np.ascontiguousarray(w[f"node.{i}.weight"].T), w[f"node.{i}.bias"]) for i in range(1, n_layers)]
        agg = np.zeros((j, len(self.r)), np.float32)
        agg[self.r, np.arange(len(self.r))] = 1.0
        self.agg = agg

    def __call__(self, x: np.ndarray, v: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Acceleration ``(B, J, 3)`` per step squared from clean ``x, v (B, J, 3)`` and ``m (B, J)`` bool."""
        mf = m[..., None].astype(np.float32)
        nd = np.concatenate([x / self.ps, v / self.vs, mf], axis=-1)
        s, r = self.s, self.r
        dx = x[:, s] - x[:, r]
        strain = np.sqrt((dx * dx).sum(-1, keepdims=True)) / self.rest[:, None] - np.float32(1.0)
        e = mf[:, s] * mf[:, r]
        ed = np.concatenate([nd[:, s], nd[:, r], dx / self.ps, strain, (v[:, s] - v[:, r]) / self.vs], axis=-1)
        h = _silu((ed * e) @ self.we0 + self.e_const)
        for i, (wt, b) in enumerate(self.we):
            h = h @ wt + b
            if i < len(self.we) - 1:
                h = _silu(h)
        eff = h * e
        agg = self.agg @ eff
        h = _silu(nd @ self.wn0_dyn + agg @ self.wn0_eff + self.n_const)
        for i, (wt, b) in enumerate(self.wn):
            h = h @ wt + b
            if i < len(self.wn) - 1:
                h = _silu(h)
        return h * mf * self.acc
