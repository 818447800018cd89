"""``diag-people``: scenes with 1–6 people and person–object interactions.

Every prompt states how many people should be visible with faces toward the camera. Scoring
(:mod:`genlens.scorers.people`, mediapipe 0.10.21 legacy solutions): ``people_found`` = faces
detected (full-range detector on multi-scale tiles + NMS), ``count_exact`` = found == asked, ``count_error`` =
found − asked (negative: people missing or faces unreadable; positive: extra people); and the
pose plausibility of the most prominent person (share of limb-proportion checks passed).
Limits, also in ``provenance``: a face count is a lower bound on people; pose covers one person.
An anatomy judge is not part of this version (no judge layer in this build).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genlens.imageio import load_image
from genlens.scorers.base import Scorer
from genlens.suites._diag import DiagSuite, base_row, mean_of, prompts, rate, rate_interval, require, split_scored
from genlens.suites.base import ScoreContext, SuiteMeta, SuiteResult, register_suite
from genlens.types import Item, ScoredGeneration, ScoreInput

COUNTS = ("1", "2", "3", "4", "5", "6")
CATEGORIES = (*(f"count-{n}" for n in COUNTS), "interaction")


class PeopleScorer(Scorer):
    name = "diag_people"
    version = "1"
    batch_size = 4

    def identity(self) -> dict[str, Any]:
        from genlens.scorers.people import identity

        return identity()

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        from genlens.scorers.people import analyse_people

        out = []
        for inp in batch:
            rgb = np.asarray(load_image(inp.image_paths[0]).convert("RGB"))
            value = analyse_people(rgb)
            asked = int(inp.item.meta["people"])
            value.update({"people_asked": asked, "count_error": value["people_found"] - asked,
                          "count_exact": value["people_found"] == asked})
            out.append(("ok", value))
        return out


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
        return [PeopleScorer()]

    def aggregate(self, scored: Sequence[ScoredGeneration], ctx: ScoreContext) -> SuiteResult:
        done, rows, counts = split_scored(scored, "diag_people")
        measured = []
        for entry, value in done:
            reason = f"found {value['people_found']} of {value['people_asked']} people"
            if value.get("failed_checks"):
                reason += f"; implausible: {', '.join(value['failed_checks'])}"
            row = {**base_row(entry), **{k: v for k, v in value.items() if k not in ("faces", "checks", "segments")},
                   "passed": value["count_exact"], "reason": reason, "boxes": value["faces"],
                   "values": {k: float(value[k]) for k in ("count_error", "plausibility") if value.get(k) is not None}}
            rows.append(row)
            measured.append(row)
        categories: dict[str, dict[str, float | int | None]] = {}
        for category in CATEGORIES:
            sub = [r for r in measured if r["category"] == category]
            categories[category] = {"count_exact_rate": rate([r["count_exact"] for r in sub]),
                                    "mean_count_error": mean_of(sub, "count_error"),
                                    "mean_abs_count_error": mean_of(sub, "count_error", abs),
                                    "mean_pose_plausibility": mean_of(sub, "plausibility"), "n": len(sub)}
        exact = [r["count_exact"] for r in measured]
        interval = rate_interval(exact)
        return SuiteResult(
            headline={"count_exact_rate": rate(exact)},
            metrics={"mean_abs_count_error": mean_of(measured, "count_error", abs), "mean_count_error": mean_of(measured, "count_error"),
                     "undercount_rate": rate([r["count_error"] < 0 for r in measured]),
                     "overcount_rate": rate([r["count_error"] > 0 for r in measured]),
                     "mean_pose_plausibility": mean_of(measured, "plausibility"),
                     "pose_found_rate": rate([r["pose_found"] for r in measured])},
            categories=categories,
            counts={"images_measured": len(measured), **counts},
            intervals={"count_exact_rate": interval} if interval else {},
            provenance={"rule": "people found = faces (mediapipe full-range on the whole image and on tiles of the short side (confidence >= 0.75), "
                                "a half and a quarter of it (>= 0.85), NMS); "
                                "exact = found == asked; pose plausibility = share of limb-ratio checks passed on the main person's "
                                "3-D landmarks; refusals and errors are not measured",
                        "limits": "faces hidden, turned away or under ~40 px are missed (a lower bound on people); legacy pose sees one "
                                  "person; no anatomy judge in this version"},
            rows=rows,
        )
