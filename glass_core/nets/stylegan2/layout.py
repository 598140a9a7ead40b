"""Turn the inert objects from `unpickle.py` into our state dicts and configs.

Both formats end up in one canonical layout: the parameter names of stylegan2-ada-pytorch
(which our modules use). Every config number is derived from tensor shapes or from
attributes saved in the file; nothing assumes a particular resolution or width.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch

from glass_core.errors import UnsafeFileError
from glass_core.nets.stylegan2 import ops
from glass_core.nets.stylegan2.discriminator import DiscriminatorConfig
from glass_core.nets.stylegan2.networks import GeneratorConfig
from glass_core.nets.stylegan2.unpickle import PersistentObject, TFNetwork

StateDict = dict[str, torch.Tensor]
Hints = dict[str, Any]
DEFAULT_FILTER = [1, 3, 3, 1]


def networks_from_raw(raw: Any) -> dict[str, tuple[StateDict, Hints]]:
    """{'G', 'D', 'G_ema'} -> (canonical state dict, config hints) for either pickle format."""
    if isinstance(raw, dict) and all(isinstance(raw.get(k), PersistentObject) for k in ("G", "D", "G_ema")):
        return {k: _from_persistent(raw[k]) for k in ("G", "D", "G_ema")}
    if isinstance(raw, tuple) and len(raw) == 3 and all(isinstance(n, TFNetwork) for n in raw):
        g, d, gs = raw
        return {"G": _from_tf_generator(g), "D": _from_tf_discriminator(d), "G_ema": _from_tf_generator(gs)}
    raise UnsafeFileError("the pickle holds neither a stylegan2-ada-pytorch snapshot dict(G, D, G_ema, ...) "
                          "nor an original StyleGAN2 TensorFlow tuple (G, D, Gs)")


# --- PyTorch (persistence) ------------------------------------------------------------------

def _flatten(obj: PersistentObject, prefix: str, tensors: StateDict, attrs: dict[str, dict]) -> None:
    """Collect parameters and buffers under dotted names; remember each module's plain attributes."""
    if prefix.count(".") > 16:  # a pickle can hold cycles; real networks nest 4 deep
        raise UnsafeFileError("network modules nest too deeply (cyclic or not a StyleGAN2)")
    state = obj.state
    attrs[prefix.rstrip(".")] = {k: v for k, v in state.items() if isinstance(v, (int, float, str, type(None)))}
    for group in ("_parameters", "_buffers"):
        for name, t in (state.get(group) or {}).items():
            if t is not None:
                if not isinstance(t, torch.Tensor):
                    raise UnsafeFileError(f"{prefix}{name} is not a tensor")
                tensors[prefix + name] = t
    for name, child in (state.get("_modules") or {}).items():
        if child is not None:
            if not isinstance(child, PersistentObject):
                raise UnsafeFileError(f"submodule {prefix}{name} is not a persistent module")
            _flatten(child, f"{prefix}{name}.", tensors, attrs)


def _from_persistent(obj: PersistentObject) -> tuple[StateDict, Hints]:
    """Flatten one network; hints come from attributes the modules saved (gains, clamps, groups)."""
    tensors: StateDict = {}
    attrs: dict[str, dict] = {}
    _flatten(obj, "", tensors, attrs)
    filters = [t for k, t in tensors.items() if k.endswith("resample_filter")]
    # Stored normalised, 1-D when separable; setup_filter gives the 2-D form either way.
    hints: Hints = {"resample_filter": ops.setup_filter(filters[0].float()).tolist() if filters else None}
    state = {k: v for k, v in tensors.items() if not k.endswith("resample_filter")}
    if "mapping.fc0" in attrs:
        hints["lr_multiplier"] = attrs["mapping.fc0"].get("bias_gain", 0.01)
    for name in ("synthesis.b4.conv1", "b4.conv"):
        if name in attrs:
            hints["conv_clamp"] = attrs[name].get("conv_clamp")
    if "b4.mbstd" in attrs:
        hints["mbstd_group_size"] = attrs["b4.mbstd"].get("group_size")
    return state, hints


# --- TensorFlow (dnnlib.tflib) ----------------------------------------------------------------

def _tf_vars(net: TFNetwork, component: str | None = None) -> dict[str, np.ndarray]:
    """Variables of a network (or of one of its components) by TF name."""
    state = net.state if component is None else net.state["components"][component].state
    out = {}
    for name, value in state["variables"]:
        value = np.asarray(value) if isinstance(value, np.generic) else value  # 0-d vars come as scalars
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
            raise UnsafeFileError(f"TensorFlow variable {name} is not a numeric array")
        out[name] = value
    return out


def _conv(w: np.ndarray, flip: bool = False) -> np.ndarray:
    """TF conv kernel [kh, kw, in, out] -> torch [out, in, kh, kw] (flipped for TF's up-conv)."""
    return (w[::-1, ::-1] if flip else w).transpose(3, 2, 0, 1)


def _tf_layer(prefix: str, name: str, value: np.ndarray, flip: bool = False) -> tuple[str, np.ndarray]:
    """One TF layer variable to (canonical name, array)."""
    table = {
        "weight": lambda v: _conv(v, flip) if v.ndim == 4 else v.T,
        "bias": lambda v: v,
        "mod_weight": lambda v: v.T,
        "mod_bias": lambda v: v + 1,  # TF adds the 1 at run time; the PyTorch bias stores it
        "noise_strength": lambda v: v,
    }
    target = {"mod_weight": "affine.weight", "mod_bias": "affine.bias"}.get(name, name)
    return f"{prefix}.{target}", table[name](value)


def _from_tf_generator(net: TFNetwork) -> tuple[StateDict, Hints]:
    """Rename G / Gs variables into the canonical generator layout."""
    own = _tf_vars(net)
    out: dict[str, np.ndarray] = {"mapping.w_avg": own["dlatent_avg"]}
    for name, v in _tf_vars(net, "mapping").items():
        m = re.fullmatch(r"Dense(\d+)/(weight|bias)", name)
        if not m:
            raise UnsafeFileError(f"unsupported mapping variable {name} (conditional or non-config-f network)")
        out[f"mapping.fc{m[1]}.{m[2]}"] = v.T if m[2] == "weight" else v
    for name, v in _tf_vars(net, "synthesis").items():
        key = _tf_synthesis_name(name)
        if key is not None:
            k, arr = (key, v) if isinstance(key, str) else key(v)
            out[k] = arr
    kw = net.state.get("static_kwargs", {})
    hints = {"lr_multiplier": kw.get("mapping_lrmul", 0.01), "conv_clamp": None,
             "resample_filter": ops.setup_filter(kw.get("resample_kernel", DEFAULT_FILTER)).tolist()}
    return _to_torch(out), hints


def _tf_synthesis_name(name: str) -> Any:
    """Canonical name (or a converter returning (name, array)) for one synthesis variable."""
    if name == "lod":
        return None  # progressive-growing leftover, unused by StyleGAN2
    m = re.fullmatch(r"noise(\d+)", name)
    if m:
        k = int(m[1])
        # noise0 feeds b4.conv1; then two per resolution: odd -> conv0, even -> conv1.
        res, layer = (4, "conv1") if k == 0 else (2 ** ((k + 5) // 2), "conv0" if k % 2 else "conv1")
        return lambda v: (f"synthesis.b{res}.{layer}.noise_const", v[0, 0])
    m = re.fullmatch(r"(\d+)x\1/(Const|Conv|Conv0_up|Conv1|ToRGB)/(\w+)", name)
    if not m:
        raise UnsafeFileError(f"unsupported synthesis variable {name} (not a config-f skip generator)")
    res, layer, var = m[1], m[2], m[3]
    if layer == "Const":
        return lambda v: (f"synthesis.b{res}.const", v[0])
    target = {"Conv": "conv1", "Conv0_up": "conv0", "Conv1": "conv1", "ToRGB": "torgb"}[layer]
    return lambda v: _tf_layer(f"synthesis.b{res}.{target}", var, v, flip=(layer == "Conv0_up"))


def _from_tf_discriminator(net: TFNetwork) -> tuple[StateDict, Hints]:
    """Rename D variables into the canonical discriminator layout."""
    out: dict[str, np.ndarray] = {}
    for name, v in _tf_vars(net).items():
        if name == "lod":
            continue
        m = re.fullmatch(r"(?:(\d+)x\1/)?(FromRGB|Conv0|Conv1_down|Skip|Conv|Dense0|Output)/(weight|bias)", name)
        if not m or (m[1] is None) != (m[2] == "Output"):
            raise UnsafeFileError(f"unsupported discriminator variable {name} (not a config-f resnet D)")
        if m[2] in ("Conv", "Dense0", "Output"):
            prefix = {"Conv": "b4.conv", "Dense0": "b4.fc", "Output": "b4.out"}[m[2]]
        else:
            prefix = f"b{m[1]}." + {"FromRGB": "fromrgb", "Conv0": "conv0", "Conv1_down": "conv1", "Skip": "skip"}[m[2]]
        k, arr = _tf_layer(prefix, m[3], v)
        out[k] = arr
    kw = net.state.get("static_kwargs", {})
    hints = {"conv_clamp": None, "mbstd_group_size": kw.get("mbstd_group_size", 4),
             "resample_filter": ops.setup_filter(kw.get("resample_kernel", DEFAULT_FILTER)).tolist()}
    return _to_torch(out), hints


def _to_torch(arrays: dict[str, np.ndarray]) -> StateDict:
    """Contiguous float32 tensors (TF layouts were transposed/flipped as views)."""
    return {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in arrays.items()}


# --- configs derived from shapes -------------------------------------------------------------

def _resolutions(state: StateDict, pattern: str, first: int) -> list[int]:
    """Sorted resolutions named in state-dict keys, checked to be first, 2*first, ... without gaps."""
    found = sorted({int(m[1]) for k in state if (m := re.match(pattern, k))})
    if not found or found != [first * 2 ** i for i in range(len(found))]:
        raise UnsafeFileError(f"network blocks are not a StyleGAN2 pyramid {first}, {2 * first}, ...: {found}")
    return found


def _filter(hints: Hints) -> list[list[float]]:
    """The file's resampling filter, or [1, 3, 3, 1] when it does not say."""
    f = hints.get("resample_filter")
    return f if f is not None else ops.setup_filter(DEFAULT_FILTER).tolist()


def generator_config(state: StateDict, hints: Hints) -> GeneratorConfig:
    """Shapes of a skip generator read from its weights."""
    if any(k.startswith("mapping.embed") for k in state):
        raise UnsafeFileError("conditional StyleGAN2 networks (with class labels) are not supported")
    n_fc = len({k for k in state if re.match(r"mapping\.fc\d+\.weight$", k)})
    if n_fc == 0 or "synthesis.b4.const" not in state:
        raise UnsafeFileError("the generator is not a StyleGAN2 generator (no mapping network or no 4x4 "
                              "constant input); StyleGAN3 and other architectures are not supported")
    res = _resolutions(state, r"synthesis\.b(\d+)\.", 4)
    top = res[-1]
    return GeneratorConfig(
        z_dim=state["mapping.fc0.weight"].shape[1], w_dim=state[f"mapping.fc{n_fc - 1}.weight"].shape[0],
        img_resolution=top, img_channels=state[f"synthesis.b{top}.torgb.weight"].shape[0],
        channels={r: state[f"synthesis.b{r}.conv1.weight"].shape[0] for r in res},
        mapping_layers=n_fc, mapping_features=state["mapping.fc0.weight"].shape[0],
        lr_multiplier=float(hints.get("lr_multiplier", 0.01)), conv_clamp=hints.get("conv_clamp"),
        resample_filter=_filter(hints))


def discriminator_config(state: StateDict, hints: Hints) -> DiscriminatorConfig:
    """Shapes of a resnet discriminator read from its weights."""
    if "b4.conv.weight" not in state or any(k.startswith("mapping.") for k in state):
        raise UnsafeFileError("the discriminator is not an unconditional StyleGAN2 resnet D")
    res = [4] + _resolutions(state, r"b(\d+)\.conv0\.", 8)
    top = res[-1]
    channels = {r: state[f"b{r}.conv0.weight"].shape[0] for r in res[1:]}
    channels[4] = state["b4.conv.weight"].shape[0]
    group = hints.get("mbstd_group_size", 4)
    return DiscriminatorConfig(
        img_resolution=top, img_channels=state[f"b{top}.fromrgb.weight"].shape[1], channels=channels,
        mbstd_group_size=None if group is None else int(group),
        mbstd_num_channels=state["b4.conv.weight"].shape[1] - channels[4],
        conv_clamp=hints.get("conv_clamp"), resample_filter=_filter(hints))


def load_weights(module: torch.nn.Module, state: StateDict, what: str) -> torch.nn.Module:
    """Strictly load a canonical state dict; a mismatch means an unsupported network."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UnsafeFileError(f"{what} does not have the config-f StyleGAN2 layout: {exc}") from None
    return module.eval().requires_grad_(False)
