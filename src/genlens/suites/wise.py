"""WISE: world-knowledge-informed text-to-image, judged by a VLM (PKU-YuanGroup/WISE @ eb51174).

``wise`` is the legacy protocol GPT-ImgEval used: 1,000 prompts; a judge grades each image
Consistency, Realism and Aesthetic Quality on 0–2; per image WiScore = (0.7·C + 0.2·R + 0.1·A) / 2;
a category score is the mean WiScore of its images (category by prompt_id range); overall =
0.4·Cultural + 0.167·Time + 0.133·Space + 0.1·(Biology + Physics + Chemistry). ``wise-verified``
is the 2026 binary protocol (Score 0/1, its own ranges, overall 0.40·Cultural + 0.12·each other).

The generator sees the Prompt only; the judge sees Prompt and Explanation. Answers the judge
did not give in a readable form are counted as ``unparsed`` and never scored. The data has no
licence, so it is fetched (``genlens data fetch wise``), never shipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from genlens.errors import InputError
from genlens.judges import official
from genlens.judges.base import JudgeRequest, make_judge
from genlens.judges.official import parse_mode
from genlens.judges.parsing import parse_scores
from genlens.judges.scorer import JudgeScorer, judge_choice
from genlens.judges.templates import Template, load_template_file
from genlens.scorers.base import Scorer
from genlens.stats import bootstrap_ci, mean_or_none, too_few_units
from genlens.suites import _wise_prompts as own
from genlens.suites._coverage import Coverage
from genlens.suites.base import ScoreContext, Suite, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

CATEGORIES = ("cultural", "time", "space", "biology", "physics", "chemistry")
UPSTREAM = "PKU-YuanGroup/WISE @ eb51174483a5de2e34e8614cf9dfb3319ee7fcd0"
LEGACY_JUDGE = "openai:gpt-4o-2024-05-13"
VERIFIED_JUDGE = "openai:Qwen/Qwen3.5-35B-A3B"


def category_of(prompt_id: int, ranges: dict[str, tuple[int, int]]) -> str | None:
    """The category whose inclusive prompt_id range holds ``prompt_id`` (None when none does)."""
    for name, (low, high) in ranges.items():
        if low <= prompt_id <= high:
            return name
    return None


def wiscore(consistency: int, realism: int, aesthetic: int) -> float:
    """Legacy per-image WiScore, normalised to [0, 1]: (0.7·C + 0.2·R + 0.1·A) / 2."""
    return (0.7 * consistency + 0.2 * realism + 0.1 * aesthetic) / 2


def weighted_overall(category_scores: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """Σ weight·category score, or None unless every weighted category has a score."""
    if any(category_scores.get(name) is None for name in weights):
        return None
    return float(sum(weights[name] * category_scores[name] for name in weights))  # type: ignore[operator]


def default_wise_dir() -> Path:
    """Where `genlens data fetch wise` puts the data ($GENLENS_DATA_DIR/wise by default)."""
    from genlens.data.fetch import suite_data_dir

    return suite_data_dir("wise")


def find_data_file(data_dir: Path, relative: str) -> Path | None:
    """``<dir>/<relative>`` (fetched layout), else ``<dir>/<file name>`` (a folder of just the JSON files)."""
    for candidate in (data_dir / relative, data_dir / Path(relative).name):
        if candidate.is_file():
            return candidate
    return None


def read_records(path: Path) -> list[dict[str, Any]]:
    """The WISE record list of one file, checked for the fields the suite needs."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read WISE data ({type(exc).__name__})", path=path,
                         fix="run `genlens data fetch wise --force` to download it again") from None
    if not isinstance(data, list):
        raise InputError("WISE data must be a JSON list of records", path=path, fix="run `genlens data fetch wise --force`")
    for record in data:
        if not isinstance(record, dict) or not {"Prompt", "Explanation", "prompt_id"} <= record.keys():
            raise InputError("a WISE record lacks Prompt, Explanation or prompt_id", path=path,
                             fix="run `genlens data fetch wise --force` (or fix the file)")
    return data


class _WiseBase(Suite):
    """What both WISE protocols share: data, items, the judge scorer, rows and counts."""

    files: ClassVar[tuple[str, ...]]
    ranges: ClassVar[dict[str, tuple[int, int]]]
    weights: ClassVar[dict[str, float]]
    labels: ClassVar[tuple[str, ...]]
    allowed: ClassVar[tuple[int, ...]]
    default_judge: ClassVar[str]
    default_judge_args: ClassVar[dict[str, Any]] = {}
    own_template: ClassVar[Template]
    official_reader: ClassVar[Any]  # the upstream script's answer reader (genlens.judges.official)
    official_files: ClassVar[tuple[str, str]]
    scorer_name: ClassVar[str]

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        self._items: list[Item] | None = None

    @property
    def wise_dir(self) -> Path:
        return self.data_dir or default_wise_dir()

    # -- items ---------------------------------------------------------------------------------
    def items(self) -> Sequence[Item]:
        if self._items is None:
            self._items = self._load_items()
        return self._items

    def _load_items(self) -> list[Item]:
        items: dict[int, Item] = {}
        for relative in self.files:
            path = find_data_file(self.wise_dir, relative)
            if path is None:
                raise InputError(
                    f"WISE data file {relative} not found", path=self.wise_dir,
                    fix="run `genlens data fetch wise` (or point --data-dir at a folder holding the WISE JSON files)",
                )
            for record in read_records(path):
                try:
                    pid = int(record["prompt_id"])
                except (KeyError, TypeError, ValueError):
                    raise InputError(f"a record has no integer prompt_id ({str(record)[:80]})", path=path,
                                     fix="run `genlens data fetch wise --force`") from None
                category = category_of(pid, self.ranges)
                if category is None or pid in items:
                    why = "outside every category range" if category is None else "duplicated"
                    raise InputError(f"prompt_id {pid} is {why}", path=path, fix="run `genlens data fetch wise --force`")
                items[pid] = Item(
                    id=str(pid), prompt=str(record["Prompt"]), category=category,
                    meta={"explanation": str(record["Explanation"]), "subcategory": record.get("Subcategory", ""),
                          "upstream_category": record.get("Category", ""), "prompt_id": pid},
                )
        return [items[pid] for pid in sorted(items)]

    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        """The official layout: one folder of ``<prompt_id>.png`` (one image per prompt)."""
        return [item.id] if sample == 0 else []

    # -- scoring -------------------------------------------------------------------------------
    def template(self, ctx: ScoreContext, prompt_file: Path | None) -> Template:
        """``--judge-prompt FILE``, else ``--suite-arg prompt=official`` (fetched), else genlens's wording."""
        if prompt_file is not None:
            return load_template_file(prompt_file, required=("Prompt", "Explanation"))
        choice = str(self.suite_args.get("prompt", "genlens")).lower()
        if choice == "official":
            system_name, user_name = self.official_files
            system = find_data_file(self.wise_dir, f"judge_prompts/{system_name}")
            user = find_data_file(self.wise_dir, f"judge_prompts/{user_name}")
            if system is None or user is None:
                raise InputError("the official WISE judge prompt has not been fetched", path=self.wise_dir,
                                 fix="run `genlens data fetch wise` (it extracts the official wording), or drop prompt=official")
            return Template("official", system.read_text(encoding="utf-8"), user.read_text(encoding="utf-8"))
        if choice != "genlens":
            raise InputError(f"unknown --suite-arg prompt={choice}", fix="use prompt=genlens (default) or prompt=official")
        return self.own_template

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        choice = judge_choice(ctx, self.default_judge)
        params = dict(choice.params)
        use_cache = str(params.pop("cache", "true")).lower() not in ("false", "0", "no", "off")
        mode = parse_mode(params)
        params.pop("parse", None)
        defaults = self.default_judge_args if choice.spec == self.default_judge else {
            k: v for k, v in self.default_judge_args.items() if k == "max_tokens"}
        judge = make_judge(choice.spec, concurrency=ctx.concurrency, params={**defaults, **params})
        labels, allowed = self.labels, self.allowed

        def strict(raw: str) -> dict[str, int] | None:
            return parse_scores(raw, labels, allowed)

        upstream = type(self).official_reader
        readers = {"genlens": (strict, self.scorer_name), "official": (upstream, f"{self.scorer_name}-official")}
        (parse, parser_id), (check, check_id) = readers[mode], readers["official" if mode == "genlens" else "genlens"]
        return [JudgeScorer(name=self.scorer_name, version="1", judge=judge, template=self.template(ctx, choice.prompt_file),
                            build=build_request, parse=parse, parser_id=parser_id, use_cache=use_cache,
                            check_parse=check, check_parser_id=check_id)]

    def parser_note(self, ctx: ScoreContext) -> str:
        """Which reader turned answers into scores (recorded in provenance)."""
        if parse_mode(judge_choice(ctx, self.default_judge).params) == "official":
            return ("parse=official: answers read as the upstream script reads them (first digit after each label, "
                    "last occurrence wins, no range check; bare-number lines only when no label is present)")
        return ("parse=genlens (strict): every label needed, values only on the scale; "
                "--scorer-arg parse=official reads answers as the upstream script does")

    # -- aggregation ---------------------------------------------------------------------------
    def image_score(self, scores: dict[str, int]) -> float:
        raise NotImplementedError

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        tally = _Tally(self.scorer_name)
        for entry in scored:
            tally.add(entry, self.image_score)
        categories: dict[str, dict[str, float | int | None]] = {}
        for name in self.ranges:
            categories[name] = self.category_metrics(tally.scored.get(name, []))
        means = {name: categories[name]["score"] for name in self.ranges}
        overall = weighted_overall(means, self.weights)  # type: ignore[arg-type]
        n_items = len(self.items())
        counted = sum(len(v) for v in tally.scored.values())
        caveats = self.caveats(tally, overall, counted, n_items)
        all_scores = [s["score"] for rows in tally.scored.values() for s in rows]
        ci = bootstrap_ci(all_scores) if all_scores else None
        if all_scores and ci is None:
            caveats.append(str(too_few_units(len(all_scores))))
        # As the official script: the overall is the headline only when every prompt has a score;
        # otherwise it is reported beside it as overall_partial (with a caveat), never as the score.
        complete = counted == n_items
        return SuiteResult(
            headline={"overall": overall if complete else None},
            metrics={"overall_partial": None if complete else overall, "mean_image_score": mean_or_none(all_scores),
                     **self.criterion_means(tally)},
            categories=categories,
            counts={"images_scored": counted, **tally.counts, "items_in_suite": n_items},
            intervals={"mean_image_score": ci} if ci else {},
            extra={"judge_usage": tally.usage(), "weights": self.weights,
                   "coverage": Coverage(
                       prompts=(len({r["item"] for r in tally.rows if r["score"] is not None}), n_items),
                       images=(counted, n_items), tags=(sum(1 for v in tally.scored.values() if v), len(self.ranges))).as_dict(),
                   "unparsed_by_category": {name: tally.unparsed.get(name, 0) for name in self.ranges}},
            provenance={"protocol": self.protocol_text(), "parser": self.parser_note(ctx), "judge_models": sorted(tally.models),
                        "judge_templates": sorted(tally.templates), "caveats": caveats},
            rows=tally.rows,
        )

    def category_metrics(self, rows: list[dict[str, Any]]) -> dict[str, float | int | None]:
        """Scores only (reports read a category's first number); counts of unread answers live in extra."""
        return {"score": mean_or_none([r["score"] for r in rows]), "n": len(rows)}

    def criterion_means(self, tally: _Tally) -> dict[str, float | None]:
        return {}

    def protocol_text(self) -> str:
        raise NotImplementedError

    def caveats(self, tally: _Tally, overall: float | None, counted: int, n_items: int) -> list[str]:
        notes = []
        if overall is None:
            empty = [name for name in self.ranges if not tally.scored.get(name)]
            notes.append(f"no overall score: categories without scored images: {', '.join(empty)}")
        elif counted < n_items:
            notes.append(f"only {counted} of {n_items} prompts have a score: no headline overall (the official script "
                         "reports it only when every prompt has one); overall_partial is the same formula over the scored ones")
        unread = tally.counts["unparsed"] + tally.counts["judge_refused"]
        if unread:
            notes.append(f"{unread} judge answer(s) unparsed or refused: counted, not scored "
                         "(re-read them with `genlens score RUN --rejudge` after changing the parser, or rerun the judge)")
        if any(not t.startswith("official") for t in tally.templates):
            notes.append("judged with a prompt other than the official text (see judge_templates): same rubric and "
                         "scales, not byte-identical; use --suite-arg prompt=official for exact parity")
        wanted = self.default_judge.partition(":")[2]
        if tally.models and tally.models != {wanted}:
            notes.append(f"judge model(s) {', '.join(sorted(tally.models))} differ from the official {wanted}: "
                         "scores are not directly comparable with published ones")
        if tally.counts["parse_disagreements"]:
            notes.append(f"{tally.counts['parse_disagreements']} answer(s) read differently by genlens's strict parser and "
                         "the official one (counts.parse_disagreements; see parser)")
        notes.append("images are sent with their real MIME type (the official script labels every image image/png)")
        return notes


def build_request(inp: ScoreInput, template: Template) -> JudgeRequest:
    """System + user text with Prompt and Explanation filled in, and the one generated image."""
    system, text = template.render(Prompt=inp.item.prompt, Explanation=str(inp.item.meta.get("explanation", "")))
    return JudgeRequest(system=system, text=text, images=[inp.image_paths[0].read_bytes()])


class _Tally:
    """Walks scored generations once: per-category scores, explicit counts of everything not scored, rows."""

    def __init__(self, scorer_name: str):
        self.scorer_name = scorer_name
        self.scored: dict[str, list[dict[str, Any]]] = {}
        self.unparsed: dict[str, int] = {}
        self.counts = {"unparsed": 0, "judge_refused": 0, "judge_errors": 0, "not_judged": 0,
                       "generation_refused": 0, "generation_errors": 0, "parse_disagreements": 0}
        self.rows: list[dict[str, Any]] = []
        self.models: set[str] = set()
        self.templates: set[str] = set()
        self.calls = self.cached = self.tokens_in = self.tokens_out = 0
        self.cost = 0.0
        self.cost_known = True

    def add(self, entry: ScoredGeneration, image_score: Any) -> None:
        gen, item = entry.generation, entry.item
        row: dict[str, Any] = {"item": item.id, "sample": gen.sample, "category": item.category, "prompt": item.prompt,
                               "image": gen.images[0] if gen.images else None, "status": gen.status,
                               "score": None, "passed": None, "reason": gen.reason}
        self.rows.append(row)
        if gen.status != "ok":
            self.counts["generation_refused" if gen.status == "refused" else "generation_errors"] += 1
            return
        record = entry.scores.get(self.scorer_name)
        if record is None:
            self.counts["not_judged"] += 1
            row["reason"] = "not judged yet"
            return
        value = record.value
        self._account(value)
        self.counts["parse_disagreements"] += int(not (value.get("parse_check") or {}).get("agree", True))
        row["judge"] = {"raw": value.get("raw"), "scores": value.get("scores"), "template": value.get("template"),
                        "model": value.get("model")}
        row["status"], row["reason"] = record.status, value.get("reason", "")
        if record.status == "ok":
            score = image_score(value["scores"])
            row["score"] = score
            self.scored.setdefault(item.category, []).append({"score": score, **value["scores"]})
        elif record.status == "unparsed":
            key = "judge_refused" if value.get("reply_status") == "refused" else "unparsed"
            self.counts[key] += 1
            self.unparsed[item.category] = self.unparsed.get(item.category, 0) + 1
        else:
            self.counts["judge_errors"] += 1

    def _account(self, value: dict[str, Any]) -> None:
        if value.get("model"):
            self.models.add(str(value["model"]))
        if value.get("template"):
            self.templates.add(f"{value.get('template_name', '?')}:{value['template'][:12]}")
        if value.get("cached"):
            self.cached += 1
            return
        if value.get("reply_status") in ("ok", "refused"):
            self.calls += 1
            usage = value.get("usage") or {}
            self.tokens_in += int(usage.get("prompt_tokens", 0) or 0)
            self.tokens_out += int(usage.get("completion_tokens", 0) or 0)
            if value.get("cost_usd") is None:
                self.cost_known = False
            else:
                self.cost += float(value["cost_usd"])

    def usage(self) -> dict[str, Any]:
        return {"calls": self.calls, "cached": self.cached, "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
                "cost_usd": round(self.cost, 6) if self.cost_known else None}


@register_suite
class WiseSuite(_WiseBase):
    meta = SuiteMeta(
        name="wise", version="1", title="WISE (legacy, as in GPT-ImgEval): world knowledge, VLM-judged WiScore",
        task="generate", categories=CATEGORIES, needs=("judge",),
        data_source="PKU-YuanGroup/WISE @ eb51174, WISE_legacy (`genlens data fetch wise`; no licence)",
        default_samples=1, item_count=1000,
        description="1,000 knowledge-dependent prompts; judge grades consistency/realism/aesthetics 0-2; "
                    "WiScore=(0.7C+0.2R+0.1A)/2; overall weights 0.4/0.167/0.133/0.1/0.1/0.1.",
    )
    files = ("legacy/cultural_common_sense.json", "legacy/spatio-temporal_reasoning.json", "legacy/natural_science.json")
    ranges: ClassVar[dict[str, tuple[int, int]]] = {
        "cultural": (1, 400), "time": (401, 567), "space": (568, 700),
        "biology": (701, 800), "physics": (801, 900), "chemistry": (901, 1000),
    }
    weights: ClassVar[dict[str, float]] = {
        "cultural": 0.4, "time": 0.167, "space": 0.133, "biology": 0.1, "physics": 0.1, "chemistry": 0.1,
    }
    labels = ("Consistency", "Realism", "Aesthetic Quality")
    allowed = (0, 1, 2)
    default_judge = LEGACY_JUDGE
    default_judge_args: ClassVar[dict[str, Any]] = {"max_tokens": 2000}
    own_template = Template("genlens-wise-legacy-v1", own.LEGACY_SYSTEM, own.LEGACY_USER)
    official_files = ("wise_legacy_system.txt", "wise_legacy_user_template.txt")
    scorer_name = "wise_judge"

    official_reader = staticmethod(official.wise_legacy)

    def image_score(self, scores: dict[str, int]) -> float:
        return wiscore(scores["Consistency"], scores["Realism"], scores["Aesthetic Quality"])

    def category_metrics(self, rows: list[dict[str, Any]]) -> dict[str, float | int | None]:
        return {
            "score": mean_or_none([r["score"] for r in rows]),
            "consistency": mean_or_none([r["Consistency"] for r in rows]),
            "realism": mean_or_none([r["Realism"] for r in rows]),
            "aesthetic": mean_or_none([r["Aesthetic Quality"] for r in rows]),
            "n": len(rows),
        }

    def criterion_means(self, tally: _Tally) -> dict[str, float | None]:
        rows = [r for rs in tally.scored.values() for r in rs]
        return {"consistency": mean_or_none([r["Consistency"] for r in rows]),
                "realism": mean_or_none([r["Realism"] for r in rows]),
                "aesthetic": mean_or_none([r["Aesthetic Quality"] for r in rows])}

    def protocol_text(self) -> str:
        return ("WISE legacy: judge grades Consistency/Realism/Aesthetic Quality 0-2; WiScore=(0.7C+0.2R+0.1A)/2; "
                "category = mean WiScore by prompt_id range; overall = 0.4 Cultural + 0.167 Time + 0.133 Space "
                "+ 0.1 Biology + 0.1 Physics + 0.1 Chemistry; unparsed answers are counted, not scored")


@register_suite
class WiseVerifiedSuite(_WiseBase):
    meta = SuiteMeta(
        name="wise-verified", version="1", title="WISE Verified (2026): world knowledge, binary VLM verdict",
        task="generate", categories=CATEGORIES, needs=("judge",),
        data_source="PKU-YuanGroup/WISE @ eb51174, data_verified (`genlens data fetch wise`; no licence)",
        default_samples=1, item_count=1000,
        description="1,000 refreshed prompts; judge answers Score 0/1; overall 0.40 Cultural + 0.12 x 5 others. "
                    "Not comparable with legacy WiScore.",
    )
    files = ("verified/merge.json",)
    ranges: ClassVar[dict[str, tuple[int, int]]] = {
        "cultural": (1, 400), "time": (401, 520), "space": (521, 640),
        "biology": (641, 760), "physics": (761, 880), "chemistry": (881, 1000),
    }
    weights: ClassVar[dict[str, float]] = {
        "cultural": 0.40, "time": 0.12, "space": 0.12, "biology": 0.12, "physics": 0.12, "chemistry": 0.12,
    }
    labels = ("Score",)
    allowed = (0, 1)
    default_judge = VERIFIED_JUDGE
    default_judge_args: ClassVar[dict[str, Any]] = {"max_tokens": 500, "enable_thinking": False}
    own_template = Template("genlens-wise-verified-v1", own.VERIFIED_SYSTEM, own.VERIFIED_USER)
    official_files = ("wise_verified_system.txt", "wise_verified_user_template.txt")
    scorer_name = "wise_verified_judge"
    official_reader = staticmethod(official.wise_verified)

    def image_score(self, scores: dict[str, int]) -> float:
        return float(scores["Score"])

    def protocol_text(self) -> str:
        return ("WISE Verified: judge answers Score 0/1; category = mean by prompt_id range; overall = 0.40 Cultural "
                "+ 0.12 (Time + Space + Biology + Physics + Chemistry); unparsed answers are counted, not scored")

