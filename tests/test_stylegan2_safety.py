"""Loading a network file never runs code from it: hostile pickles are refused with a clear reason."""

from __future__ import annotations

import io
import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from glass_core.errors import UnsafeFileError
from glass_core.generators import stylegan2 as generator
from glass_core.nets.stylegan2 import convert
from glass_core.nets.stylegan2.layout import networks_from_raw
from glass_core.nets.stylegan2.unpickle import PersistentObject, RestrictedUnpickler, safe_load

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "stylegan2"


class ShellCommand:
    """Pickles as `os.system(cmd)`: what a malicious network file would contain."""

    def __init__(self, cmd: str):
        self.cmd = cmd

    def __reduce__(self):
        return os.system, (self.cmd,)


def plant(path: Path, obj) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return path


def test_shell_command_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = plant(tmp_path / "stylegan2-ffhq-config-f.pkl", {"G": ShellCommand(f"touch {marker}")})
    with pytest.raises(UnsafeFileError, match=r"refused to load global posix\.system"):
        safe_load(evil)
    with pytest.raises(UnsafeFileError):
        generator.load(torch.device("cpu"), tmp_path, path=evil)
    assert not marker.exists()


def test_refused_even_through_the_normal_weights_lookup(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASS_OFFLINE", "1")
    marker = tmp_path / "pwned"
    folder = tmp_path / "stylegan2"
    folder.mkdir()
    plant(folder / "stylegan2-church-config-f.pkl", (ShellCommand(f"touch {marker}"),) * 3)
    with pytest.raises(UnsafeFileError, match="posix.system"):
        generator.load(torch.device("cpu"), tmp_path, network="church")
    assert not marker.exists() and not (folder / "church.safetensors").exists()


@pytest.mark.parametrize("module,name", [("builtins", "eval"), ("builtins", "getattr"),
                                         ("subprocess", "Popen"), ("torch", "load"), ("numpy", "load")])
def test_any_global_off_the_allow_list_is_named_in_the_refusal(tmp_path, module, name):
    payload = f"c{module}\n{name}\n(S'1'\ntR.".encode()  # protocol 0: GLOBAL, then call it
    path = tmp_path / "x.pkl"
    path.write_bytes(payload)
    with pytest.raises(UnsafeFileError, match=rf"{module}\.{name}"):
        safe_load(path)


def test_embedded_module_source_is_kept_inert(tmp_path, monkeypatch):
    """A persistence object whose source would write a file: reconstructed, never executed."""
    marker = tmp_path / "ran"
    fake = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):  # only so that pickle can name it when dumping
        raise AssertionError

    _reconstruct_persistent_obj.__module__ = fake.__name__
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    fake._reconstruct_persistent_obj = _reconstruct_persistent_obj
    monkeypatch.setitem(sys.modules, "torch_utils", types.ModuleType("torch_utils"))
    monkeypatch.setitem(sys.modules, "torch_utils.persistence", fake)

    class Persistent:
        def __reduce__(self):
            src = f"open({str(marker)!r}, 'w').write('x')\nclass Generator: pass\n"
            meta = dict(type="class", version=6, module_src=src, class_name="Generator",
                        state={"_parameters": {}, "_buffers": {}, "_modules": {}})
            return _reconstruct_persistent_obj, (meta,)

    path = plant(tmp_path / "net.pkl", {"G": Persistent(), "D": Persistent(), "G_ema": Persistent()})
    monkeypatch.delitem(sys.modules, "torch_utils.persistence")
    raw = safe_load(path)
    assert isinstance(raw["G"], PersistentObject) and raw["G"].class_name == "Generator"
    with pytest.raises(UnsafeFileError):  # an empty network is not a StyleGAN2
        convert.read_pickle(path)
    assert not marker.exists()


def test_hostile_payload_inside_a_tensor_storage_is_refused(tmp_path):
    """The bytes of `torch.storage._load_from_bytes` are a pickle too, unpickled just as strictly."""
    marker = tmp_path / "pwned"
    header = b"".join(pickle.dumps(v, protocol=2) for v in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}))
    blob = header + pickle.dumps(ShellCommand(f"touch {marker}"), protocol=2)

    class Storage:
        def __reduce__(self):
            return torch.storage._load_from_bytes, (blob,)

    path = plant(tmp_path / "net.pkl", {"G": Storage()})
    with pytest.raises(UnsafeFileError, match="posix.system"):
        safe_load(path)
    assert not marker.exists()


def test_other_files_are_refused_clearly(tmp_path):
    text = tmp_path / "notes.pkl"
    text.write_text("definitely not a pickle")
    wrong_shape = plant(tmp_path / "dict.pkl", {"weights": [1, 2, 3]})
    with pytest.raises(UnsafeFileError, match="not a StyleGAN2 network pickle"):
        safe_load(text)
    with pytest.raises(UnsafeFileError, match="neither"):
        networks_from_raw(safe_load(wrong_shape))
    bad_st = tmp_path / "x.safetensors"
    bad_st.write_bytes(b"\x00" * 64)
    bad_st.with_suffix(".json").write_text('{"format_version": 1}')
    with pytest.raises(UnsafeFileError, match="not a readable safetensors"):
        convert.load_file(bad_st)
    with pytest.raises(UnsafeFileError, match="expected a .pkl"):
        convert.load_file(tmp_path / "weights.bin")


@pytest.mark.shared
def test_a_truncated_network_is_refused_clearly(tmp_path):
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes((FIXTURES / "tiny-pytorch-network.pkl").read_bytes()[:200_000])
    with pytest.raises(UnsafeFileError, match="not a StyleGAN2 network pickle"):
        safe_load(truncated)


@pytest.mark.shared
def test_official_formats_load_without_any_ordinary_unpickling(monkeypatch):
    """With torch.load and pickle.load(s) disabled, both fixtures still load: nothing used them."""
    def forbidden(*_a, **_k):
        raise AssertionError("ordinary unpickling was used")

    for target, name in ((torch, "load"), (pickle, "load"), (pickle, "loads"), (np, "load")):
        monkeypatch.setattr(target, name, forbidden)
    for fmt in ("pytorch", "tensorflow"):
        nets = convert.load_file(FIXTURES / f"tiny-{fmt}-network.pkl")
        assert nets.G.cfg.img_resolution == 32


def test_restricted_unpickler_reads_plain_containers():
    """Protocol-2 pickles spell sets as builtins.set: harmless, so allowed."""
    buf = io.BytesIO(pickle.dumps({"a": {1, 2}, "b": frozenset([3])}, protocol=2))
    assert RestrictedUnpickler(buf).load() == {"a": {1, 2}, "b": frozenset([3])}


def test_cyclic_module_tree_is_refused():
    """Pickle memo references allow cycles; walking one must end in a refusal, not a crash."""
    obj = PersistentObject("Generator", {"_parameters": {}, "_buffers": {}, "_modules": {}})
    obj.state["_modules"]["again"] = obj
    with pytest.raises(UnsafeFileError, match="nest too deeply"):
        networks_from_raw({"G": obj, "D": obj, "G_ema": obj})
