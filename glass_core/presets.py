"""The registry of search presets: the paper's nine configurations plus our own, as data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from glass_core.errors import BadInputError

Task = Literal["text2image", "image2text"]
Algorithm = Literal["ga", "nsga2"]
Precision = Literal["fp32", "bf16", "fp16"]
FrontPick = Literal["compromise", "paper"]
IntCrossover = Literal["sbx", "uniform"]
IntMutation = Literal["pm", "reset"]
RealCrossover = Literal["sbx", "swap", "blocks"]
RealMutation = Literal["pm", "vp"]


@dataclass(frozen=True)
class Operators:
    """Genetic operators: SBX + polynomial mutation on reals and integers, HUX + bit-flip on bits.

    The fields say what each operator does and how often, so that both sets below are plain
    data: `PAPER_OPERATORS` as the paper's code ran them (pymoo 0.4.2), `GLASS_OPERATORS` as
    glass ran them before it had the paper's (pymoo 0.6's defaults for what the port left unset).
    """

    name: str = "glass"  # recorded in run cards: which set ran
    sbx_eta: float = 3.0
    sbx_prob: float = 1.0  # share of matings whose reals (or integers) are recombined
    hux_prob: float = 0.2  # share of recombined matings whose class bits go through HUX
    # Share of matings recombined at all when the genome mixes reals and bits; both SBX and HUX
    # then run, whatever sbx_prob and hux_prob say (pymoo 0.4.2's MixedVariableCrossover: its
    # default prob 0.9, and it calls each sub-operator's _do, bypassing their own prob). None:
    # reals and bits follow sbx_prob and hux_prob.
    mixed_mating_prob: float | None = None
    pm_eta: float = 3.0
    pm_prob: float = 0.5  # share of children whose reals (or integers) are mutated at all
    pm_gene_prob: float | None = None  # share of a mutated child's genes that move (None: 1/n_var)
    bitflip_rate: float | None = 10 / 1000  # chance that each class bit of an offspring flips (None: 1/bits)
    # How integers (GPT-2's context tokens) are recombined and mutated. "sbx"/"pm" treat a token id
    # as a number, as the paper did; ids 17 and 18 are unrelated words, so "uniform" takes each
    # token whole from either parent and "reset" replaces a mutated token with a uniformly random one.
    int_crossover: IntCrossover = "sbx"
    int_mutation: IntMutation = "pm"
    # Integers are searched as reals on [lo - margin, hi + margin] and rounded after each operator
    # (pymoo 0.4.2's IntegerFromFloat operators: 0.5, so the end values are as likely as the
    # others). 0: on [lo, hi], rounded once by the repair after mutation.
    int_margin: float = 0.0
    # How reals are recombined and mutated (glass_core.noise_operators). "sbx"/"pm": the paper's.
    # A diffusion model's initial noise must stay a sample of N(0, I), which averaging shrinks:
    # "swap" takes each gene from either parent, "blocks" a rectangle of the C×H×W latent
    # (C = noise_channels) from the other parent, so regions of the picture are inherited; "vp"
    # mutates vp_prob of the children to sqrt(1 - vp_step²)·x + vp_step·ε. sbx_prob still says
    # how many matings recombine.
    real_crossover: RealCrossover = "sbx"
    real_mutation: RealMutation = "pm"
    vp_step: float = 0.1
    vp_prob: float = 1.0
    noise_channels: int = 4


# The paper's code (galatolofederico/clip-glass operators.py, on pymoo 0.4.2.1): SBX(prob 1.0,
# eta 3) and PM(prob 0.5, eta 3), where 0.4.2's PM prob is per *gene* and every child is mutated;
# BigGAN's MixedVariableCrossover at its default 0.9 per mating with SBX and HUX inside (the
# HUX prob 0.2 it was given is never read); bit-flip 0.01 per bit; integer SBX / PM widened by
# 0.5 and rounded. Derivation and numbers: tests/test_paper_operators.py.
PAPER_OPERATORS = Operators(name="paper", sbx_prob=1.0, hux_prob=1.0, mixed_mating_prob=0.9, pm_prob=1.0,
                            pm_gene_prob=0.5, int_margin=0.5)
GLASS_OPERATORS = Operators()
# Local moves for every segment: about one class bit and one token change per mutated child (the
# paper's 0.01 per bit flips 10 of BigGAN's 1000 classes at once), tokens recombined whole.
# benchmarks/search_quality.md measures it against both sets above.
GENTLE_OPERATORS = Operators(name="gentle", bitflip_rate=None, int_crossover="uniform", int_mutation="reset")
# Diffusion noise: marginals kept (glass_core.noise_operators). Blocks, not per-gene swap, and
# small VP steps (a mutated child correlates 0.995 with its parent): on the planted noise
# benchmark (benchmarks/search_quality.md) the GA with per-gene swap reached best-of-N's
# reference in 10 of 16 runs, with steps of 0.3 in 14, with these in 16.
NOISE_OPERATORS = Operators(name="noise", real_crossover="blocks", real_mutation="vp", vp_step=0.1, vp_prob=1.0)
OPERATOR_SETS: dict[str, Operators] = {o.name: o for o in (PAPER_OPERATORS, GLASS_OPERATORS, GENTLE_OPERATORS,
                                                           NOISE_OPERATORS)}


@dataclass(frozen=True)
class Preset:
    """Everything a search needs to know besides its target; any field can be overridden."""

    name: str
    task: Task
    generator: str  # a kind in glass_core.generators.KINDS
    generator_args: dict[str, Any] = field(default_factory=dict)
    clip: str = "ViT-B-32-quickgelu/openai"  # a name in glass_core.scorer.CLIP_MODELS
    use_discriminator: bool = False  # True: NSGA-II on (-similarity, hinge(1 - D(x)))
    optimizer: str = "ga"  # a name in glass_core.optimizers.OPTIMIZERS; "ga" is the paper's
    pop_size: int = 64
    generations: int = 500
    # An evaluation budget: the search also stops at the first generation that reaches it.
    evaluations: int | None = None
    batch_size: int = 32  # how many genomes go through the generator at once
    precision: Precision = "fp32"  # bf16/fp16: autocast for generator, discriminator and CLIP
    # torch.compile the generator (where it supports it) and CLIP's image tower: the first
    # generation compiles for minutes, later ones run faster (benchmarks/bench-cpu.md). Chosen
    # when a Pipeline is built, since compiled networks are kept and shared.
    compile: bool = False
    seed: int = 0
    operators: Operators = GLASS_OPERATORS  # a set's name ("paper", "glass") is accepted by replace()
    # Two objectives: None shows the front's compromise point; a share s shows the most realistic
    # (or fluent) member whose similarity is within s of the front's similarity range from its top.
    show_within: float | None = None
    # "paper": the front member the paper's code returned, pymoo's pseudo-weights [0, 1] (the most
    # realistic end of the front, so the least similar); "compromise": the rule above.
    front_pick: FrontPick = "compromise"
    description: str = ""

    @property
    def algorithm(self) -> Algorithm:
        """GA for one objective, NSGA-II when the discriminator is a second one."""
        return "nsga2" if self.use_discriminator else "ga"

    def replace(self, **overrides: Any) -> Preset:
        """A copy with some fields changed; unknown or out-of-range values are refused."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise BadInputError(f"Unknown preset field(s): {', '.join(unknown)}")
        ops = overrides.get("operators")
        if isinstance(ops, str):
            if ops not in OPERATOR_SETS:
                raise BadInputError(f"Unknown operator set {ops!r}; choose one of: {', '.join(OPERATOR_SETS)}")
            overrides["operators"] = OPERATOR_SETS[ops]
        elif isinstance(ops, dict):  # a changed set is no longer the named one, unless it says so
            overrides["operators"] = dataclasses.replace(self.operators, **{"name": "custom", **ops})
        out = dataclasses.replace(self, **overrides)
        out.validate()
        return out

    def validate(self) -> None:
        """Refuse values out of range, in one clear sentence (registry names: pipeline.check_names)."""
        if self.pop_size < 2 or self.pop_size > 4096:
            raise BadInputError(f"Population must be between 2 and 4096, got {self.pop_size}")
        if self.generations < 1 or self.generations > 100_000:
            raise BadInputError(f"Generations must be between 1 and 100000, got {self.generations}")
        if self.batch_size < 1:
            raise BadInputError(f"Batch size must be at least 1, got {self.batch_size}")
        if self.show_within is not None and not 0 <= self.show_within <= 1:
            raise BadInputError(f"show_within must be between 0 and 1, got {self.show_within}")
        if self.evaluations is not None and self.evaluations < 1:
            raise BadInputError(f"The evaluation budget must be at least 1, got {self.evaluations}")
        ops = self.operators
        for prob in ("sbx_prob", "hux_prob", "mixed_mating_prob", "pm_prob", "pm_gene_prob", "bitflip_rate",
                     "vp_prob"):
            value = getattr(ops, prob)
            if value is not None and not 0 <= value <= 1:
                raise BadInputError(f"Operator setting {prob} must be between 0 and 1, got {value}")
        if ops.sbx_eta <= 0 or ops.pm_eta <= 0 or not 0 <= ops.int_margin <= 0.5:
            raise BadInputError("Operator settings: the etas must be positive and int_margin between 0 and 0.5")
        if ops.int_crossover not in ("sbx", "uniform") or ops.int_mutation not in ("pm", "reset"):
            raise BadInputError("Operator settings: int_crossover must be sbx or uniform, int_mutation pm or reset")
        if ops.real_crossover not in ("sbx", "swap", "blocks") or ops.real_mutation not in ("pm", "vp"):
            raise BadInputError("Operator settings: real_crossover must be sbx, swap or blocks, real_mutation pm or vp")
        if not 0 < ops.vp_step <= 1 or ops.noise_channels < 1:
            raise BadInputError(f"Operator settings: vp_step must be in (0, 1] (got {ops.vp_step}) and"
                                f" noise_channels at least 1 (got {ops.noise_channels})")
        if self.front_pick not in ("compromise", "paper"):
            raise BadInputError(f"front_pick must be compromise or paper, got {self.front_pick!r}")
        if self.precision not in ("fp32", "bf16", "fp16"):
            raise BadInputError(f"Precision must be fp32, bf16 or fp16, got {self.precision!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form, for run cards."""
        return dataclasses.asdict(self)


# Fluent captions show the most fluent caption within 5 % of the front's similarity range of the
# most similar one: the compromise point gave up the caption's meaning for fluency (0 of 12 right
# on the mini set; 12 of 12 with this rule, fluency -9.24 -> -8.95; benchmarks/dialogue_and_fluency.md).
FLUENT_SHOW_WITHIN = 0.05


# The paper presets' search per generator, each the contender that did best on that genome kind
# (benchmarks/search_quality.md, 16 runs each, a fifth of the paper GA's evaluations): BigGAN, the
# GA with glass's operators (16/16 reached the paper GA's 500-generation similarity, the highest
# mean best; polish 12/16); StyleGAN2, polish with gentle operators (16/16, a median 136
# evaluations of the paper GA's 8,000: gradient steps on its elites; the GA alone 13/16). GPT-2
# (GPT2, GPT2_fluent and the mini captioning presets): the paper's own GA. On the `captions`
# benchmark polish with gentle operators reaches the reference fastest (a median 320 evaluations,
# the paper GA 768, glass's GA 640), but judged at the mini preset's whole budget
# (benchmarks/caption_budget.md, 8 pictures x 4 seeds) it names 29/32 right: its population can
# settle on one wrong caption by generation 2 and never leave it. The two GAs stay within one
# run of each other there (the paper's 31/32, glass's 32/32) and on the embedded set's records
# (mini_evaluation, dialogue_and_fluency); the planted random GPT-2 separates them (the paper GA
# 6/16, glass's 0/16), so every captioning preset runs the paper's. The embedded mini GAN keeps
# the GA with glass's operators (the digits benchmark: no contender passed 5/16). The paper's GA
# anywhere: replace(optimizer="ga", operators="paper"); the run card records which ran.
DEFAULT_SEARCH: dict[str, dict[str, Any]] = {
    "biggan": {"optimizer": "ga", "operators": GLASS_OPERATORS},
    "stylegan2": {"optimizer": "polish", "operators": GENTLE_OPERATORS},
    "gpt2": {"optimizer": "ga", "operators": PAPER_OPERATORS},
    "mini_gan": {"optimizer": "ga", "operators": GLASS_OPERATORS},
    # Diffusion noise genomes (sd_turbo, sdxl_turbo), from the planted noise benchmark: 16/16 runs
    # reached the median of best-of-1600 random sampling within 400 evaluations (best-of-400: 2/16).
    # The pivot search also did (faster, median 88 against 152) but has one objective, and
    # SDTurbo_aesthetic needs NSGA-II; polish (56) took gradients the diffusion kinds do not offer.
    "diffusion": {"optimizer": "ga", "operators": NOISE_OPERATORS},
}


def _biggan(name: str, size: int, pop: int, batch: int) -> Preset:
    return Preset(
        name=name, task="text2image", generator="biggan",
        generator_args={"model": f"biggan-deep-{size}", "truncation": 1.0},
        pop_size=pop, batch_size=batch, **DEFAULT_SEARCH["biggan"],
        description=f"BigGAN-deep {size}×{size}, 128 reals + 1000 ImageNet class genes",
    )


def _stylegan2(network: str, use_d: bool) -> Preset:
    suffix = "d" if use_d else "nod"
    return Preset(
        name=f"StyleGAN2_{network}_{suffix}", task="text2image", generator="stylegan2",
        generator_args={"network": network}, use_discriminator=use_d, pop_size=16, batch_size=4,
        **DEFAULT_SEARCH["stylegan2"],
        description=f"StyleGAN2 config-f {network}" + (", discriminator as 2nd objective" if use_d else ""),
    )


def _mini(name: str, task: Task, generator: str, args: dict[str, Any], use_d: bool, pop: int, search: str) -> Preset:
    return Preset(
        name=name, task=task, generator=generator, generator_args=args, clip="mini",
        use_discriminator=use_d, pop_size=pop, generations=30, batch_size=256, **DEFAULT_SEARCH[search],
        show_within=FLUENT_SHOW_WITHIN if args.get("fluency") else None,
        description="embedded default model set (weights/mini), runs offline on a CPU",
    )


def _diffusion(name: str, kind: str, aesthetic: bool, description: str) -> Preset:
    # ViT-L/14 scores, so that the aesthetic head reads the same image embedding (glass_core.aesthetic).
    return Preset(
        name=name, task="text2image", generator=kind, generator_args={"aesthetic": True} if aesthetic else {},
        clip="ViT-L-14-quickgelu/openai", use_discriminator=aesthetic, pop_size=16, generations=25, batch_size=8,
        **DEFAULT_SEARCH["diffusion"], description=description,
    )


_ALL = [
    # The paper's configurations, under their original names and population sizes.
    # The paper's config says batch 25, but its sampler never reads it: all 100 decode at once.
    Preset(
        name="GPT2", task="image2text", generator="gpt2", generator_args={"model": "gpt2", "max_chars": 50},
        pop_size=100, batch_size=100, **DEFAULT_SEARCH["gpt2"],
        description="GPT-2 small, 20 context tokens before 'the picture of'",
    ),
    Preset(
        name="GPT2_fluent", task="image2text", generator="gpt2",
        generator_args={"model": "gpt2", "fluency": True}, use_discriminator=True, pop_size=100, batch_size=100,
        **DEFAULT_SEARCH["gpt2"], show_within=FLUENT_SHOW_WITHIN,
        description="GPT-2 with fluency (log-likelihood of the caption alone) as a 2nd objective",
    ),
    _biggan("DeepMindBigGAN128", 128, pop=64, batch=32),
    _biggan("DeepMindBigGAN256", 256, pop=64, batch=32),
    _biggan("DeepMindBigGAN512", 512, pop=32, batch=8),
    *[_stylegan2(net, use_d) for net in ("ffhq", "car", "church") for use_d in (True, False)],
    # One-step diffusion: the genome is the initial noise, scored through TAESD (issue 25).
    _diffusion("SDTurbo", "sd_turbo", False, "SD-Turbo 512×512, one step; genome: the 4×64×64 initial noise"),
    _diffusion("SDTurbo_aesthetic", "sd_turbo", True,
               "SD-Turbo 512×512, one step; LAION aesthetic score as a 2nd objective"),
    _diffusion("SDXLTurbo", "sdxl_turbo", False, "SDXL-Turbo 512×512, one step; genome: the 4×64×64 initial noise"),
    # The embedded default set: small models trained in this project (issue 4).
    # Populations from benchmarks/mini_evaluation.md: 32 already finds every held-out picture;
    # captions need 64 (at 32, 75 % right digits; at 64, as many as the mini CLIP itself ranks first).
    _mini("mini_gan", "text2image", "mini_gan", {}, use_d=False, pop=32, search="mini_gan"),
    _mini("mini_gan_d", "text2image", "mini_gan", {}, use_d=True, pop=32, search="mini_gan"),
    _mini("mini_gpt2", "image2text", "mini_gpt2", {}, use_d=False, pop=64, search="gpt2"),
    _mini("mini_gpt2_fluent", "image2text", "mini_gpt2", {"fluency": True}, use_d=True, pop=64, search="gpt2"),
]

PRESETS: dict[str, Preset] = {p.name: p for p in _ALL}

# What the command line and the app open on when the real weights are absent. Text → image uses
# the discriminator: without it the GA drifts toward blends of two digits that the mini CLIP
# likes (docs/mini_gan_vs_d.png); with realism as a second objective it keeps to one clean digit.
DEFAULT_PRESET = {"text2image": "mini_gan_d", "image2text": "mini_gpt2"}


def get_preset(name: str, **overrides: Any) -> Preset:
    """Look a preset up by name, with optional field overrides."""
    if name not in PRESETS:
        raise BadInputError(f"Unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name].replace(**overrides) if overrides else PRESETS[name]
