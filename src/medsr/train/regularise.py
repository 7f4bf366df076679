"""The trainer's ``regularise`` section (review section 2.4) attached to a network.

:class:`Regulariser` sets the dropout probability of a network that has dropout layers, records
the features of one layer during training forwards (a forward hook), and adds to a task's loss
``l1_weight * weight_l1(model)`` (L1 weight sparsity, refs. [28, 29]) and
``decorrelation_weight * DeCov(features)`` (Cogswell et al. 2016, refs. [30, 31]); see
:mod:`medsr.losses.regularisers`. Every task (supervised, adversarial, cycle) calls
:meth:`Regulariser.add` on its generator loss. Example recipe lines::

    regularise:
      l1_weight: 1.0e-4
      decorrelation_weight: 1.0e-3
      dropout: 0.1          # only for networks with dropout layers (gan_circle)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from medsr.errors import MedsrError
from medsr.losses.regularisers import decorrelation_penalty, weight_l1
from medsr.train.config import RegulariseSection

__all__ = ["Regulariser", "feature_layer", "set_dropout"]

_DROPOUT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)


def set_dropout(model: nn.Module, p: float) -> int:
    """Set ``p`` on every dropout layer of ``model``; returns how many there are (>= 1).

    Raises:
        MedsrError: the network has no dropout layer (it does not allow dropout).
    """
    layers = [m for m in model.modules() if isinstance(m, _DROPOUT)]
    if not layers:
        raise MedsrError(
            f"config: regularise.dropout: {type(model).__name__} has no dropout layers; remove "
            "regularise.dropout or choose a network that has them (e.g. gan_circle)"
        )
    for m in layers:
        m.p = float(p)
    return len(layers)


def feature_layer(model: nn.Module, name: str | None = None) -> tuple[str, nn.Module]:
    """The module whose output the decorrelation penalty reads: ``name`` (one of
    ``model.named_modules()``), or by default the last convolution before the output one."""
    modules = dict(model.named_modules())
    if name is not None:
        if name not in modules or name == "":
            some = [n for n, m in modules.items() if isinstance(m, nn.modules.conv._ConvNd)][:6]
            raise MedsrError(
                f"config: regularise.decorrelation_layer: no module {name!r} in the network; "
                f"e.g. {', '.join(some)}"
            )
        return name, modules[name]
    convs = [(n, m) for n, m in modules.items() if isinstance(m, nn.modules.conv._ConvNd)]
    if len(convs) < 2:
        raise MedsrError(
            "config: regularise.decorrelation_layer: the network has fewer than two convolutions; "
            "name the layer to decorrelate"
        )
    return convs[-2]


class Regulariser:
    """The ``regularise`` section bound to ``model`` (see the module docstring)."""

    def __init__(self, cfg: RegulariseSection, model: nn.Module) -> None:
        self.cfg = cfg
        self.model = model
        self._features: list[torch.Tensor] = []
        self.layer_name: str | None = None
        if cfg.dropout is not None:
            set_dropout(model, cfg.dropout)
        if cfg.decorrelation_weight > 0:
            self.layer_name, layer = feature_layer(model, cfg.decorrelation_layer)
            layer.register_forward_hook(self._record)

    def _record(self, module: nn.Module, inputs: Any, output: Any) -> None:
        if torch.is_grad_enabled() and module.training and isinstance(output, torch.Tensor):
            self._features.append(output)

    @property
    def active(self) -> bool:
        return self.cfg.l1_weight > 0 or self.cfg.decorrelation_weight > 0

    def add(
        self, loss: torch.Tensor, parts: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``loss`` plus the weighted penalties (their values added to ``parts`` for the logs);
        clears the features recorded since the last call."""
        feats, self._features = self._features, []
        if not self.active:
            return loss, parts
        parts = dict(parts)
        if self.cfg.l1_weight > 0:
            l1 = weight_l1(self.model)
            loss = loss + self.cfg.l1_weight * l1
            parts["reg_l1"] = l1.detach()
        if self.cfg.decorrelation_weight > 0 and feats:
            dec = sum(decorrelation_penalty(f) for f in feats) / len(feats)
            loss = loss + self.cfg.decorrelation_weight * dec
            parts["reg_decov"] = dec.detach()  # type: ignore[union-attr]
        return loss, parts
