"""What a suite is: typed metadata, its items, the scorers it needs, and its official aggregation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from genlens._modules import PluginRegistry
from genlens.args import Arg, check_args, merge_decls
from genlens.errors import InputError, SpecError
from genlens.types import Item, ScoredGeneration, ScoreRecord

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
#: Sample numbers a layout may use (a file named 10**30.png is a mistake, not sample 10**30).
MAX_SAMPLE = 100_000


def sample_number(text: str, path: Path, what: str = "sample") -> int:
    """A layout's sample number from its (ASCII-digit) file or folder name, bounded by :data:`MAX_SAMPLE`."""
    value = int(text) if len(text) <= 12 else MAX_SAMPLE
    if value >= MAX_SAMPLE:
        raise InputError(f"{what} number {text[:20]}{'…' if len(text) > 20 else ''} is not below {MAX_SAMPLE}",
                         path=path, fix=f"number {what}s 0, 1, 2 … (one per image or prompt)")
    return value


def is_number(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts '²' and other scripts' digits)."""
    return text.isascii() and text.isdigit()


@dataclass(frozen=True)
class SuiteMeta:
    """Typed metadata shown by ``genlens suites`` and stored in every run.

    ``version`` enters every fingerprint, so results of different suite versions never mix.
    ``task`` says which backend calls its items take (``generate+edit`` for a mix).
    ``needs`` names what scoring requires ("detector", "clip", "judge", "ocr", "none" …).
    """

    name: str
    version: str
    title: str
    task: str  # "generate", "edit" or "multiturn"; several joined by "+" when a suite mixes them
    categories: tuple[str, ...]
    needs: tuple[str, ...]
    data_source: str
    default_samples: int = 1
    item_count: int | None = None  # None when it depends on fetched data
    description: str = ""


@dataclass
class ScoreContext:
    """Options that reach scorers: model overrides, judge, data location, free-form suite args."""

    run_dir: Path
    detector: str | None = None
    clip: str | None = None
    judge: str | None = None
    judge_prompt: Path | None = None
    data_dir: Path | None = None
    rejudge: bool = False
    concurrency: int = 4
    suite_args: dict[str, Any] = field(default_factory=dict)
    scorer_args: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False
    #: Set once the options given were checked against the suite (before remembered ones fill in).
    options_checked: bool = False


@dataclass
class ImportedImage:
    """One image found in an official on-disk layout, for ``genlens import``."""

    item_id: str
    sample: int
    path: Path


@dataclass
class SuiteResult:
    """The aggregated result of a suite, the shape ``results.json`` and reports rely on.

    - ``headline``: the suite's one official number (name -> value), e.g. ``{"overall": 0.84}``.
    - ``metrics``: other run-level numbers (name -> value).
    - ``categories``: per category, metric name -> value; always includes ``n`` (images counted).
    - ``counts``: how many generations ended how (ok, refused, error, missing, unparsed …).
    - ``intervals``: metric name -> [low, high] (95% unless ``extra`` says otherwise).
    - ``extra``: suite-specific structures (histograms, curves, per-prompt scores …).
    - ``provenance``: which scorer models / revisions / templates produced the numbers, caveats.
    """

    headline: dict[str, float | None]
    metrics: dict[str, float | None] = field(default_factory=dict)
    categories: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    intervals: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)  # per-image rows, written to rows.jsonl


def scored_record(entry: ScoredGeneration, scorer: str, row: dict[str, Any], counts: dict[str, int]) -> ScoreRecord | None:
    """``entry``'s ok score from ``scorer``, counted in ``counts["images_scored"]``; else None, with
    ``row["reason"]`` set and ``counts["not_generated"]`` (no image) or ``counts["unscored"]`` (no ok score) raised."""
    gen = entry.generation
    record = entry.scores.get(scorer)
    if gen.status != "ok":
        counts["not_generated"] += 1
        row["reason"] = gen.reason
        return None
    if record is None or record.status != "ok":
        counts["unscored"] += 1
        row["reason"] = (record.value.get("reason") if record else None) or "not scored"
        return None
    counts["images_scored"] += 1
    return record


class Suite(ABC):
    """A benchmark. Subclasses set ``meta`` and implement items, scorers and aggregation.

    A suite never calls a backend and never knows which backend made an image.
    """

    meta: ClassVar[SuiteMeta]
    #: ``--suite-arg`` names and types this suite takes (None: undeclared, e.g. an old plugin).
    args: ClassVar[tuple[Arg, ...] | None] = ()
    #: ``--scorer-arg`` names this suite's own scorers take (a judge's arguments come on top, see :attr:`uses`).
    scorer_args: ClassVar[tuple[Arg, ...] | None] = ()
    #: Which of ``judge``, ``detector``, ``clip`` this suite's scoring can use: the others are refused.
    uses: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        self.data_dir = data_dir
        self.suite_args = check_args(self.args, dict(suite_args or {}), option="--suite-arg",
                                     owner=f"suite {self.meta.name}", listing="`genlens suites`")

    @abstractmethod
    def items(self) -> Sequence[Item]:
        """All items, in the suite's official order."""

    @abstractmethod
    def scorers(self, ctx: ScoreContext) -> Sequence[Any]:
        """The scorers phase 2 runs (objects following :class:`genlens.scorers.base.Scorer`)."""

    @abstractmethod
    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        """The suite's official aggregation over every generation of the run."""

    def input_path(self, name: str) -> Path:
        """Resolve an item's input image/mask name (relative to the suite's data dir)."""
        path = Path(name)
        if not path.is_absolute() and self.data_dir is not None:
            path = self.data_dir / path
        return path

    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        """Relative paths where a ``folder:`` model may hold this item's sample (first hit wins).

        Suites with an official layout override this; the generic layouts are always tried after.
        """
        return []

    def import_layout(self, directory: Path) -> Iterator[ImportedImage]:
        """Walk a directory in the suite's output layout (``genlens import``).

        The default is genlens's generic layout: ``<item id>/<sample>.<ext>``, ``<item id>.<ext>`` (sample 0)
        or a run's own flat ``<item>_s<sample>.<ext>`` (so a run's ``images/`` folder imports as it is).
        Suites with an official layout (GenEval, WISE …) override this.
        """
        from genlens.runs.engine import parse_image_stem, path_component

        ids = {item.id for item in self.items()}
        by_component = {path_component(item_id): item_id for item_id in ids}
        flat_seen: dict[tuple[str, int], Path] = {}
        for entry in sorted(directory.iterdir()):
            if entry.is_dir() and entry.name in ids:
                seen: dict[int, Path] = {}
                for image in sorted(entry.iterdir()):
                    if image.suffix.lower() in IMAGE_EXTENSIONS and is_number(image.stem):
                        sample = sample_number(image.stem, image)
                        if sample in seen:
                            raise InputError(f"two images for sample {sample}: {seen[sample].name} and {image.name}",
                                             path=image, fix="keep one file per sample number")
                        seen[sample] = image
                        yield ImportedImage(entry.name, sample, image)
            elif entry.is_file() and entry.suffix.lower() in IMAGE_EXTENSIONS:
                parsed = parse_image_stem(entry.stem)
                if entry.stem in ids:
                    yield ImportedImage(entry.stem, 0, entry)
                elif parsed is not None and parsed[0] in by_component:
                    key = (by_component[parsed[0]], parsed[1])
                    if key in flat_seen:
                        raise InputError(f"two images for item {key[0]!r} sample {key[1]}: {flat_seen[key].name} and "
                                         f"{entry.name}", path=entry, fix="keep one file per item and sample")
                    flat_seen[key] = entry
                    yield ImportedImage(key[0], key[1], entry)
                else:
                    raise InputError(
                        f"file name {entry.name!r} is not an item of suite {self.meta.name}", path=entry,
                        fix="name files <item id>.png, <item id>/<sample>.png or <item id>_s<sample>.png "
                            "(item ids: `genlens suites` / docs)",
                    )


def check_scoring_options(suite: type[Suite] | Suite, ctx: ScoreContext) -> None:
    """Refuse ``--judge``/``--judge-prompt``/``--detector``/``--clip`` a suite does not use, and
    ``--scorer-arg`` names neither its scorers nor (for judged suites) its judge take."""
    name = suite.meta.name
    given = {"judge": ctx.judge, "judge-prompt": ctx.judge_prompt, "detector": ctx.detector, "clip": ctx.clip}
    for option, value in given.items():
        needed = "judge" if option == "judge-prompt" else option
        if value is not None and needed not in suite.uses:
            used = ", ".join(f"--{u}" for u in sorted(suite.uses)) or "none of --judge, --detector, --clip"
            raise SpecError(f"suite {name} does not use --{option}", fix=f"drop it (suite {name} uses: {used})")
    if not ctx.scorer_args:
        return
    decls = suite.scorer_args
    if "judge" in suite.uses:
        from genlens.judges.base import judge_arg_decls

        decls = merge_decls(decls, judge_arg_decls())
    check_args(decls, ctx.scorer_args, option="--scorer-arg", owner=f"suite {name}" + ("'s scorers and judge" if "judge" in suite.uses else ""))


def _plugin_check(cls: Any) -> str | None:
    if isinstance(cls, type) and issubclass(cls, Suite) and isinstance(getattr(cls, "meta", None), SuiteMeta):
        return None
    return "is not a Suite subclass with a SuiteMeta 'meta'"


REGISTRY: PluginRegistry[type[Suite]] = PluginRegistry("genlens.suites", "genlens.suites", _plugin_check)
_SUITES = REGISTRY.entries  # name -> class (benches and tests register in-process suites here)


def register_suite(cls: type[Suite]) -> type[Suite]:
    """Class decorator: make a suite available by its ``meta.name``."""
    REGISTRY.register(cls.meta.name, cls)
    return cls


def suite_plugin_errors() -> dict[str, str]:
    """Entry-point suites that failed to load, with why (``genlens suites`` shows them)."""
    return REGISTRY.errors()


def suite_classes() -> dict[str, type[Suite]]:
    """Every registered suite, by name, sorted."""
    return REGISTRY.classes()


def get_suite_class(name: str) -> type[Suite]:
    classes = suite_classes()
    if name not in classes:
        import difflib

        known = ", ".join(classes)
        broken = suite_plugin_errors()
        if name in broken:
            raise SpecError(f"suite plugin {name!r} failed to load: {broken[name]}", fix="fix or reinstall the plugin")
        near = difflib.get_close_matches(name, list(classes), n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise SpecError(f"unknown suite {name!r}{hint}", fix=f"choose one of: {known} (see `genlens suites`; studies: `genlens studies`)")
    return classes[name]
