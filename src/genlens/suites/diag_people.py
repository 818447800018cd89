"""``diag-people``: scenes with 1–6 people and person–object interactions.

Every prompt states how many people should be visible with faces toward the camera. Scoring
(:mod:`genlens.scorers.people`, mediapipe 0.10.21 legacy solutions): ``people_found`` = faces
detected (full-range detector on multi-scale tiles + NMS), ``count_exact`` = found == asked, ``count_error`` =
found − asked (negative: people missing or faces unreadable; positive: extra people); and the
pose plausibility of the most prominent person (share of limb-proportion checks passed).
Limits, also in ``provenance``: a face count is a lower bound on people; pose covers one person.

With ``--judge SPEC`` a VLM judge also rates anatomy (genlens's own wording, or
``--judge-prompt FILE`` with a ``{Prompt}`` placeholder): ``anatomy`` 0 = clear errors (extra or
missing fingers, limbs or heads, merged bodies, impossible joints, broken faces), 1 = one clear
or several small errors, 2 = none; reported as ``anatomy_score`` = mean of anatomy / 2 and
``anatomy_error_rate`` = share below 2. Unreadable answers are counted, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genlens.imageio import load_image
from genlens.scorers.base import Scorer
from genlens.suites._diag import DiagSuite, base_row, mean_of, prompts, rate, rate_interval, require, score_each, split_scored
from genlens.suites.base import ScoreContext, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

COUNTS = ("1", "2", "3", "4", "5", "6")
JUDGE_SCORER = "anatomy_judge"
ANATOMY_LABELS = ("anatomy",)
ANATOMY_ALLOWED = (0, 1, 2)
ANATOMY_SYSTEM = "You inspect generated pictures of people for anatomical mistakes only. You ignore style, beauty and prompt wording."
ANATOMY_USER = """This picture was generated for the request: "{Prompt}"

Look only at the people's bodies and faces. Anatomy errors are: extra, missing or fused fingers, hands,
arms, legs or heads; bodies merged into each other or into objects; joints bent in impossible ways;
distorted or melted faces. Rate the picture:
2 = no visible anatomy error; 1 = one clear error or several small ones; 0 = several clear errors.

Answer with JSON only: {"anatomy": <0, 1 or 2>}"""
CATEGORIES = (*(f"count-{n}" for n in COUNTS), "interaction")


class PeopleScorer(Scorer):
    name = "diag_people"
    version = "1"
    batch_size = 4

    def identity(self) -> dict[str, Any]:
        from genlens.scorers.people import identity

        return identity()

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        return score_each(batch, self.score_one)

    def score_one(self, inp: ScoreInput) -> tuple[str, dict[str, Any]]:
        from genlens.scorers.people import analyse_people

        value = analyse_people(np.asarray(load_image(inp.image_paths[0]).convert("RGB")))
        asked = int(inp.item.meta["people"])
        value.update({"people_asked": asked, "count_error": value["people_found"] - asked,
                      "count_exact": value["people_found"] == asked})
        return "ok", value


def anatomy_judge(ctx: ScoreContext) -> Scorer | None:
    """The optional anatomy judge: only when ``--judge`` is given now or was given for this run."""
    from genlens.judges.scorer import JUDGE_CHOICE_FILE

    if not ctx.judge and not (ctx.run_dir / JUDGE_CHOICE_FILE).is_file():
        return None
    from genlens.judges import make_judge, parse_scores
    from genlens.judges.scorer import JudgeScorer, judge_choice
    from genlens.judges.templates import Template, load_template_file

    choice = judge_choice(ctx, ctx.judge or "")
    params = dict(choice.params)
    use_cache = str(params.pop("cache", "true")).lower() not in ("false", "0", "no", "off")
    template = (load_template_file(choice.prompt_file, required=("Prompt",)) if choice.prompt_file
                else Template("genlens-anatomy-v1", ANATOMY_SYSTEM, ANATOMY_USER))

    def parse(raw: str) -> dict[str, int] | None:
        return parse_scores(raw, ANATOMY_LABELS, ANATOMY_ALLOWED)

    return JudgeScorer(name=JUDGE_SCORER, version="1", judge=make_judge(choice.spec, concurrency=ctx.concurrency, params=params),
                       template=template, build=anatomy_request, parse=parse, parser_id=JUDGE_SCORER, use_cache=use_cache)


def anatomy_request(inp: ScoreInput, template: Any) -> Any:
    """The judge sees the prompt and the one generated image."""
    from genlens.judges import JudgeRequest

    system, text = template.render(Prompt=inp.item.prompt)
    return JudgeRequest(system=system, text=text, images=[inp.image_paths[0].read_bytes()])


def judge_fields(entry: ScoredGeneration) -> tuple[dict[str, Any], str | None]:
    """Row fields from the anatomy judge's record, and how it ended (ok / unparsed / error / None)."""
    record = entry.scores.get(JUDGE_SCORER)
    if record is None:
        return {}, None
    value = record.value
    scores = value.get("scores") if record.status == "ok" else None
    fields: dict[str, Any] = {"judge": {"raw": value.get("raw"), "scores": scores, "template": value.get("template_name")},
                              "anatomy": scores["anatomy"] if scores else None}
    return fields, record.status


@register_suite
class DiagPeopleSuite(DiagSuite):
    meta = SuiteMeta(
        name="diag-people",
        version="1",
        title="Diagnostics: multi-person scenes (people count, pose plausibility)",
        task="generate",
        categories=CATEGORIES,
        needs=("mediapipe",),
        data_source="built in (genlens prompts)",
        item_count=sum(len(v) for v in prompts("people")["counts"].values()) + len(prompts("people")["interactions"]),
        description="Faces found vs people asked (mediapipe, tiled) and limb-proportion plausibility of the main pose.",
    )
    uses = frozenset({"judge"})

    def items(self) -> Sequence[Item]:
        data = prompts("people")
        out = []
        for count in COUNTS:
            for index, prompt in enumerate(data["counts"][count]):
                out.append(Item(id=f"count{count}-p{index}", prompt=prompt, category=f"count-{count}", meta={"people": int(count)}))
        for index, entry in enumerate(data["interactions"]):
            out.append(Item(id=f"interaction-p{index}", prompt=entry["prompt"], category="interaction", meta={"people": entry["people"]}))
        return out

    def scorers(self, ctx: ScoreContext) -> Sequence[Scorer]:
        require(self.meta.name, "mediapipe", "cv2")
        judge = anatomy_judge(ctx)
        return [PeopleScorer(), judge] if judge is not None else [PeopleScorer()]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        done, rows, counts = split_scored(scored, "diag_people")
        measured = []
        judge_status: dict[str, int] = {}
        for entry, value in done:
            reason = f"found {value['people_found']} of {value['people_asked']} people"
            if value.get("failed_checks"):
                reason += f"; implausible: {', '.join(value['failed_checks'])}"
            judged, status = judge_fields(entry)
            if status is not None:
                judge_status[status] = judge_status.get(status, 0) + 1
            row = {**base_row(entry), **{k: v for k, v in value.items() if k not in ("faces", "checks", "segments")},
                   "passed": value["count_exact"], "reason": reason, "boxes": value["faces"], **judged,
                   "values": {k: float(value[k]) for k in ("count_error", "plausibility") if value.get(k) is not None}}
            if row.get("anatomy") is not None:
                row["anatomy_score"] = row["anatomy"] / 2
                row["values"]["anatomy"] = float(row["anatomy"])
            rows.append(row)
            measured.append(row)
        categories: dict[str, dict[str, float | int | None]] = {}
        for category in CATEGORIES:
            sub = [r for r in measured if r["category"] == category]
            categories[category] = {"count_exact_rate": rate([r["count_exact"] for r in sub]),
                                    "mean_count_error": mean_of(sub, "count_error"),
                                    "mean_abs_count_error": mean_of(sub, "count_error", abs),
                                    "mean_pose_plausibility": mean_of(sub, "plausibility"),
                                    "anatomy_score": mean_of(sub, "anatomy_score"), "n": len(sub)}
        exact = [r["count_exact"] for r in measured]
        interval = rate_interval(exact)
        return SuiteResult(
            headline={"count_exact_rate": rate(exact)},
            metrics={"mean_abs_count_error": mean_of(measured, "count_error", abs), "mean_count_error": mean_of(measured, "count_error"),
                     "undercount_rate": rate([r["count_error"] < 0 for r in measured]),
                     "overcount_rate": rate([r["count_error"] > 0 for r in measured]),
                     "mean_pose_plausibility": mean_of(measured, "plausibility"),
                     "pose_found_rate": rate([r["pose_found"] for r in measured]),
                     "anatomy_score": mean_of(measured, "anatomy_score"),
                     "anatomy_error_rate": rate([r["anatomy"] < 2 if r.get("anatomy") is not None else None for r in measured])},
            categories=categories,
            counts={"images_measured": len(measured), **counts,
                    **({"anatomy_judged": judge_status.get("ok", 0), "anatomy_unparsed": judge_status.get("unparsed", 0),
                        "anatomy_judge_errors": judge_status.get("error", 0)} if judge_status else {})},
            intervals={"count_exact_rate": interval} if interval else {},
            provenance={"rule": "people found = faces (mediapipe full-range on the whole image and on tiles of the short side (confidence >= 0.75), "
                                "a half and a quarter of it (>= 0.85), NMS); "
                                "exact = found == asked; pose plausibility = share of limb-ratio checks passed on the main person's "
                                "3-D landmarks; refusals and errors are not measured",
                        "limits": "faces hidden, turned away or under ~40 px are missed (a lower bound on people); legacy pose sees one "
                                  "person; the anatomy judge (with --judge) rates only what a VLM can see, with its own biases"},
            rows=rows,
        )
