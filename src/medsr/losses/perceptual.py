"""Feature-space losses: perceptual (Johnson et al. 2016), Gram-matrix texture (Gatys et al. 2016;
Sajjadi et al. 2017, EnhanceNet) and a learned feature loss on an intensity auto-encoder's code.

Review section 2.4: a pixel loss rewards the mean of the plausible HR images, hence blur; comparing
images in the feature space of a fixed network rewards matching structures instead. SRGAN (Ledig
et al. 2017) uses the VGG19 ``relu5_4`` features ("VGG54"), ESRGAN (Wang et al. 2018) the same
layer before its activation (``conv5_4``). For medical images the features of a network trained
on the images themselves (the encoder of an intensity auto-encoder, :class:`LearnedFeatureLoss`)
can replace VGG. That is *not* ACNN's anatomical prior (Oktay et al. 2018, review ref. [80]), which
encodes segmentation maps: see :mod:`medsr.models.medical.tl_net` and ``task: tl_net``.

VGG19 is defined here in plain torch with the layer indices of torchvision's ``vgg19().features``,
so a torchvision state dict converts key for key (see :func:`convert_vgg19_checkpoint`). VGG16
(configuration "D", the network the review names for the perceptual loss, section 3.3) is the same
class with ``arch="vgg16"`` and torchvision's ``vgg16().features`` indices, e.g.
``PerceptualLoss("vgg16.safetensors", {"relu2_2": 1.0}, arch="vgg16")`` (Johnson et al. 2016 use
VGG16 ``relu2_2``). There is no
download: the weights come from a local safetensors file named in the config. The frozen feature
network is deliberately *not* registered as a sub-module of the loss: it stays out of training
checkpoints and out of DDP's parameter lists, and only follows ``.to(device)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from medsr.errors import MedsrError
from medsr.models.autoencoder import ConvAutoEncoder

__all__ = [
    "VGG16_LAYERS",
    "VGG19_LAYERS",
    "GramLoss",
    "LearnedFeatureLoss",
    "PerceptualLoss",
    "ShapePriorLoss",
    "VGG19Features",
    "convert_vgg19_checkpoint",
    "gram_matrix",
    "he_normal_vgg_",
    "load_autoencoder",
    "load_vgg19",
    "random_vgg19",
    "save_autoencoder",
    "save_vgg19",
]

# VGG19 configuration "E" (Simonyan & Zisserman 2015): channels per conv, "M" = max-pool.
_VGG19_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
    512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
)  # fmt: skip


# VGG16 configuration "D" (Simonyan & Zisserman 2015), torchvision's ``vgg16().features``.
_VGG16_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
    512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip


def _vgg19_layer_names(cfg: tuple[int | str, ...] = _VGG19_CFG) -> tuple[str, ...]:
    names: list[str] = []
    block, conv = 1, 1
    for item in cfg:
        if item == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 1
        else:
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
            conv += 1
    return tuple(names)


#: Names of the layers of ``VGG19Features.features`` in order ("conv1_1", "relu1_1", ... "pool5").
VGG19_LAYERS: tuple[str, ...] = _vgg19_layer_names()
#: Names of the layers of VGG16's features ("conv1_1", ... "relu5_3", "pool5").
VGG16_LAYERS: tuple[str, ...] = _vgg19_layer_names(_VGG16_CFG)
_ARCHS: dict[str, tuple[tuple[int | str, ...], tuple[str, ...]]] = {
    "vgg19": (_VGG19_CFG, VGG19_LAYERS),
    "vgg16": (_VGG16_CFG, VGG16_LAYERS),
}


def _arch(arch: str) -> tuple[tuple[int | str, ...], tuple[str, ...]]:
    if arch not in _ARCHS:
        raise MedsrError(f"unknown VGG network {arch!r}; choose from vgg16, vgg19")
    return _ARCHS[arch]

# ImageNet statistics the VGG weights were trained with (inputs in [0, 1], RGB).
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG19Features(nn.Module):
    """The convolutional part of VGG19 (or VGG16 with ``arch="vgg16"``), truncated after the
    deepest layer asked for.

    Args:
        layers: names from :data:`VGG19_LAYERS` (:data:`VGG16_LAYERS`) whose outputs
            :meth:`forward` returns.
        input_range: the range of the images given (mapped to [0, 1] before the ImageNet
            standardisation the weights expect).
        arch: "vgg19" (SRGAN, ESRGAN) or "vgg16" (Johnson et al. 2016; the review, section 3.3).
    """

    def __init__(
        self,
        layers: Sequence[str] = ("relu5_4",),
        input_range: tuple[float, float] = (0.0, 1.0),
        arch: str = "vgg19",
    ) -> None:
        super().__init__()
        cfg, names = _arch(arch)
        unknown = [n for n in layers if n not in names]
        if unknown or not layers:
            raise MedsrError(
                f"unknown {arch.upper()} layer(s) {unknown or '(none given)'}; choose from e.g. "
                f"relu2_2, relu3_3, {names[-2]}"
            )
        self.arch = arch
        self.names = names
        self.layers = tuple(layers)
        last = max(names.index(n) for n in self.layers)
        modules: list[nn.Module] = []
        in_ch = 3
        for item in cfg:
            if item == "M":
                modules.append(nn.MaxPool2d(2, 2))
            else:
                modules += [nn.Conv2d(in_ch, int(item), 3, padding=1), nn.ReLU(inplace=False)]
                in_ch = int(item)
            if len(modules) > last:
                break
        self.features = nn.Sequential(*modules[: last + 1])
        lo, hi = input_range
        self.register_buffer(
            "mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.input_lo, self.input_hi = float(lo), float(hi)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(N, 1 or 3, H, W)`` images -> ``{layer name: features}``."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise MedsrError(f"VGG features need 1 or 3 channels, got {x.shape[1]}")
        x = (x - self.input_lo) / (self.input_hi - self.input_lo)
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        out: dict[str, torch.Tensor] = {}
        for name, module in zip(self.names, self.features):
            x = module(x)
            if name in self.layers:
                out[name] = x
        return out


def _read_safetensors(
    path: str | os.PathLike[str], what: str, hint: str
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise MedsrError(f"{what}: weights file {p} not found; {hint}")
    try:
        with safe_open(str(p), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not iterable
            meta = dict(f.metadata() or {})
    except Exception as exc:  # noqa: BLE001 - any failure here means a corrupt or foreign file
        raise MedsrError(f"{what}: cannot read {p} as safetensors ({exc}); {hint}") from None
    return tensors, meta


_VGG_HINT = (
    "medsr never downloads weights: convert torchvision's ImageNet vgg19 checkpoint once with "
    "`python -m medsr.losses.perceptual vgg19-dcbb9e9d.pth vgg19.safetensors` and set the loss's "
    "weights path to it"
)


def load_vgg19(
    path: str | os.PathLike[str],
    layers: Sequence[str] = ("relu5_4",),
    input_range: tuple[float, float] = (0.0, 1.0),
    arch: str = "vgg19",
) -> VGG19Features:
    """A frozen :class:`VGG19Features` with weights from a local safetensors file.

    The file holds torchvision's key names (``features.0.weight`` ...); keys beyond the truncation
    point are ignored. ``arch="vgg16"`` reads a VGG16 file (``load_vgg19(p, ("relu2_2",),
    arch="vgg16")``). Raises :class:`MedsrError` when the file is missing, lacks a layer or was
    written for the other network.
    """
    net = VGG19Features(layers, input_range, arch)
    tensors, meta = _read_safetensors(path, "perceptual loss", _VGG_HINT)
    written = meta.get("architecture", f"{arch}_features")
    if written != f"{arch}_features":
        raise MedsrError(
            f"perceptual loss: {path} holds {written.split('_')[0]} weights, not {arch}; set the "
            f"loss's network to match"
        )
    wanted = net.state_dict()
    missing = [k for k in wanted if k not in tensors]
    if missing:
        raise MedsrError(
            f"perceptual loss: {path} lacks {missing[0]} (not a VGG19 file?); {_VGG_HINT}"
        )
    try:
        net.load_state_dict({k: tensors[k] for k in wanted}, strict=True)
    except RuntimeError as exc:
        raise MedsrError(
            f"perceptual loss: {path} does not fit VGG19 ({str(exc).splitlines()[-1].strip()})"
        ) from None
    net.eval().requires_grad_(False)
    return net


def he_normal_vgg_(net: VGG19Features, seed: int = 0) -> VGG19Features:
    """Fill ``net``'s convolutions in place with He-normal weights, ``N(0, 2 / fan_in)`` with
    ``fan_in = in_channels x 3 x 3`` (He et al., "Delving deep into rectifiers", ICCV 2015), and
    zero biases, drawn layer by layer from a generator seeded with ``seed`` (the global torch
    generator is left alone). The draws go in layer order, so a network truncated after a layer
    gets the same weights as the first layers of the full one: the one initialisation behind
    ``save_vgg19(None, ...)`` and :func:`random_vgg19`. Returns ``net``."""
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for m in net.features:
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * 9
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                m.bias.zero_()
    return net


def random_vgg19(
    layers: Sequence[str] = ("relu5_4",),
    input_range: tuple[float, float] = (0.0, 1.0),
    arch: str = "vgg19",
    seed: int = 0,
) -> VGG19Features:
    """A frozen :class:`VGG19Features` (``arch="vgg16"``: VGG16) with seeded random weights
    (:func:`he_normal_vgg_`), for feature losses and critics when no trained VGG file is at hand.

    Features of an untrained, randomly initialised CNN are a known stand-in for trained ones:
    He, Wang & Hopcroft, "A powerful generative model using random weights for the deep image
    representation", NeurIPS 2016 (texture synthesis, inversion and style transfer with a random
    VGG), and the structural prior of an untrained network (Ulyanov, Vedaldi & Lempitsky, "Deep
    Image Prior", CVPR 2018). It is a simplification wherever a paper uses ImageNet VGG weights
    (SRGAN, ESRGAN, SRFeat). The network equals what :func:`load_vgg19` reads from a file written
    by ``save_vgg19(None, path, seed=seed, arch=arch)``.
    """
    net = he_normal_vgg_(VGG19Features(layers, input_range, arch), seed)
    net.eval().requires_grad_(False)
    return net


def save_vgg19(
    net: VGG19Features | None,
    path: str | os.PathLike[str],
    *,
    seed: int | None = None,
    arch: str = "vgg19",
) -> Path:
    """Write VGG19 (VGG16) weights as safetensors; with ``net=None`` a randomly initialised full
    network of ``arch`` (seeded, :func:`he_normal_vgg_`), handy for tests and for dry runs of
    perceptual recipes."""
    from safetensors.torch import save_file

    if net is None:
        net = he_normal_vgg_(VGG19Features(("pool5",), arch=arch), 0 if seed is None else seed)
    state = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    out = Path(path)
    tmp = out.with_name(out.name + ".tmp")
    save_file(state, str(tmp), metadata={"architecture": f"{net.arch}_features"})
    os.replace(tmp, out)
    return out


def convert_vgg19_checkpoint(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], arch: str = "vgg19"
) -> Path:
    """Convert a torchvision VGG19 (``arch="vgg16"``: VGG16) ``.pth`` state dict to the
    safetensors file medsr reads.

    Only the ``features.*`` tensors are kept (the classifier is not used by feature losses).
    """
    try:
        state = torch.load(str(src), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise MedsrError(
            f"{src} not found; give the path of torchvision's vgg19 .pth file"
        ) from None
    except Exception as exc:  # noqa: BLE001 - unpickling refusals, corrupt archives, ...
        raise MedsrError(f"cannot read {src} as a torch state dict ({exc})") from None
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    feats = {k: v for k, v in state.items() if k.startswith("features.")}
    if not feats:
        raise MedsrError(f"{src} holds no 'features.*' tensors; is it a VGG19 checkpoint?")
    net = VGG19Features(("pool5",), arch=arch)
    try:
        net.load_state_dict(feats, strict=True)
    except RuntimeError as exc:
        raise MedsrError(
            f"{src} is not a {arch.upper()} features state dict ({str(exc).splitlines()[0]})"
        ) from None
    return save_vgg19(net, dst)


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix ``G = F F^T / (C * M)`` of ``(N, C, *spatial)`` features (Gatys et al. 2016,
    eq. 3, normalised by the number of entries as in Johnson et al. 2016, eq. 3). Returns
    ``(N, C, C)``."""
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1)
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * flat.shape[-1])


def _to_slices(x: torch.Tensor, axis: int) -> torch.Tensor:
    """``(N, C, X, Y, Z)`` -> 2D slices ``(N * n_axis, C, a, b)`` cut across spatial ``axis``."""
    perm = [0, 2 + axis, 1] + [2 + a for a in range(3) if a != axis]
    y = x.permute(*perm)
    return y.reshape(-1, x.shape[1], *y.shape[3:])


def _criterion(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    table = {"l1": F.l1_loss, "l2": F.mse_loss, "mse": F.mse_loss}
    if name not in table:
        raise MedsrError(f"feature criterion must be l1 or l2, got {name!r}")
    return table[name]


class _FrozenFeatureLoss(nn.Module):
    """Holds a frozen feature network outside the module tree (see the module docstring) and the
    ``{layer: weight}`` its loss sums over; ``net`` may be the path of a VGG19 safetensors file
    (loaded for those layers and ``input_range``)."""

    def __init__(
        self,
        net: nn.Module | str | os.PathLike[str],
        layer_weights: dict[str, float],
        slice_axis: int | None,
        input_range: tuple[float, float],
        arch: str = "vgg19",
    ) -> None:
        if isinstance(net, (str, os.PathLike)):
            rng = tuple(input_range)
            net = load_vgg19(net, tuple(layer_weights), rng, arch)  # type: ignore[arg-type]
        super().__init__()
        net.eval().requires_grad_(False)
        self._frozen = [net]
        self.slice_axis = slice_axis
        self.layer_weights = layer_weights

    @property
    def net(self) -> nn.Module:
        return self._frozen[0]

    def _apply(self, fn: Any, recurse: bool = True) -> _FrozenFeatureLoss:  # type: ignore[override]
        self._frozen[0] = self._frozen[0]._apply(fn)
        return super()._apply(fn)

    def train(self, mode: bool = True) -> _FrozenFeatureLoss:
        super().train(mode)
        self.net.eval()  # the feature network never leaves eval mode
        return self

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 5 and isinstance(self.net, VGG19Features):
            return _to_slices(x, 2 if self.slice_axis is None else self.slice_axis)
        return x

    def _layer_sum(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        term: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """``sum_l w_l * term(phi_l(pred), phi_l(target))``, the target's features without
        gradient."""
        fp = self.net(self._prepare(pred))
        with torch.no_grad():
            ft = self.net(self._prepare(target))
        total = pred.new_zeros(())
        for name, w in self.layer_weights.items():
            if name not in fp:
                raise MedsrError(f"feature network gives no layer {name!r}; it gives {sorted(fp)}")
            total = total + w * term(fp[name], ft[name].detach())
        return total


class PerceptualLoss(_FrozenFeatureLoss):
    """Feature-reconstruction loss ``sum_l w_l * crit(phi_l(pred), phi_l(target))``
    (Johnson et al. 2016, eq. 2; SRGAN's VGG loss, Ledig et al. 2017, eq. 5).

    Args:
        net: a module returning ``{layer: features}`` (e.g. :func:`load_vgg19`), or the path of a
            VGG19 safetensors file.
        layer_weights: ``{layer: weight}``; default all requested layers weight 1.
        criterion: "l1" (ESRGAN) or "l2" (SRGAN, Johnson).
        slice_axis: for 3D tensors and a 2D feature network, the spatial axis the volume is cut
            across (slice-wise perceptual loss); default the last.
        input_range: intensity range of the images (VGG expects [0, 1]).
        arch: with a file path, the network it holds: "vgg19" or "vgg16" (default layer
            ``relu2_2`` then, Johnson et al. 2016).
    """

    def __init__(
        self,
        net: nn.Module | str | os.PathLike[str],
        layer_weights: Mapping[str, float] | None = None,
        criterion: str = "l1",
        slice_axis: int | None = None,
        input_range: tuple[float, float] = (0.0, 1.0),
        arch: str = "vgg19",
    ) -> None:
        default = {"relu2_2" if arch == "vgg16" else "relu5_4": 1.0}
        super().__init__(net, dict(layer_weights or default), slice_axis, input_range, arch)
        self.crit = _criterion(criterion)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self._layer_sum(pred, target, self.crit)


class GramLoss(_FrozenFeatureLoss):
    """Texture loss on Gram matrices of features (Gatys et al. 2016; EnhanceNet's ``L_T``,
    Sajjadi et al. 2017, eq. 4, which computes them on ``patch`` x ``patch`` tiles of the feature
    maps so textures match locally).

    Args:
        net / layer_weights / slice_axis / input_range: as :class:`PerceptualLoss`.
        patch: tile size on the feature maps (None: whole maps, as Gatys).
    """

    def __init__(
        self,
        net: nn.Module | str | os.PathLike[str],
        layer_weights: Mapping[str, float] | None = None,
        patch: int | None = None,
        slice_axis: int | None = None,
        input_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        weights = dict(layer_weights or {"relu2_1": 1.0, "relu3_1": 1.0})
        super().__init__(net, weights, slice_axis, input_range)
        self.patch = patch

    def _grams(self, f: torch.Tensor) -> torch.Tensor:
        if self.patch is None:
            return gram_matrix(f)
        p = int(self.patch)
        n, c = f.shape[:2]
        spatial = f.shape[2:]
        if any(s < p for s in spatial):
            return gram_matrix(f)
        crop = f[(slice(None), slice(None)) + tuple(slice(0, s - s % p) for s in spatial)]
        t = crop
        for d in range(2, crop.ndim):
            t = t.unfold(d, p, p)  # -> (N, C, *tiles, *p)
        k = crop.ndim - 2
        n_tiles = 1
        for s in t.shape[2 : 2 + k]:
            n_tiles *= int(s)
        tiles = t.reshape(n, c, n_tiles, p**k).permute(0, 2, 1, 3).reshape(-1, c, p**k)
        return gram_matrix(tiles)

    def _gram_distance(self, fp: torch.Tensor, ft: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self._grams(fp), self._grams(ft).detach())

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self._layer_sum(pred, target, self._gram_distance)


# ---------------------------------------------------------------- learned feature loss
def save_autoencoder(
    ae: ConvAutoEncoder, path: str | os.PathLike[str], extra: Mapping[str, Any] | None = None
) -> Path:
    """Write an auto-encoder as one safetensors file with its architecture in the metadata."""
    from safetensors.torch import save_file

    out = Path(path)
    meta = {"architecture": "conv_autoencoder", "config": json.dumps(ae.config)}
    if extra:
        meta["extra"] = json.dumps(dict(extra))
    tmp = out.with_name(out.name + ".tmp")
    save_file(
        {k: v.detach().contiguous().cpu() for k, v in ae.state_dict().items()},
        str(tmp),
        metadata=meta,
    )
    os.replace(tmp, out)
    return out


def load_autoencoder(path: str | os.PathLike[str]) -> ConvAutoEncoder:
    """Read a file written by :func:`save_autoencoder` (e.g. by the ``autoencoder`` recipe)."""
    hint = (
        "train one first with `medsr train configs/learned_feature_ae.yaml` and point to its "
        "autoencoder.safetensors"
    )
    tensors, meta = _read_safetensors(path, "learned feature loss", hint)
    if meta.get("architecture") != "conv_autoencoder" or "config" not in meta:
        raise MedsrError(f"learned feature loss: {path} is not a medsr auto-encoder file; {hint}")
    ae = ConvAutoEncoder(**json.loads(meta["config"]))
    ae.load_state_dict(tensors, strict=True)
    return ae.eval().requires_grad_(False)


class _Encoder(nn.Module):
    def __init__(self, ae: ConvAutoEncoder) -> None:
        super().__init__()
        self.ae = ae

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"code": self.ae.encode(x)}


class LearnedFeatureLoss(PerceptualLoss):
    """Learned feature loss: ``||E(pred) - E(target)||_2^2`` on the codes of the encoder of a
    :class:`ConvAutoEncoder` trained to reconstruct *intensity* images (``task: autoencoder``).

    A perceptual loss whose feature network is learned on the anatomy being imaged instead of
    ImageNet. It borrows the form of ACNN's global loss (Oktay et al. 2018, review ref. [80]) but
    not its prior: ACNN encodes segmentation maps (the T-L network, ``task: tl_net``). The old
    name ``ShapePriorLoss`` (loss term ``shape_prior``) is kept as an alias.

    Args:
        autoencoder: a trained auto-encoder or the path of its safetensors file.
        criterion: "l2" (ACNN) or "l1".
    """

    def __init__(
        self, autoencoder: ConvAutoEncoder | str | os.PathLike[str], criterion: str = "l2"
    ) -> None:
        ae = (
            load_autoencoder(autoencoder)
            if isinstance(autoencoder, (str, os.PathLike))
            else autoencoder
        )
        super().__init__(_Encoder(ae), {"code": 1.0}, criterion=criterion)


#: the former name of :class:`LearnedFeatureLoss` (kept for existing code and recipes)
ShapePriorLoss = LearnedFeatureLoss


if __name__ == "__main__":  # pragma: no cover - a one-off conversion helper
    import sys

    if len(sys.argv) != 3:
        print("usage: python -m medsr.losses.perceptual VGG19.pth OUT.safetensors")
        raise SystemExit(2)
    try:
        print(convert_vgg19_checkpoint(sys.argv[1], sys.argv[2]))
    except MedsrError as err:
        print(f"error: {err}")
        raise SystemExit(2)
