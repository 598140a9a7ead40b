"""Read NVIDIA's StyleGAN2 pickles without running any code they carry.

Both official formats are pickles whose loading normally imports and executes NVIDIA code
(`torch_utils.persistence` re-executes embedded module source; `dnnlib.tflib` needs
TensorFlow). Here `find_class` resolves only an allow-list of harmless globals, and the
two code-carrying ones are mapped to inert stand-ins that just keep their state:

* PyTorch (stylegan2-ada-pytorch / stylegan3): every module is reduced to
  `torch_utils.persistence._reconstruct_persistent_obj(meta)`; the tensors inside are
  `torch._utils._rebuild_tensor_v2(storage, ...)` with each storage pickled as
  `torch.storage._load_from_bytes(b)`, where `b` is a legacy (non-zip) `torch.save` stream:
  five small pickles (magic, protocol, sys info, the storage as a persistent id, its keys)
  followed by an int64 element count and the raw little-endian data.
* TensorFlow (original StyleGAN2): `dnnlib.tflib.network.Network` objects whose state holds
  `variables` as (name, ndarray), the arrays pickled the usual numpy way.

Anything else raises `UnsafeFileError` naming the refused global.
"""

from __future__ import annotations

import codecs
import io
import pickle
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from glass_core.errors import UnsafeFileError

_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}


@dataclass
class PersistentObject:
    """Inert stand-in for a `torch_utils.persistence` module: its class name and saved state."""

    class_name: str
    state: dict = field(repr=False)


class TFNetwork:
    """Inert stand-in for `dnnlib.tflib.network.Network`; keeps the pickled state dict only."""

    def __setstate__(self, state: dict) -> None:
        if not isinstance(state, dict):
            raise UnsafeFileError("TensorFlow network state is not a dict")
        self.state = state


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    """Keep class name and state; the embedded `module_src` is deliberately never looked at."""
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("state"), dict):
        raise UnsafeFileError("persistent object metadata has an unexpected layout")
    return PersistentObject(str(meta.get("class_name")), meta["state"])


def _rebuild_tensor_v2(storage: Any, offset: int, size: tuple, stride: tuple, *_: Any) -> torch.Tensor:
    """View of a storage (already a flat tensor here), copied so it owns its memory."""
    if not isinstance(storage, torch.Tensor):
        raise UnsafeFileError("tensor storage is not a storage")
    try:
        return torch.as_strided(storage, tuple(size), tuple(stride), int(offset)).clone()
    except RuntimeError as exc:
        raise UnsafeFileError(f"tensor does not fit its storage: {exc}") from None


def _rebuild_parameter(data: Any, *_: Any) -> torch.Tensor:
    """A parameter is kept as its plain tensor."""
    if not isinstance(data, torch.Tensor):
        raise UnsafeFileError("parameter data is not a tensor")
    return data


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    """Numeric numpy scalars only (an object-dtype scalar could smuggle an arbitrary value)."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufc" or not isinstance(data, bytes):
        raise UnsafeFileError("numpy scalar with a non-numeric dtype")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


def _numpy_reconstruct(subtype: Any, shape: Any, dtype_code: Any) -> np.ndarray:
    """Empty plain ndarray that the pickle's BUILD step then fills via ndarray.__setstate__."""
    if subtype is not np.ndarray:
        raise UnsafeFileError("numpy array of a subclass")
    return np.ndarray.__new__(np.ndarray, shape, np.dtype("b"))


def _codecs_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """Python 2 era pickles store bytes as latin-1 text; only that use is allowed."""
    if not isinstance(text, str) or codecs.lookup(encoding).name not in ("latin-1", "iso8859-1"):
        raise UnsafeFileError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin-1")


def _load_from_bytes(data: Any) -> torch.Tensor:
    """Parse a legacy `torch.save` stream holding one storage, as a flat tensor."""
    if not isinstance(data, bytes):
        raise UnsafeFileError("storage payload is not bytes")
    f = io.BytesIO(data)
    header = [_plain_load(f) for _ in range(3)]
    if header[0] != _TORCH_LEGACY_MAGIC or header[1] != _TORCH_LEGACY_PROTOCOL:
        raise UnsafeFileError("storage is not in torch's legacy serialization format")
    if not isinstance(header[2], dict) or not header[2].get("little_endian", False):
        raise UnsafeFileError("big-endian or malformed torch storage")
    ids: list[tuple] = []
    StorageUnpickler(f, ids).load()
    keys = _plain_load(f)
    if len(ids) != 1 or keys != [ids[0][2]] or ids[0][5] is not None:
        raise UnsafeFileError("storage stream holds other than exactly one plain storage")
    dtype = ids[0][1]
    numel = int(np.frombuffer(f.read(8), dtype="<i8")[0])
    nbytes = numel * torch.empty((), dtype=dtype).element_size()
    raw = f.read(nbytes)
    if len(raw) != nbytes:
        raise UnsafeFileError("storage data is truncated")
    return torch.frombuffer(bytearray(raw), dtype=dtype) if nbytes else torch.empty(0, dtype=dtype)


ALLOWED_GLOBALS: dict[tuple[str, str], Callable[..., Any] | type] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,  # protocol <= 2 spells builtins the Python 2 way
    ("__builtin__", "frozenset"): frozenset,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("dnnlib.tflib.network", "Network"): TFNetwork,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("_codecs", "encode"): _codecs_encode,
    # Pickles of training snapshots may carry these plain containers/dicts.
    ("dnnlib.util", "EasyDict"): dict,
    ("dnnlib", "EasyDict"): dict,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only `ALLOWED_GLOBALS` and refuses persistent ids."""

    def find_class(self, module: str, name: str) -> Any:
        """Map an allowed global to its safe stand-in, refuse everything else."""
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafeFileError(
                f"refused to load global {module}.{name}: not on glass's allow-list of harmless "
                "names, so the file could run code") from None

    def persistent_load(self, pid: Any) -> Any:
        """Top-level network pickles never use persistent ids."""
        raise UnsafeFileError(f"refused persistent id {pid!r} in a network pickle")


class StorageUnpickler(RestrictedUnpickler):
    """The storage pickle inside `_load_from_bytes`: a persistent id naming a typed storage."""

    def __init__(self, f: io.BytesIO, ids: list[tuple]):
        super().__init__(f)
        self.ids = ids

    def find_class(self, module: str, name: str) -> Any:
        """Storage classes become their dtype; nothing else is needed here."""
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        """Record ('storage', dtype, key, location, numel, view) and return a placeholder."""
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"
                and isinstance(pid[1], torch.dtype)):
            raise UnsafeFileError(f"unexpected persistent id {pid!r} in a torch storage")
        self.ids.append(pid)
        return None


class _NoGlobalsUnpickler(RestrictedUnpickler):
    """For the header pickles of a storage stream: plain numbers, strings and dicts only."""

    def find_class(self, module: str, name: str) -> Any:
        """Nothing is needed, so nothing is allowed."""
        raise UnsafeFileError(f"refused to load global {module}.{name} in a torch storage header")


def _plain_load(f: io.BytesIO) -> Any:
    """Load one small pickle that may not reference any global at all."""
    return _NoGlobalsUnpickler(f).load()


def safe_load(path: Path | str) -> Any:
    """Unpickle `path` with the restricted unpickler; any failure is an UnsafeFileError."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f).load()
    except UnsafeFileError as exc:
        raise UnsafeFileError(f"{path.name}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError, OverflowError, RuntimeError, UnicodeDecodeError) as exc:
        raise UnsafeFileError(f"{path.name} is not a StyleGAN2 network pickle glass can read "
                              f"({type(exc).__name__}: {exc})") from None
