"""Tiny random models saved in exactly the layouts the real hubs serve, read through the real code.

No pretrained weight can be downloaded here, so the loaders are proven on small models of the
real classes (open_clip's CLIP, pytorch-pretrained-biggan's BigGAN, transformers' GPT-2) written
to an offline Hugging Face cache and to a weights/ folder.

The tests that read `../shared` (GPT-2's tokenizer, NVIDIA's StyleGAN2 fixtures) are one group,
marked `shared`. A plain clone has no `../shared`: the group is skipped there, with the reason said
once. `GLASS_REQUIRE_SHARED=1` (set by `.ci/run`) makes its absence an error, and a test that reads
`../shared` without the mark fails, so the group is the whole of what needs it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Before anything imports huggingface_hub: it reads these once, at import.
_HF_HOME = Path(tempfile.mkdtemp(prefix="glass-hf-"))
os.environ["HF_HOME"] = str(_HF_HOME)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from glass_core.presets import PRESETS, Preset  # noqa: E402
from glass_core.scorer import CLIP_MODELS, ClipSpec  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GPT2_TOKENIZER = SHARED / "data" / "gpt2-tokenizer"
STYLEGAN2_FIXTURES = SHARED / "fixtures" / "stylegan2"
HAVE_SHARED = SHARED.is_dir()
SHARED_WHAT = "GPT-2's tokenizer, NVIDIA's StyleGAN2 fixtures"
TINY_CLIP_ARCH = "glass-tiny-test"
TINY_CLIP_REPO = "glass-tests/tiny-clip"
SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"

TINY_CLIP_CFG = {
    "embed_dim": 32, "quick_gelu": True,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def hub_snapshot(repo_id: str) -> Path:
    """The snapshot folder of `repo_id` in the offline cache, created with its refs/main."""
    repo = _HF_HOME / "hub" / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(SNAPSHOT)
    snap = repo / "snapshots" / SNAPSHOT
    snap.mkdir(parents=True, exist_ok=True)
    return snap


def _register_tiny_clip(tmp: Path) -> None:
    import json

    import open_clip

    cfg_file = tmp / f"{TINY_CLIP_ARCH}.json"
    cfg_file.write_text(json.dumps(TINY_CLIP_CFG))
    open_clip.add_model_config(cfg_file)


def _save_tiny_clip(dest: Path) -> None:
    import open_clip
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = open_clip.create_model(TINY_CLIP_ARCH)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(dest))


def _save_tiny_biggan(folder: Path) -> None:
    from pytorch_pretrained_biggan import BigGAN, BigGANConfig

    torch.manual_seed(0)
    cfg = BigGANConfig(output_dim=32, channel_width=4, n_stats=51, attention_layer_position=2,
                       layers=[(True, 16, 8), (True, 8, 4), (True, 4, 2), (False, 2, 1)])
    model = BigGAN(cfg).train()
    # The library leaves the last batch norm's affine parameters uninitialised (torch.Tensor(n)).
    torch.nn.init.normal_(model.generator.bn.weight, 1.0, 0.1)
    torch.nn.init.normal_(model.generator.bn.bias, 0.0, 0.1)
    with torch.no_grad():  # spectral norm's power iteration converges only in train mode
        for _ in range(30):
            model(torch.randn(2, 128), torch.eye(1000)[:2], 1.0)
    state = model.state_dict()
    for key in state:  # valid batch-norm statistics: small means, positive variances
        if key.endswith("running_means"):
            state[key] = torch.randn_like(state[key]) * 0.1
        elif key.endswith("running_vars"):
            state[key] = torch.rand_like(state[key]) + 0.5
        elif key.endswith("weight") and state[key].dim() > 1:
            state[key] = torch.randn_like(state[key]) * 0.2
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(cfg.to_json_string())
    torch.save(state, folder / "pytorch_model.bin")  # the library's own file format


def _save_tiny_gpt2(dest: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    torch.manual_seed(0)
    # A wide initialisation, so that the context (the genome) really changes the caption.
    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, n_positions=128, initializer_range=0.5))
    model.save_pretrained(dest)
    GPT2TokenizerFast.from_pretrained(GPT2_TOKENIZER).save_pretrained(dest)


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    """A weights/ folder with tiny BigGAN and CLIP, plus the same CLIP in the hub cache.

    Needs nothing beside the checkout. Tests that also need the tiny GPT-2 ask for `tiny_gpt2_root`.
    """
    root = tmp_path_factory.mktemp("weights")
    _register_tiny_clip(root)
    CLIP_MODELS["tiny"] = ClipSpec(folder="clip/tiny", arch=TINY_CLIP_ARCH, hub_repo=TINY_CLIP_REPO)
    (root / "clip" / "tiny").mkdir(parents=True)
    _save_tiny_clip(root / "clip" / "tiny" / "open_clip_model.safetensors")
    _save_tiny_clip(hub_snapshot(TINY_CLIP_REPO) / "open_clip_model.safetensors")
    _save_tiny_biggan(root / "biggan" / "biggan-deep-128")
    return root


@pytest.fixture(scope="session")
def tiny_gpt2_root(tiny_root) -> Path:
    """`tiny_root` with a tiny GPT-2 added (weights/gpt2/gpt2, and in the hub cache): the same folder.

    Its tokenizer is GPT-2's own, from ../shared, so only tests marked `shared` may ask for it.
    """
    if not GPT2_TOKENIZER.is_dir():
        pytest.fail(f"the tiny GPT-2 needs GPT-2's tokenizer at {GPT2_TOKENIZER}: a test that asks for "
                    "tiny_gpt2_root must be marked @pytest.mark.shared", pytrace=False)
    _save_tiny_gpt2(tiny_root / "gpt2" / "gpt2")
    _save_tiny_gpt2(hub_snapshot("openai-community/gpt2"))
    return tiny_root


TEST_PRESETS = {
    "test_biggan": Preset(name="test_biggan", task="text2image", generator="biggan",
                          generator_args={"model": "biggan-deep-128"}, clip="tiny",
                          pop_size=16, generations=6, batch_size=8),
    "test_gpt2": Preset(name="test_gpt2", task="image2text", generator="gpt2",
                        generator_args={"model": "gpt2", "max_new_tokens": 8}, clip="tiny",
                        pop_size=12, generations=4, batch_size=12),
}


@pytest.fixture
def test_presets(monkeypatch, tiny_root):
    """The tiny presets, registered like any other for the duration of one test.

    `test_gpt2` is registered too, but its weights exist only for tests that ask for `tiny_gpt2_root`.
    """
    for name, preset in TEST_PRESETS.items():
        monkeypatch.setitem(PRESETS, name, preset)
    return TEST_PRESETS


@pytest.fixture
def biggan(test_presets, tiny_root):
    """A pipeline over the tiny BigGAN and CLIP."""
    from glass_core.pipeline import Pipeline

    return Pipeline.from_preset("test_biggan", weights_root=tiny_root)


def trace(records) -> list[float]:
    """Best similarity per generation of a search."""
    return [r.best_similarity for r in records]


def random_image(seed: int = 0, size: int = 48):
    """A reproducible noise picture."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), mode="RGB")


# ---- The `shared` group: skipped with one reason on a plain clone, required by CI ----

REQUIRE_SHARED = "GLASS_REQUIRE_SHARED"
_GROUP = pytest.StashKey[dict]()  # how many tests of the group were selected, and skipped


def _shared_reason(n: int) -> str:
    return (f"../shared is not beside this checkout (a plain clone): {n} tests of the shared group skipped: "
            f"{SHARED_WHAT}")


def pytest_configure(config):
    if os.environ.get(REQUIRE_SHARED) == "1":
        missing = [p for p in (SHARED, GPT2_TOKENIZER, STYLEGAN2_FIXTURES) if not p.is_dir()]
        if missing:
            raise pytest.UsageError(
                f"{REQUIRE_SHARED}=1, but {missing[0]} is missing: the tests of the shared group ({SHARED_WHAT}) "
                f"need ../shared beside the checkout (CI always has it). Unset {REQUIRE_SHARED} to skip that group.")
    config.stash[_GROUP] = {"selected": 0, "skipped": 0}


@pytest.hookimpl(trylast=True)  # after -m / -k have deselected
def pytest_collection_modifyitems(config, items):
    group = [item for item in items if item.get_closest_marker("shared")]
    config.stash[_GROUP]["selected"] = len(group)
    if HAVE_SHARED or not group:
        return
    skip = pytest.mark.skip(reason=_shared_reason(len(group)))
    for item in group:
        item.add_marker(skip)
    config.stash[_GROUP]["skipped"] = len(group)


def pytest_terminal_summary(terminalreporter, config):
    group = config.stash.get(_GROUP, None)
    if not group or not group["selected"]:
        return
    if group["skipped"]:
        terminalreporter.write_sep("=", "shared group skipped", yellow=True, bold=True)
        terminalreporter.write_line(_shared_reason(group["skipped"]) + ".")
        terminalreporter.write_line(f"CI runs them: put shared/ beside the checkout and set {REQUIRE_SHARED}=1 "
                                    "(.ci/run does) to require it.")
    else:
        terminalreporter.write_line(f"shared group: {group['selected']} tests selected, ../shared found at {SHARED}")


# A test that reads ../shared without the mark would pass here and fail on a plain clone: while
# an unmarked test runs, any file opened under ../shared makes it fail.
_CURRENT: dict = {"test": None}
_SHARED_PREFIX = str(SHARED) + os.sep


def _watch_shared(event: str, args: tuple) -> None:
    test = _CURRENT["test"]
    if test is None or event != "open" or not args:
        return
    path = args[0]
    if isinstance(path, (str, bytes, os.PathLike)):
        try:
            path = os.path.abspath(os.fsdecode(path))
        except (TypeError, ValueError):
            return
        if path.startswith(_SHARED_PREFIX) and path not in test["reads"]:
            test["reads"].append(path)


if HAVE_SHARED:
    sys.addaudithook(_watch_shared)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    watched = HAVE_SHARED and item.get_closest_marker("shared") is None
    _CURRENT["test"] = {"reads": []} if watched else None
    try:
        yield
    finally:
        _CURRENT["test"] = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    test = _CURRENT["test"]
    report = outcome.get_result()
    if test and test["reads"] and call.when == "teardown" and not report.failed:
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid} read ../shared ({test['reads'][0]}) but is not marked "
                           "@pytest.mark.shared: on a plain clone it would fail. Mark it (or its module).")
