"""OneIG-Bench: alignment, text, reasoning, style and diversity (OneIG-Bench/OneIG-Benchmark @ 41b4983).

1,120 English prompts (``lang=en``: anime/stylization 245, portrait 244, general object 206, text
rendering 200, knowledge/reasoning 225) or 1,320 Chinese ones (``lang=zh``: the same five plus 200
multilingualism). Each dimension scores its own prompt sets, as the official scripts do:

========== ================================== =============================================
dimension  prompts (folder)                   scorer (official)
========== ================================== =============================================
alignment  anime, human, object (+ multiling.) Qwen2.5-VL-7B-Instruct answers dependency-graph questions
text       text                               Qwen2.5-VL-7B-Instruct as OCR; ED / CR / WAC
reasoning  reasoning                          LLM2CLIP cosine with the reference answer
style      anime prompts with a style class   CSD + OneIG style encoder vs reference embeddings
diversity  every folder                       DreamSim distance between a prompt's samples
========== ================================== =============================================

Images are a prompt's samples as separate generations (``--samples 4``) or one ``m×n`` grid per
prompt (``--suite-arg grid=2,2``, the official layout); the tiles of all of a prompt's generations
are pooled. The data has no licence in the repository (the HF card says CC BY-NC 4.0): it is
fetched (``genlens data fetch oneig``), never shipped.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from genlens.args import Arg
from genlens.errors import InputError, SpecError
from genlens.scorers.base import Scorer
from genlens.suites import _oneig_rules as rules
from genlens.suites._coverage import Coverage, run_samples
from genlens.suites.base import IMAGE_EXTENSIONS, ImportedImage, ScoreContext, Suite, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration

UPSTREAM = "OneIG-Bench/OneIG-Benchmark @ 41b49831e79e6dde5323618c164da1c4cf0f699d"
DEFAULT_JUDGE = "local:Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_STYLE_ENCODER = "xingpng/OneIG-StyleEncoder"
#: Stand-ins for the scorers that need their own framework (not comparable with published numbers).
DEFAULT_DIVERSITY_ENCODER = "openai/clip-vit-base-patch32"
DEFAULT_REASONING_CLIP = "openai/clip-vit-large-patch14-336"
DIMENSIONS = ("alignment", "text", "reasoning", "style", "diversity")
#: Upstream category name -> image folder (the official layout, and genlens's category).
FOLDERS = {"Anime_Stylization": "anime", "Portrait": "human", "General_Object": "object", "Text_Rendering": "text",
           "Knowledge_Reasoning": "reasoning", "Multilingualism": "multilingualism"}
ALIGNMENT_FOLDERS = {"en": ("anime", "human", "object"), "zh": ("anime", "human", "object", "multilingualism")}
FILES = {
    "en": {"prompts": "OneIG-Bench.csv", "text": "scripts/text/text_content.csv", "answers": "scripts/reasoning/gt_answer.json",
           "qd": "scripts/alignment/Q_D/{folder}.json", "prompt_column": "prompt_en"},
    "zh": {"prompts": "OneIG-Bench-ZH.csv", "text": "scripts/text/text_content_zh.csv",
           "answers": "scripts/reasoning/gt_answer_zh.json", "qd": "scripts/alignment/Q_D/{folder}_zh.json",
           "prompt_column": "prompt_cn"},
}
STYLE_FILE = "scripts/style/style.csv"
#: Which dimension is official with which scorer (results.json provenance; docs/parity.md).
SCORER_NOTES = {
    "alignment": "official protocol; official model when the judge is Qwen/Qwen2.5-VL-7B-Instruct (transformers)",
    "text": "official protocol; official model when the judge is Qwen/Qwen2.5-VL-7B-Instruct (transformers)",
    "style": "official formula; official models when csd_model is the converted CSD ViT-L checkpoint, style_encoder "
             "xingpng/OneIG-StyleEncoder and style_refs the converted CSD_embed.pt / SE_embed.pt",
    "diversity": "STAND-IN: 1 - cosine of a transformers image encoder's embeddings, not DreamSim's fine-tuned "
                 "ensemble (DreamSim needs its own package): not comparable with published numbers",
    "reasoning": "STAND-IN: a CLIP cosine between image and reference answer (77-token text limit), not LLM2CLIP "
                 "(needs trust_remote_code and Llama-3-8B LLM2Vec): not comparable with published numbers",
}


def default_oneig_dir() -> Path:
    from genlens.data.fetch import suite_data_dir

    return suite_data_dir("oneig")


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read OneIG data ({type(exc).__name__})", path=path,
                         fix="run `genlens data fetch oneig --force`") from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read OneIG data ({type(exc).__name__})", path=path,
                         fix="run `genlens data fetch oneig --force`") from None
    if not isinstance(data, dict):
        raise InputError("OneIG data must be a JSON object keyed by prompt id", path=path, fix="run `genlens data fetch oneig --force`")
    return data


def _int_keyed(value: Any, path: Path, what: str) -> dict[str, Any]:
    """A question/dependency map (upstream stores it as a JSON string inside the JSON) with integer keys as text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError(f"a {what} map is not JSON", path=path, fix="run `genlens data fetch oneig --force`") from None
    if not isinstance(value, dict) or not all(str(k).isdigit() for k in value):
        raise InputError(f"a {what} map is not keyed by question number", path=path, fix="run `genlens data fetch oneig --force`")
    return {str(int(k)): v for k, v in value.items()}


@register_suite
class OneIGSuite(Suite):
    meta = SuiteMeta(
        name="oneig", version="1", title="OneIG-Bench: alignment, text, reasoning, style, diversity",
        task="generate", categories=tuple(dict.fromkeys(FOLDERS.values())),
        needs=("judge (Qwen2.5-VL-7B: alignment, text)", "style: CSD + style encoder + reference embeddings",
               "diversity: image encoder (stand-in for DreamSim)", "reasoning: CLIP (stand-in for LLM2CLIP)"),
        data_source=f"{UPSTREAM} (`genlens data fetch oneig`; no licence in the repo, HF card CC BY-NC 4.0)",
        default_samples=4, item_count=None,
        description="1,120 EN / 1,320 ZH prompts; five dimensions, each on its own prompt sets; images as separate "
                    "samples or one m×n grid per prompt (grid=2,2). Pick dimensions with dimensions=alignment,text.",
    )
    uses = frozenset({"judge"})
    default_judge = DEFAULT_JUDGE
    args = (
        Arg("lang", "choice", "en", "prompt set: en (OneIG-Bench) or zh (OneIG-Bench-ZH)", "zh", choices=("en", "zh")),
        Arg("grid", "str", "1,1", "tiles per image, m,n as upstream's image_grid (width/m × height/n)", "2,2"),
        Arg("dimensions", "str", ",".join(DIMENSIONS), "comma list of dimensions to score", "alignment,text"),
        Arg("csd_model", "str", None, "CSD as a CLIPVisionModelWithProjection folder (`genlens convert oneig-csd`)", "./csd"),
        Arg("style_encoder", "str", DEFAULT_STYLE_ENCODER, "OneIG style encoder (CLIPVisionModelWithProjection)", "./se"),
        Arg("style_refs", "str", None, "reference style embeddings, safetensors (`genlens convert oneig-style-refs`)", "refs.safetensors"),
        Arg("diversity_model", "str", DEFAULT_DIVERSITY_ENCODER, "image encoder for the diversity stand-in", "./clip"),
        Arg("reasoning_model", "str", DEFAULT_REASONING_CLIP, "CLIP for the reasoning stand-in", "./clip"),
        Arg("device", "str", None, "torch device for the encoders", "cuda:0"),
    )

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        self.lang = str(self.suite_args.get("lang") or "en")
        self.grid = rules.parse_grid(str(self.suite_args.get("grid") or "1,1"))
        self._items: list[Item] | None = None

    @property
    def oneig_dir(self) -> Path:
        return self.data_dir or default_oneig_dir()

    def dimensions(self) -> list[str]:
        chosen = [d.strip() for d in str(self.suite_args.get("dimensions") or ",".join(DIMENSIONS)).split(",") if d.strip()]
        unknown = [d for d in chosen if d not in DIMENSIONS]
        if unknown or not chosen:
            raise SpecError(f"unknown OneIG dimension(s): {', '.join(unknown) or '(none)'}",
                            fix=f"--suite-arg dimensions= a comma list of {', '.join(DIMENSIONS)}")
        return [d for d in DIMENSIONS if d in chosen]

    # -- items ---------------------------------------------------------------------------------
    def _path(self, relative: str) -> Path:
        path = self.oneig_dir / relative
        if not path.is_file():
            raise InputError(f"OneIG data file {relative} not found", path=self.oneig_dir,
                             fix="run `genlens data fetch oneig` (or point --data-dir at the fetched folder)")
        return path

    def items(self) -> Sequence[Item]:
        if self._items is None:
            self._items = self._load_items()
        return self._items

    def _load_items(self) -> list[Item]:
        files = FILES[self.lang]
        prompts_path = self._path(files["prompts"])
        texts = {row["id"]: row.get("text_content", "") for row in _read_csv(self._path(files["text"]))}
        answers = _read_json(self._path(files["answers"]))
        styles = {row["id"]: rules.style_label(row.get("class", "")) for row in _read_csv(self._path(STYLE_FILE))}
        graphs: dict[str, dict[str, Any]] = {}
        for folder in ALIGNMENT_FOLDERS[self.lang]:
            path = self._path(files["qd"].format(folder=folder))
            for key, entry in _read_json(path).items():
                if not isinstance(entry, dict) or "question" not in entry or "dependency" not in entry:
                    raise InputError(f"alignment entry {key} lacks question/dependency", path=path,
                                     fix="run `genlens data fetch oneig --force`")
                graphs[f"{folder}_{key}"] = {"questions": _int_keyed(entry["question"], path, "question"),
                                             "dependencies": _int_keyed(entry["dependency"], path, "dependency")}
        items: list[Item] = []
        seen: set[str] = set()
        for row in _read_csv(prompts_path):
            folder = FOLDERS.get(row.get("category", ""))
            pid, prompt = row.get("id", ""), row.get(files["prompt_column"], "")
            if folder is None or not pid or not prompt:
                raise InputError(f"a prompt row lacks category/id/prompt ({str(row)[:80]})", path=prompts_path,
                                 fix="run `genlens data fetch oneig --force`")
            item_id = f"{folder}_{pid}"
            if item_id in seen:
                raise InputError(f"prompt {item_id} appears twice", path=prompts_path, fix="run `genlens data fetch oneig --force`")
            seen.add(item_id)
            meta: dict[str, Any] = {"oneig_id": pid, "class": row.get("class", ""), "type": row.get("type", ""),
                                    "prompt_length": row.get("prompt_length", ""), "dimensions": ["diversity"]}
            if item_id in graphs:
                meta.update(graphs[item_id])
                meta["dimensions"].append("alignment")
            if folder == "text" and pid in texts:
                meta["text_truth"] = texts[pid]
                meta["dimensions"].append("text")
            if folder == "reasoning" and pid in answers:
                meta["answer"] = str(answers[pid])
                meta["dimensions"].append("reasoning")
            if folder == "anime" and styles.get(pid):
                meta["style"] = styles[pid]
                meta["dimensions"].append("style")
            items.append(Item(id=item_id, prompt=prompt, category=folder, meta=meta))
        return items

    # -- layouts -------------------------------------------------------------------------------
    def folder_candidates(self, item: Item, sample: int) -> list[str]:
        """The official layout: ``<folder>/<id>.<ext>`` (one grid image per prompt)."""
        return [f"{item.category}/{item.meta.get('oneig_id', '')}"] if sample == 0 else []

    def import_layout(self, directory: Path) -> Iterator[ImportedImage]:
        """``<folder>/<id>.<ext>`` or ``<folder>/<model>/<id>.<ext>`` (one model folder), one image per prompt."""
        ids = {(item.category, item.meta["oneig_id"]): item.id for item in self.items()}
        folders = [d for d in sorted(directory.iterdir()) if d.is_dir() and d.name in set(FOLDERS.values())]
        if not folders:
            raise InputError("no OneIG category folders (anime, human, object, text, reasoning, multilingualism)",
                             path=directory, fix="point at the folder holding anime/, human/ … (the official image layout)")
        for folder in folders:
            inner = [d for d in folder.iterdir() if d.is_dir()]
            source = folder
            if len(inner) == 1 and not any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir()):
                source = inner[0]
            elif len(inner) > 1:
                raise InputError(f"{folder.name}/ holds several model folders ({', '.join(sorted(d.name for d in inner)[:3])} …)",
                                 path=folder, fix="import one model at a time: copy its images to <folder>/<id>.webp")
            for path in sorted(source.iterdir()):
                if path.suffix.lower() not in IMAGE_EXTENSIONS or not path.is_file():
                    continue
                item_id = ids.get((folder.name, path.stem[:3]))
                if item_id is None or (len(path.stem) > 3 and path.stem[3].isdigit()):
                    raise InputError(f"{folder.name}/{path.name} is not a OneIG prompt id", path=path,
                                     fix="name images by the prompt id of OneIG-Bench.csv (000.webp, 001.webp …)")
                yield ImportedImage(item_id, 0, path)

    # -- scoring -------------------------------------------------------------------------------
    def _model(self, name: str) -> str | None:
        value = self.suite_args.get(name)
        if value is None:
            value = next((a.default for a in self.args or () if a.name == name), None)
        return str(value) if value else None

    def preflight(self, ctx: ScoreContext) -> list[Any]:
        from genlens.runs.preflight import Missing, _judge, _weights

        missing: list[Any] = []
        dims = self.dimensions()
        drop = "or drop the dimension: --suite-arg dimensions=" + ",".join(d for d in dims if d in ("alignment", "text"))
        if "alignment" in dims or "text" in dims:
            missing += _judge(self, ctx, required=True)
        if "style" in dims:
            if not self._model("csd_model"):
                missing.append(Missing("style: the CSD model", f"--suite-arg csd_model=<dir> (`genlens convert oneig-csd`), {drop}"))
            else:
                missing += _weights("CSD", str(self._model("csd_model")), "--suite-arg csd_model=")
            missing += _weights("style encoder", str(self._model("style_encoder")), "--suite-arg style_encoder=")
            refs = self._model("style_refs")
            if not refs or not Path(refs).expanduser().is_file():
                missing.append(Missing("style: reference style embeddings",
                                       f"--suite-arg style_refs=refs.safetensors (`genlens convert oneig-style-refs`), {drop}"))
        if "diversity" in dims:
            missing += _weights("diversity encoder", str(self._model("diversity_model")), "--suite-arg diversity_model=")
        if "reasoning" in dims:
            missing += _weights("reasoning CLIP", str(self._model("reasoning_model")), "--suite-arg reasoning_model=")
        return missing

    def _judge(self, ctx: ScoreContext) -> Any:
        from genlens.judges.base import make_judge
        from genlens.judges.scorer import judge_choice

        choice = judge_choice(ctx, DEFAULT_JUDGE)
        return make_judge(choice.spec, concurrency=ctx.concurrency, params=dict(choice.params))

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        from genlens.suites import _oneig_scorers as sc

        dims = self.dimensions()
        device = self._model("device")
        out: list[Scorer] = []
        if "alignment" in dims or "text" in dims:
            judge = self._judge(ctx)  # one judge (one copy of the VLM) for both dimensions
            if "alignment" in dims:
                out.append(sc.AlignmentScorer(judge, self.grid))
            if "text" in dims:
                out.append(sc.TextScorer(judge, self.grid))
        if "style" in dims:
            csd, refs = self._model("csd_model"), self._model("style_refs")
            if not csd or not refs:
                raise SpecError("the style dimension needs csd_model and style_refs",
                                fix="add --suite-arg csd_model=<dir> style_refs=<file>, or drop style from dimensions")
            out.append(sc.StyleScorer(csd, str(self._model("style_encoder")), Path(refs).expanduser(), self.grid, device))
        if "diversity" in dims:
            out.append(sc.DiversityScorer(str(self._model("diversity_model")), self.grid, device))
        if "reasoning" in dims:
            out.append(sc.ReasoningScorer(str(self._model("reasoning_model")), self.grid, device))
        return out

    # -- aggregation ---------------------------------------------------------------------------
    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        return aggregate_oneig(self, scored, ctx)


def _expected(items: Sequence[Item], dimension: str) -> list[Item]:
    return [item for item in items if dimension in item.meta.get("dimensions", [])]


def aggregate_oneig(suite: OneIGSuite, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
    """Per dimension: per-prompt scores from pooled tiles, the official formula, coverage; rows per generation."""
    items = suite.items()
    chosen = suite.dimensions()
    samples = run_samples(ctx.run_dir, suite.meta.default_samples)
    counts: dict[str, int] = {"generations": 0, "not_generated": 0, "black_tiles": 0}
    rows: list[dict[str, Any]] = []
    tiles: dict[str, dict[str, list[Any]]] = {d: {} for d in DIMENSIONS}  # dimension -> item id -> tile values
    generations_scored: dict[str, dict[str, int]] = {d: {} for d in DIMENSIONS}
    models: dict[str, set[str]] = {d: set() for d in DIMENSIONS}
    by_id = {item.id: item for item in items}
    for entry in scored:
        gen, item = entry.generation, entry.item
        row: dict[str, Any] = {"item": item.id, "sample": gen.sample, "category": item.category, "prompt": item.prompt,
                               "status": gen.status, "image": gen.images[0] if gen.images else None}
        rows.append(row)
        if gen.status != "ok":
            counts["not_generated"] += 1
            row["reason"] = gen.reason
            continue
        counts["generations"] += 1
        black_seen = False
        for dimension in chosen:
            record = entry.scores.get(f"oneig_{dimension}")
            if dimension not in item.meta.get("dimensions", []):
                continue
            if record is None or record.status != "ok":
                key = f"{dimension}_{record.status if record else 'unscored'}"
                counts[key] = counts.get(key, 0) + 1
                row[dimension] = None
                continue
            value = record.value
            if not black_seen:
                counts["black_tiles"] += int(value.get("black_tiles", 0))
                black_seen = True
            if value.get("model"):
                models[dimension].add(str(value["model"]))
            per_tile = _tile_values(dimension, value, item, suite.lang)
            row[dimension] = _row_view(dimension, per_tile)
            if per_tile:
                tiles[dimension].setdefault(item.id, []).extend(per_tile)
                generations_scored[dimension][item.id] = generations_scored[dimension].get(item.id, 0) + 1
    headline: dict[str, float | None] = {}
    metrics: dict[str, float | None] = {}
    categories: dict[str, dict[str, float | int | None]] = {}  # one per dimension: the published table's columns
    by_folder: dict[str, dict[str, float | None]] = {}
    coverage: dict[str, Any] = {}
    caveats: list[str] = []
    per_prompt: dict[str, dict[str, Any]] = {}
    for dimension in DIMENSIONS:
        if dimension not in chosen:
            headline[dimension] = None
            coverage[dimension] = {"complete": False, "not_scored": True}
            continue
        expected = _expected(items, dimension)
        prompt_scores, overall, extra_metrics, by_category = _dimension_result(dimension, tiles[dimension], by_id, suite.lang)
        per_prompt[dimension] = prompt_scores
        cov = Coverage(prompts=(len(prompt_scores), len(expected)),
                       images=(sum(generations_scored[dimension].values()), len(expected) * samples))
        coverage[dimension] = cov.as_dict()
        for category, value in by_category.items():
            by_folder.setdefault(category, {})[dimension if cov.complete else f"{dimension}_partial"] = value
        # a partial dimension shows no number in the table (its value is only in metrics, as <dimension>_partial)
        categories[dimension] = {"score": overall if cov.complete else None, "n": len(prompt_scores)}
        for name, value in extra_metrics.items():
            metrics[name if cov.complete else f"{name}_partial"] = value
        if cov.complete:
            headline[dimension] = overall
        else:
            headline[dimension] = None
            metrics[f"{dimension}_partial"] = overall
            caveats.append(f"{dimension}: partial ({cov.text()}): no headline; {dimension}_partial is the same formula "
                           "over what was scored, not comparable with published numbers")
    not_chosen = [d for d in DIMENSIONS if d not in chosen]
    missing = {d: f"not scored in this run: needs {_needs(d)} (add it to --suite-arg dimensions=)" for d in not_chosen}
    if counts["black_tiles"]:
        caveats.append(f"{counts['black_tiles']} all-black tile(s) dropped, as the official scripts drop them "
                       "(upstream pastes black tiles for failed samples); a prompt left with no tile is unscored")
    for dimension in ("diversity", "reasoning"):
        if dimension in chosen:
            caveats.append(f"{dimension}: {SCORER_NOTES[dimension]}")
    judge_models = models["alignment"] | models["text"]
    if judge_models and any("Qwen2.5-VL-7B-Instruct" not in m for m in judge_models):
        caveats.append(f"judge {', '.join(sorted(judge_models))} is not the official Qwen/Qwen2.5-VL-7B-Instruct: "
                       "alignment and text are not comparable with published numbers")
    whole = Coverage(prompts=(len({e.item.id for e in scored if e.generation.status == "ok"}), len(items)),
                     images=(counts["generations"], len(items) * samples))
    unofficial_judge = bool(judge_models) and any("Qwen2.5-VL-7B-Instruct" not in m for m in judge_models)
    official = {"alignment": not unofficial_judge, "text": not unofficial_judge, "style": _official_style(suite),
                "diversity": False, "reasoning": False}
    if "style" in chosen and not official["style"]:
        caveats.append("style: scored with encoders other than the official pair (a CSD folder made by `genlens convert "
                       f"oneig-csd` and {DEFAULT_STYLE_ENCODER}): not comparable with published numbers")
    if "diversity" in chosen and not per_prompt.get("diversity"):
        caveats.append("diversity: no prompt has two images to compare: generate --samples 4 (or import 2×2 grids with grid=2,2)")
    scorers = {d: {"scorer": _scorer_name(suite, d, ctx), "official": official[d], "note": SCORER_NOTES[d]} for d in chosen}
    # A dimension scored by a stand-in or another judge keeps its number, under a name that does not line up
    # with the published column (reports then show it beside the table, never as a difference from it).
    categories = {(d if scorers.get(d, {}).get("official") else f"{d} (not comparable)"): v for d, v in categories.items()}
    return SuiteResult(
        headline=headline, metrics=metrics, categories=categories, counts=counts,
        extra={"coverage": whole.as_dict(), "coverage_by_dimension": coverage, "by_folder": dict(sorted(by_folder.items())), "missing_dimensions": missing,
               "per_prompt": per_prompt, "lang": suite.lang, "grid": list(suite.grid)},
        provenance={"upstream": UPSTREAM, "lang": suite.lang, "grid": list(suite.grid), "scorers": scorers,
                    "judge_models": sorted(judge_models), "caveats": caveats,
                    "protocol": "per dimension as the official scripts: tiles of a prompt pooled; prompt score = mean "
                                "over tiles (alignment, style, reasoning) or pairwise (diversity); dimension = mean over "
                                "prompts; text = 1 - min(MAX,ED)(1-CR)(1-WAC)/MAX over all tiles"},
        rows=rows,
    )


def _official_style(suite: OneIGSuite) -> bool:
    """The official style pair: the OneIG style encoder by its hub id, and a CSD folder converted by genlens."""
    csd = suite._model("csd_model")
    if suite._model("style_encoder") != DEFAULT_STYLE_ENCODER or not csd:
        return False
    try:
        made = json.loads((Path(csd).expanduser() / "genlens_provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(made, dict) and str(made.get("what", "")).startswith("CSD")


def _needs(dimension: str) -> str:
    return {"alignment": "a Qwen2.5-VL judge", "text": "a Qwen2.5-VL judge",
            "style": "csd_model, style_encoder and style_refs (reference embeddings from the fetched data, converted)",
            "diversity": "an image encoder (diversity_model)", "reasoning": "a CLIP model (reasoning_model)"}[dimension]


def _scorer_name(suite: OneIGSuite, dimension: str, ctx: ScoreContext) -> str:
    if dimension in ("alignment", "text"):
        from genlens.runs.preflight import judge_spec

        return str(judge_spec(suite, ctx))
    if dimension == "style":
        return f"CSD {suite._model('csd_model')} + style encoder {suite._model('style_encoder')}"
    return str(suite._model(f"{dimension}_model"))


def _row_view(dimension: str, per_tile: list[Any]) -> Any:
    """What rows.jsonl shows per tile: scores, text metrics, or (diversity) how many tiles were embedded."""
    if dimension == "text":
        return [{"ED": t.distance, "CR": t.complete, "WAC": t.word_accuracy} for t in per_tile]
    if dimension == "diversity":
        return {"tiles": len(per_tile)}
    return per_tile


def _tile_values(dimension: str, value: dict[str, Any], item: Item, lang: str) -> list[Any]:
    """The per-tile numbers (or records) of one generation's stored value."""
    if dimension == "alignment":
        deps = {int(k): [int(p) for p in v] for k, v in (item.meta.get("dependencies") or {}).items()}
        return [rules.tile_alignment({int(q): a for q, a in answers.items()}, deps) for answers in value.get("tiles", [])]
    if dimension == "text":
        truth = str(item.meta.get("text_truth", ""))
        return [rules.text_tile(str(t.get("ocr", "")), truth) for t in value.get("tiles", [])]
    if dimension == "style":
        return [rules.style_tile([t["csd_max"]], [t["se_max"]]) for t in value.get("tiles", [])]
    if dimension == "diversity":
        return list(value.get("embeddings", []))
    return [float(c) for c in value.get("tiles", [])]


def _dimension_result(dimension: str, tiles: dict[str, list[Any]], by_id: dict[str, Item],
                      lang: str) -> tuple[dict[str, Any], float | None, dict[str, float | None], dict[str, float | None]]:
    """(per-prompt scores, the dimension's number, its other metrics, per-category means) as upstream computes them."""
    prompt_scores: dict[str, Any] = {}
    extra: dict[str, float | None] = {}
    if dimension == "text":
        flat: list[rules.TextTile] = []
        for item_id, records in tiles.items():
            flat.extend(records)
            prompt_scores[item_id] = {"ED": rules.mean([r.distance for r in records]),
                                      "CR": rules.mean([r.complete for r in records]),
                                      "WAC": rules.mean([r.word_accuracy for r in records])}
        totals = rules.text_totals(flat, lang)
        if totals:
            extra = {"text_ED": totals["ED"], "text_CR": totals["CR"], "text_WAC": totals["WAC"]}
        return prompt_scores, (totals or {}).get("text"), extra, {"text": (totals or {}).get("text")} if totals else {}
    for item_id, values in tiles.items():
        score = rules.pairwise_distance_mean(values) if dimension == "diversity" else rules.mean(values)
        if score is not None:
            prompt_scores[item_id] = score
    overall = rules.mean(list(prompt_scores.values()))
    by_category: dict[str, list[float]] = {}
    for item_id, score in prompt_scores.items():
        by_category.setdefault(by_id[item_id].category, []).append(score)
    if dimension == "style":
        by_style: dict[str, list[float]] = {}
        for item_id, score in prompt_scores.items():
            by_style.setdefault(str(by_id[item_id].meta.get("style")), []).append(score)
        extra = {f"style_{name}": rules.mean(v) for name, v in sorted(by_style.items())}
    return prompt_scores, overall, extra, {c: rules.mean(v) for c, v in sorted(by_category.items())}
