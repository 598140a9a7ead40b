"""One registry of presets, with the paper's names, sizes and overridable fields."""

from __future__ import annotations

import pytest

from glass_core.errors import BadInputError
from glass_core.presets import PRESETS, get_preset

PAPER = ["GPT2", "DeepMindBigGAN256", "DeepMindBigGAN512", *[
    f"StyleGAN2_{net}_{d}" for net in ("ffhq", "car", "church") for d in ("d", "nod")]]


def test_paper_configurations_keep_their_names_and_sizes():
    assert set(PAPER) | {"DeepMindBigGAN128"} <= set(PRESETS)
    assert all(PRESETS[n].generations == 500 for n in PAPER)
    assert PRESETS["GPT2"].pop_size == 100 and PRESETS["DeepMindBigGAN256"].pop_size == 64
    assert all(PRESETS[f"StyleGAN2_{n}_d"].algorithm == "nsga2" for n in ("ffhq", "car", "church"))
    assert all(PRESETS[f"StyleGAN2_{n}_nod"].algorithm == "ga" for n in ("ffhq", "car", "church"))


def test_any_field_can_be_overridden_without_touching_the_registry():
    p = get_preset("DeepMindBigGAN256", generations=50, seed=3, operators={"hux_prob": 0.5})
    assert (p.generations, p.seed, p.operators.hux_prob, p.operators.sbx_eta) == (50, 3, 0.5, 3.0)
    assert PRESETS["DeepMindBigGAN256"].generations == 500


@pytest.mark.parametrize("overrides,message", [
    ({"pop_size": 1}, "Population"), ({"generations": 0}, "Generations"), ({"colour": "red"}, "Unknown preset field"),
    ({"evaluations": 0}, "evaluation budget"), ({"operators": "fast"}, "Unknown operator set 'fast'; choose one of: paper, glass"),
    ({"operators": {"pm_gene_prob": 1.5}}, "pm_gene_prob must be between 0 and 1"),
    ({"operators": {"pm_eta": 0}}, "etas must be positive"),
])
def test_bad_overrides_are_refused_clearly(overrides, message):
    with pytest.raises(BadInputError, match=message):
        get_preset("GPT2", **overrides)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(BadInputError, match="DeepMindBigGAN256"):
        get_preset("BigGAN9000")
