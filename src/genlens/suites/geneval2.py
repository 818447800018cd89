"""GenEval 2: 800 templated prompts scored by Soft-TIFA (facebookresearch/GenEval2 @ a6e82d2).

Each prompt carries a list of atom questions (``vqa_list``) with a skill per atom (object, attribute,
count, position, verb). Soft-TIFA asks the VQA model (Qwen3-VL-8B-Instruct) each question as
``"<question> Answer in one word."`` with the image, takes the softmax over the whole vocabulary of the
first answer token's logits, and sums the probabilities of the first tokens of the accepted answers:
``Yes``/``yes``/`` yes``/`` Yes`` for yes/no questions; for "How many …" questions the number word, its
capitalised form, both with a leading space, the digit and the digit with a leading space (one entry per
answer string, so a token two strings share counts twice, as upstream's loop does). Per prompt the atom
scores are averaged arithmetically (Soft-TIFA AM) or geometrically (Soft-TIFA GM, ``scipy.stats.gmean``:
one zero atom makes it 0); the benchmark number is 100 × the mean over prompts. Per-skill numbers are
atom-weighted means (AM); per-atomicity numbers are prompt means of GM, as ``soft_tifa_analysis.py`` does.

The data is CC BY-NC 4.0: fetched with ``genlens data fetch geneval2`` (pinned commit, sha256), never shipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genlens.args import Arg
from genlens.errors import InputError, SpecError
from genlens.scorers.base import Scorer
from genlens.suites._coverage import Coverage, mark_partial, run_samples
from genlens.suites.base import ScoreContext, Suite, SuiteMeta, SuiteResult, register_suite, scored_record
from genlens.types import Item, ScoredGeneration, ScoreInput

UPSTREAM = "facebookresearch/GenEval2 @ a6e82d2289e8d418f27f0adee77908b07060eea3"
DATA_FILE = "geneval2_data.jsonl"
OFFICIAL_JUDGE = "local:Qwen/Qwen3-VL-8B-Instruct"
SKILLS = ("object", "attribute", "count", "position", "verb")
ATOM_COUNTS = tuple(range(3, 11))
QUESTION_SUFFIX = " Answer in one word."
YES_ANSWERS = ("Yes", "yes", " yes", " Yes")
NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
                "eight": "8", "nine": "9", "ten": "10"}


def accepted_answers(question: str, answer: str) -> tuple[str, ...]:
    """The answer strings whose first-token probabilities Soft-TIFA sums for one atom (upstream's lists)."""
    if question.startswith("How many"):
        digit = NUMBER_WORDS.get(answer, "other")  # upstream maps anything else to the word 'other'
        return (answer, answer.capitalize(), " " + answer, " " + answer.capitalize(), digit, " " + digit)
    return YES_ANSWERS


def question_text(question: str) -> str:
    """The text sent after the image: the atom question plus upstream's one-word instruction."""
    return question + QUESTION_SUFFIX


def geometric_mean(values: Sequence[float]) -> float:
    """``scipy.stats.gmean`` as upstream calls it (a zero gives 0; computed through logs)."""
    import warnings

    from scipy.stats import gmean

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0) for a zero atom: gmean is then 0, as upstream
        return float(gmean([float(v) for v in values]))


def prompt_scores(atoms: Sequence[float]) -> dict[str, float]:
    """Soft-TIFA AM (arithmetic mean) and GM (geometric mean) of one image's atom probabilities."""
    return {"am": sum(atoms) / len(atoms), "gm": geometric_mean(atoms)}


def benchmark_scores(per_prompt: Sequence[dict[str, float]]) -> dict[str, float]:
    """100 × the mean over prompts of AM and of GM (upstream's ``total_score``)."""
    n = len(per_prompt)
    return {"soft_tifa_am": 100 * sum(p["am"] for p in per_prompt) / n,
            "soft_tifa_gm": 100 * sum(p["gm"] for p in per_prompt) / n}


def per_skill(atom_lists: Sequence[Sequence[float]], skill_lists: Sequence[Sequence[str]]) -> dict[str, float | None]:
    """Atom-weighted 100 × mean score per skill (``per_skill_analysis``); None for a skill with no atom."""
    sums: dict[str, float] = dict.fromkeys(SKILLS, 0.0)
    counts: dict[str, int] = dict.fromkeys(SKILLS, 0)
    for atoms, skills in zip(atom_lists, skill_lists, strict=True):
        for value, skill in zip(atoms, skills, strict=True):
            if skill not in sums:
                raise InputError(f"unrecognised GenEval 2 skill {skill!r}", fix="run `genlens data fetch geneval2 --force`")
            sums[skill] += value
            counts[skill] += 1
    return {s: (100 * sums[s] / counts[s] if counts[s] else None) for s in SKILLS}


def per_atomicity(gms: Sequence[float], atom_counts: Sequence[int]) -> dict[int, float | None]:
    """100 × the mean GM of the prompts of each atom count 3…10 (``per_atomicity_analysis``)."""
    out: dict[int, float | None] = {}
    for k in ATOM_COUNTS:
        mine = [g for g, n in zip(gms, atom_counts, strict=True) if n == k]
        out[k] = 100 * sum(mine) / len(mine) if mine else None
    return out


def default_data_dir() -> Path:
    from genlens.data.fetch import suite_data_dir

    return suite_data_dir("geneval2")


def read_data(path: Path) -> list[dict[str, Any]]:
    """The benchmark records, checked for the fields scoring needs."""
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read GenEval 2 data ({type(exc).__name__})", path=path,
                         fix="run `genlens data fetch geneval2 --force`") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"line {number} is not JSON", path=path, fix="run `genlens data fetch geneval2 --force`") from None
        ok = (isinstance(record, dict) and isinstance(record.get("prompt"), str) and isinstance(record.get("atom_count"), int)
              and isinstance(record.get("vqa_list"), list) and isinstance(record.get("skills"), list)
              and len(record["vqa_list"]) == len(record["skills"]) > 0
              and all(isinstance(qa, list) and len(qa) == 2 and all(isinstance(x, str) for x in qa) for qa in record["vqa_list"]))
        if not ok:
            raise InputError(f"line {number} lacks prompt, atom_count, or matching vqa_list/skills", path=path,
                             fix="run `genlens data fetch geneval2 --force` (or fix the file)")
        records.append(record)
    if not records:
        raise InputError("the GenEval 2 data is empty", path=path, fix="run `genlens data fetch geneval2 --force`")
    return records


class SoftTifaScorer(Scorer):
    """Per image: every atom's probability of the right answer from a local VLM (one forward pass per batch)."""

    name = "soft_tifa"
    version = "1"
    threaded = False

    def __init__(self, judge: Any, batch_size: int = 8):
        self.judge = judge
        self.batch_size = batch_size

    def identity(self) -> dict[str, Any]:
        return {"judge": self.judge.spec, "settings": self.judge.settings(), "question": "{question}" + QUESTION_SUFFIX,
                "method": "sum of softmax probabilities of the accepted answers' first tokens (full vocabulary)"}

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        raise NotImplementedError("SoftTifaScorer is async")

    async def aclose(self) -> None:
        await self.judge.aclose()

    async def score_batch(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        from genlens.judges.base import JudgeRequest

        requests, answers, owners = [], [], []
        for index, inp in enumerate(batch):
            image = (inp.run_dir / inp.generation.images[-1]).read_bytes()
            for question, answer in inp.item.meta["vqa_list"]:
                requests.append(JudgeRequest(None, question_text(question), [image]))
                answers.append(accepted_answers(question, answer))
                owners.append(index)
        try:
            probabilities = await self.judge.answer_probability(requests, answers)
        except SpecError:
            raise
        except Exception as exc:  # e.g. out of memory: these images stay unscored and are asked again next run
            message = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:300]
            return [("error", {"reason": message}) for _ in batch]
        results = []
        for index, _inp in enumerate(batch):
            atoms = [p for p, owner in zip(probabilities, owners, strict=True) if owner == index]
            results.append(("ok", {"atoms": atoms, **prompt_scores(atoms)}))
        return results


@register_suite
class GenEval2Suite(Suite):
    meta = SuiteMeta(
        name="geneval2",
        version="1",
        title="GenEval 2 (Soft-TIFA AM/GM with a local Qwen3-VL; per skill and atomicity)",
        task="generate",
        categories=tuple(f"{k}-atom" for k in ATOM_COUNTS),
        needs=("judge", "data"),
        data_source=f"genlens data fetch geneval2 ({UPSTREAM}, CC BY-NC 4.0)",
        default_samples=1,
        item_count=800,
        description="judge local:Qwen/Qwen3-VL-8B-Instruct (official); per-atom answer probability, AM and GM ×100",
    )
    uses = frozenset({"judge"})
    default_judge = OFFICIAL_JUDGE
    scorer_args = (Arg("images_per_batch", "int", 8, "images per scoring batch (the judge's batch_size is atom "
                       "questions per forward pass)", "8", minimum=1, maximum=4096),)

    def __init__(self, data_dir: Path | None = None, suite_args: dict[str, Any] | None = None):
        super().__init__(data_dir, suite_args)
        self._items: list[Item] | None = None
        self._data_sha256 = ""

    @property
    def geneval2_dir(self) -> Path:
        return self.data_dir or default_data_dir()

    def items(self) -> Sequence[Item]:
        if self._items is None:
            path = self.geneval2_dir / DATA_FILE
            if not path.is_file():
                raise InputError("GenEval 2 data not found", path=path,
                                 fix="run `genlens data fetch geneval2` (CC BY-NC 4.0; or --data-dir a folder holding geneval2_data.jsonl)")
            self._data_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
            self._items = [
                Item(id=f"{index:03d}", prompt=r["prompt"], category=f"{r['atom_count']}-atom",
                     meta={"atom_count": r["atom_count"], "vqa_list": [list(qa) for qa in r["vqa_list"]],
                           "skills": list(r["skills"])})
                for index, r in enumerate(read_data(path))
            ]
        return self._items

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        from genlens.judges.base import make_judge
        from genlens.judges.scorer import judge_choice

        choice = judge_choice(ctx, OFFICIAL_JUDGE)
        if not choice.spec.startswith("local:"):
            raise SpecError(f"Soft-TIFA needs answer-token probabilities; judge {choice.spec} gives text only",
                            fix="use --judge local:<Qwen3-VL dir or hub id> (official: local:Qwen/Qwen3-VL-8B-Instruct)")
        params = {k: v for k, v in choice.params.items() if k != "images_per_batch"}
        judge = make_judge(choice.spec, concurrency=1, params=params)
        return [SoftTifaScorer(judge, batch_size=int(ctx.scorer_args.get("images_per_batch", 8)))]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        from genlens.judges.scorer import judge_choice

        items = self.items()
        per_item: dict[str, list[dict[str, Any]]] = {}
        rows: list[dict[str, Any]] = []
        counts = {"images_scored": 0, "not_generated": 0, "unscored": 0}
        for entry in scored:
            gen, item = entry.generation, entry.item
            row: dict[str, Any] = {"item": item.id, "sample": gen.sample, "category": item.category,
                                   "prompt": item.prompt, "status": gen.status, "atom_count": item.meta["atom_count"]}
            record = scored_record(entry, "soft_tifa", row, counts)
            if record is not None:
                value = record.value
                row.update({"atoms": value["atoms"], "skills": item.meta["skills"],
                            "soft_tifa_am": 100 * value["am"], "soft_tifa_gm": 100 * value["gm"],
                            "score": 100 * value["gm"]})  # what paired comparisons of two runs read (no pass/fail upstream)
                per_item.setdefault(item.id, []).append({"am": value["am"], "gm": value["gm"], "atoms": value["atoms"]})
            rows.append(row)
        by_id = {item.id: item for item in items}
        # one number per prompt: its images' mean (upstream scores one image per prompt; then this is that image)
        prompts = [{"am": sum(v["am"] for v in vs) / len(vs), "gm": sum(v["gm"] for v in vs) / len(vs)}
                   for _id, vs in sorted(per_item.items())]
        ordered = sorted(per_item)
        headline: dict[str, float | None] = dict.fromkeys(("soft_tifa_gm", "soft_tifa_am"), None)
        if prompts:
            totals = benchmark_scores(prompts)
            headline = {"soft_tifa_gm": totals["soft_tifa_gm"], "soft_tifa_am": totals["soft_tifa_am"]}
        atom_lists = [v["atoms"] for i in ordered for v in per_item[i]]
        skill_lists = [by_id[i].meta["skills"] for i in ordered for _v in per_item[i]]
        skills = per_skill(atom_lists, skill_lists) if atom_lists else dict.fromkeys(SKILLS)
        atomicity = per_atomicity([p["gm"] for p in prompts], [by_id[i].meta["atom_count"] for i in ordered])
        categories: dict[str, dict[str, float | int | None]] = {}
        for k in ATOM_COUNTS:
            categories[f"{k}-atom"] = {"soft_tifa_gm": atomicity[k],
                                       "n": sum(len(per_item[i]) for i in ordered if by_id[i].meta["atom_count"] == k)}
        for skill in SKILLS:
            categories[f"skill:{skill}"] = {"soft_tifa_am": skills[skill],
                                            "n": sum(s == skill for lst in skill_lists for s in lst)}
        samples = run_samples(ctx.run_dir, 1)
        coverage = Coverage(prompts=(len(per_item), len(items)), images=(counts["images_scored"], len(items) * samples))
        choice = judge_choice(ctx, OFFICIAL_JUDGE)
        official = choice.spec == OFFICIAL_JUDGE
        caveats = []
        if not official:
            caveats.append(f"scored with {choice.spec}, not the official {OFFICIAL_JUDGE}: not comparable with published GenEval 2 numbers")
        if samples > 1:
            caveats.append(f"{samples} images per prompt: each prompt's AM/GM is the mean over its images (upstream scores one image per prompt)")
        result = SuiteResult(
            headline=headline,
            metrics={**{f"skill_{s}_am": v for s, v in skills.items()}},
            categories=categories,
            counts={**counts, "items_in_suite": len(items)},
            extra={"per_skill_am": skills, "per_atomicity_gm": {str(k): v for k, v in atomicity.items()}},
            provenance={
                "protocol": "Soft-TIFA (GenEval 2 evaluation.py / soft_tifa_analysis.py): per atom, P(first answer token) "
                            "summed over the accepted answers, softmax over the full vocabulary; AM/GM per prompt, ×100 mean",
                "data": {"source": UPSTREAM, "file": DATA_FILE, "sha256": self._data_sha256, "license": "CC BY-NC 4.0"},
                "scorer": {"judge": choice.spec, "official": official, "official_judge": OFFICIAL_JUDGE},
                "caveats": caveats,
            },
            rows=rows,
        )
        partial = mark_partial(result, coverage)
        if partial:
            caveats.append(partial)
        return result


