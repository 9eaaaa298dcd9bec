"""The interaction network in torch, for training. Layout in :mod:`physics.network`; inference uses numpy."""
from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from physics.network import NetworkConfig, edge_in_dim, edge_static, node_in_dim
from physics.skeleton import Skeleton

log = logging.getLogger(__name__)


def _mlp(n_in: int, n_out: int, cfg: NetworkConfig) -> nn.Sequential:
    dims = [n_in] + [cfg.hidden] * cfg.layers + [n_out]
    mods: list[nn.Module] = []
    for i in range(len(dims) - 1):
        mods.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            mods.append(nn.SiLU())
    return nn.Sequential(*mods)


class TorchInteractionNetwork(nn.Module):
    """Relational model -> effects summed per receiver -> object model -> acceleration (per step squared)."""

    def __init__(self, skeleton: Skeleton, cfg: NetworkConfig, rest: np.ndarray, scales: dict[str, float]):
        super().__init__()
        self.skeleton, self.cfg = skeleton, cfg
        j = skeleton.n_joints
        self.edge = _mlp(edge_in_dim(skeleton), cfg.effect_dim, cfg)
        self.node = _mlp(node_in_dim(skeleton, cfg), 3, cfg)
        rest = np.maximum(np.asarray(rest, np.float32), np.float32(1e-4))
        self.register_buffer("senders", torch.as_tensor(skeleton.senders))
        self.register_buffer("receivers", torch.as_tensor(skeleton.receivers))
        self.register_buffer("rest", torch.as_tensor(rest))
        self.register_buffer("e_static", torch.as_tensor(edge_static(skeleton, rest, scales["pos_scale"])))
        self.register_buffer("n_static", torch.eye(j))
        agg = torch.zeros(j, len(skeleton.receivers))
        agg[torch.as_tensor(skeleton.receivers), torch.arange(len(skeleton.receivers))] = 1.0
        self.register_buffer("agg", agg)
        self.ps = float(scales["pos_scale"])
        self.vs = float(scales["vel_scale"])
        self.acc = float(scales["acc_scale"])

    def forward(self, x: torch.Tensor, v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """``x, v (B, J, 3)`` clean (zero where invalid), ``m (B, J)`` float 0/1 -> acceleration ``(B, J, 3)``."""
        b = x.shape[0]
        mf = m.unsqueeze(-1)
        nd = torch.cat([x / self.ps, v / self.vs, mf], dim=-1)
        s, r = self.senders, self.receivers
        dx = x[:, s] - x[:, r]
        # gradient-safe norm (dist is 0 for invalid relations)
        dist = torch.sqrt((dx * dx).sum(-1, keepdim=True) + 1e-12)
        strain = dist / self.rest[:, None] - 1.0
        e = mf[:, s] * mf[:, r]
        ed = torch.cat([nd[:, s], nd[:, r], dx / self.ps, strain, (v[:, s] - v[:, r]) / self.vs], dim=-1) * e
        ein = torch.cat([ed, self.e_static.expand(b, -1, -1)], dim=-1)
        eff = self.edge(ein) * e
        agg = torch.einsum("jr,bre->bje", self.agg, eff)
        nin = torch.cat([nd, self.n_static.expand(b, -1, -1), agg], dim=-1)
        return self.node(nin) * mf * self.acc

    def numpy_weights(self) -> dict[str, np.ndarray]:
        """Weights under the stored names (``edge.0.weight``, ...; Linear layers numbered from 0)."""
        out = {}
        for name, seq in (("edge", self.edge), ("node", self.node)):
            linears = [mod for mod in seq if isinstance(mod, nn.Linear)]
            for i, lin in enumerate(linears):
                out[f"{name}.{i}.weight"] = lin.weight.detach().cpu().numpy().astype(np.float32).copy()
                out[f"{name}.{i}.bias"] = lin.bias.detach().cpu().numpy().astype(np.float32).copy()
        return out

    def load_numpy_weights(self, weights: dict[str, np.ndarray]) -> None:
        with torch.no_grad():
            for name, seq in (("edge", self.edge), ("node", self.node)):
                linears = [mod for mod in seq if isinstance(mod, nn.Linear)]
                for i, lin in enumerate(linears):
                    lin.weight.copy_(torch.as_tensor(weights[f"{name}.{i}.weight"]))
                    lin.bias.copy_(torch.as_tensor(weights[f"{name}.{i}.bias"]))
