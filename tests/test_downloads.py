"""Downloads: from the first source that works, resumed, checked, atomic; refused ones leave weights/ as it was.

No real weights are fetched: sources are `file://` URLs of the tiny models, a port nothing listens
on, or a fake opener (`glass_core.downloads._open`) that serves bytes as a server would.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from pathlib import Path

import pytest
import torch

from glass_core import downloads
from glass_core.errors import MissingWeightsError
from glass_core.generators import biggan, gpt2, load_generator
from glass_core.scorer import CLIP_MODELS, load_clip
from glass_core.downloads import Source, fetch_files, record_path
from glass_core.weights import DamagedWeightsError

CPU = torch.device("cpu")


def tree(root: Path) -> list[tuple[str, int]]:
    """Every path under `root` with its size (-1 for folders): equal before and after means untouched."""
    return [(str(p.relative_to(root)), -1 if p.is_dir() else p.stat().st_size) for p in sorted(root.rglob("*"))]


def refused_url() -> str:
    """An http URL on a local port nothing listens on: the connection is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def download_cache(tmp_path, monkeypatch):
    """Partial downloads go to a folder of the test's own, never to the user's cache."""
    cache = tmp_path / "glass-cache"
    monkeypatch.setenv("GLASS_CACHE", str(cache))
    return cache / "downloads"


@pytest.fixture
def online(monkeypatch):
    """Offline mode off (conftest turns it on for every test)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("GLASS_OFFLINE", raising=False)


@pytest.fixture
def weights_root(tmp_path):
    """A weights/ folder with something already in it, as the repository's has."""
    root = tmp_path / "weights"
    (root / "mini").mkdir(parents=True)
    (root / "README.md").write_text("weights\n")
    (root / "mini" / "kept.bin").write_bytes(b"x" * 10)
    return root


def tiny_biggan_sources(tiny_root: Path, broken: str) -> list[Source]:
    """A source that fails, then one serving the tiny BigGAN as file:// URLs."""
    folder = tiny_root / "biggan" / "biggan-deep-128"
    return [
        Source("broken mirror", (f"{broken}/config.json", f"{broken}/pytorch_model.bin")),
        Source("tiny copy", ((folder / "config.json").as_uri(), (folder / "pytorch_model.bin").as_uri())),
    ]


def test_biggan_downloads_from_the_next_source_and_records_the_hash(tiny_root, weights_root, online, monkeypatch,
                                                                    download_cache):
    monkeypatch.setattr(biggan, "sources", lambda name: tiny_biggan_sources(tiny_root, refused_url()))
    gen = load_generator("biggan", CPU, weights_root, model="biggan-deep-128")
    assert gen.latent.n_real == 128
    folder = weights_root / "biggan" / "biggan-deep-128"
    data = (folder / "pytorch_model.bin").read_bytes()
    assert data == (tiny_root / "biggan" / "biggan-deep-128" / "pytorch_model.bin").read_bytes()
    record = json.loads(record_path(folder / "pytorch_model.bin").read_text())
    assert record["sha256"] == hashlib.sha256(data).hexdigest() and record["size"] == len(data)
    assert record["source"] == "tiny copy"
    # Only the files and their records: no temporary file in weights/, no .part left in the cache.
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "config.json.sha256.json", "pytorch_model.bin", "pytorch_model.bin.sha256.json"]
    assert not list(download_cache.glob("*.part"))


def test_refused_download_leaves_weights_as_it_was_and_names_every_source(tiny_root, weights_root, online,
                                                                          monkeypatch):
    broken = refused_url()
    sources = [Source("S3", (f"{broken}/a-config.json", f"{broken}/a.bin")),
               Source("hub copy", ((tiny_root / "biggan" / "biggan-deep-128" / "config.json").as_uri(),
                                   (tiny_root / "nowhere.bin").as_uri()))]  # config arrives, weights do not
    monkeypatch.setattr(biggan, "sources", lambda name: sources)
    before = tree(weights_root)
    t0 = time.perf_counter()
    with pytest.raises(MissingWeightsError) as err:
        load_generator("biggan", CPU, weights_root, model="biggan-deep-256")
    assert time.perf_counter() - t0 < 5
    assert tree(weights_root) == before  # no biggan/ folder, no lone config.json, no temp file
    message = str(err.value)
    assert "Tried 2 sources" in message and "S3 (" in message and "hub copy (" in message
    assert str(weights_root / "biggan" / "biggan-deep-256" / "pytorch_model.bin") in message


class FakeResponse:
    """What urlopen returns, for bytes served by a fake server."""

    def __init__(self, body: bytes, status: int = 200, headers: dict | None = None):
        self.body, self.status, self.headers, self.pos = body, status, headers or {}, 0

    def read(self, n: int = -1) -> bytes:
        n = len(self.body) - self.pos if n < 0 else n
        chunk = self.body[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

    def getcode(self) -> int:
        return self.status

    def close(self) -> None:
        pass


def test_cut_download_is_refused_then_resumed_with_a_range_request(weights_root, online, monkeypatch,
                                                                   download_cache):
    payload = bytes(range(256)) * 4000  # ~1 MB
    asked = []

    def cut_short(url, start=0):  # promises everything, sends 300 kB, then the connection ends
        asked.append(start)
        return FakeResponse(payload[:300_000], headers={"Content-Length": str(len(payload))})

    dest = weights_root / "stylegan2" / "net.pkl"
    before = tree(weights_root)
    monkeypatch.setattr(downloads, "_open", cut_short)
    with pytest.raises(MissingWeightsError, match=f"got 300000 of {len(payload)} bytes"):
        fetch_files([Source("fake", ("https://example.invalid/net.pkl",))], [dest], "a network")
    assert tree(weights_root) == before
    assert [p.stat().st_size for p in download_cache.glob("*.part")] == [300_000]  # kept, outside weights/

    def honours_range(url, start=0):
        asked.append(start)
        rest = payload[start:]
        return FakeResponse(rest, status=206, headers={
            "Content-Length": str(len(rest)), "Content-Range": f"bytes {start}-{len(payload) - 1}/{len(payload)}"})

    monkeypatch.setattr(downloads, "_open", honours_range)
    assert fetch_files([Source("fake", ("https://example.invalid/net.pkl",))], [dest], "a network") == [dest]
    assert asked == [0, 300_000]
    assert dest.read_bytes() == payload
    assert json.loads(record_path(dest).read_text())["sha256"] == hashlib.sha256(payload).hexdigest()
    assert not list(download_cache.glob("*.part"))


def test_server_that_ignores_range_restarts_from_zero(weights_root, online, monkeypatch, download_cache):
    payload = b"abc" * 1000
    download_cache.mkdir(parents=True)
    downloads._part_path("https://example.invalid/f.bin").write_bytes(b"zzz")  # stale partial
    monkeypatch.setattr(downloads, "_open", lambda url, start=0: FakeResponse(
        payload, headers={"Content-Length": str(len(payload))}))
    dest = weights_root / "f.bin"
    fetch_files([Source("fake", ("https://example.invalid/f.bin",))], [dest], "a file")
    assert dest.read_bytes() == payload


def test_empty_download_is_refused(weights_root, online, monkeypatch):
    monkeypatch.setattr(downloads, "_open", lambda url, start=0: FakeResponse(b""))
    before = tree(weights_root)
    with pytest.raises(MissingWeightsError, match="empty file"):
        fetch_files([Source("fake", ("https://example.invalid/e.bin",))], [weights_root / "new" / "e.bin"], "x")
    assert tree(weights_root) == before


def test_damaged_download_is_a_clear_error_on_later_loads(tiny_root, weights_root, online, monkeypatch):
    monkeypatch.setattr(biggan, "sources", lambda name: tiny_biggan_sources(tiny_root, refused_url()))
    load_generator("biggan", CPU, weights_root, model="biggan-deep-128")
    file = weights_root / "biggan" / "biggan-deep-128" / "pytorch_model.bin"
    data = bytearray(file.read_bytes())
    data[-20] ^= 0xFF  # same size, one byte changed
    file.write_bytes(bytes(data))
    with pytest.raises(DamagedWeightsError, match="SHA-256 recorded when it was downloaded") as err:
        load_generator("biggan", CPU, weights_root, model="biggan-deep-128")
    assert "Delete" in str(err.value) and isinstance(err.value, MissingWeightsError)
    file.write_bytes(bytes(data[:100]))
    with pytest.raises(DamagedWeightsError, match="cut short"):
        load_generator("biggan", CPU, weights_root, model="biggan-deep-128")


def test_files_put_there_by_hand_are_loaded_without_a_record(tiny_root):
    assert not record_path(tiny_root / "biggan" / "biggan-deep-128" / "pytorch_model.bin").exists()
    load_generator("biggan", CPU, tiny_root, model="biggan-deep-128")


# ---- Missing weights are reported in under a second, offline or with the hub out of reach ----

@pytest.fixture
def absent_hub_models(monkeypatch):
    """GPT-2 and CLIP pointed at hub repositories the test cache does not hold."""
    import open_clip  # noqa: F401  (imported once, as in the app: the timer measures the lookup)
    import transformers  # noqa: F401

    from glass_core.scorer import ClipSpec

    monkeypatch.setitem(gpt2.MODELS, "gpt2", ("gpt2/gpt2", "glass-tests/absent-gpt2"))
    monkeypatch.setitem(CLIP_MODELS, "absent", ClipSpec(folder="clip/absent", arch="ViT-B-32-quickgelu",
                                                         hub_repo="glass-tests/absent-clip"))


LOADERS = {
    "gpt2": lambda root: load_generator("gpt2", CPU, root, model="gpt2"),
    "biggan": lambda root: load_generator("biggan", CPU, root, model="biggan-deep-256"),
    "clip": lambda root: load_clip("absent", CPU, root),
    "clip-openai": lambda root: load_clip("ViT-B-32-quickgelu/openai", CPU, root),
}


@pytest.mark.parametrize("flag", ["HF_HUB_OFFLINE", "GLASS_OFFLINE"])
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_offline_missing_answers_in_under_a_second(loader, flag, tmp_path, online, absent_hub_models, monkeypatch):
    monkeypatch.setenv(flag, "1")
    root = tmp_path / "empty"
    root.mkdir()
    t0 = time.perf_counter()
    with pytest.raises(MissingWeightsError, match="offline mode is on"):
        LOADERS[loader](root)
    assert time.perf_counter() - t0 < 1.0
    assert tree(root) == []


@pytest.mark.parametrize("loader", ["gpt2", "clip"])
def test_unreachable_hub_answers_in_under_a_second(loader, tmp_path, online, absent_hub_models, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", refused_url())  # huggingface_hub would retry ~23 s
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    t0 = time.perf_counter()
    with pytest.raises(MissingWeightsError, match="cannot reach 127.0.0.1"):
        LOADERS[loader](tmp_path)
    assert time.perf_counter() - t0 < 1.0
    assert tree(tmp_path) == []


def test_biggan_sources_are_s3_then_the_hub_copy_where_one_exists():
    names = [s.name for s in biggan.sources("biggan-deep-128")]
    assert names == ["pytorch-pretrained-biggan's S3", "Hugging Face hub osanseviero/BigGAN-deep-128"]
    assert biggan.sources("biggan-deep-128")[1].urls[1].endswith("/osanseviero/BigGAN-deep-128/resolve/main/"
                                                                   "pytorch_model.bin")
    assert len(biggan.sources("biggan-deep-256")) == 1


@pytest.mark.shared  # NVIDIA's tiny StyleGAN2 fixture, from ../shared
def test_stylegan2_falls_back_to_a_mirror_saved_under_its_own_name(tmp_path, weights_root, online, monkeypatch):
    import dataclasses
    import shutil

    from conftest import STYLEGAN2_FIXTURES
    from glass_core.generators import stylegan2

    server = tmp_path / "server"
    server.mkdir()
    shutil.copy(STYLEGAN2_FIXTURES / "tiny-tensorflow-network.pkl", server / "stylegan2-ffhq-config-f.pkl")
    info = dataclasses.replace(stylegan2.NETWORKS["ffhq"], url=f"{refused_url()}/stylegan2-ffhq-1024x1024.pkl",
                               mirrors=((server / "stylegan2-ffhq-config-f.pkl").as_uri(),))
    monkeypatch.setitem(stylegan2.NETWORKS, "ffhq", info)
    converted = stylegan2.resolve_weights(weights_root, "ffhq")
    folder = weights_root / "stylegan2"
    assert converted == folder / "ffhq.safetensors"
    assert record_path(folder / "stylegan2-ffhq-config-f.pkl").is_file()
    assert not (folder / "stylegan2-ffhq-1024x1024.pkl").exists()
    # A later conversion checks the downloaded pickle against its record first.
    converted.unlink()
    with open(folder / "stylegan2-ffhq-config-f.pkl", "ab") as f:
        f.write(b"tail")
    with pytest.raises(DamagedWeightsError, match="cut short|changed"):
        stylegan2.resolve_weights(weights_root, "ffhq")
