"""Coverage of official headlines: partial runs keep the number only as <name>_partial."""

from __future__ import annotations

import json
from pathlib import Path

from genlens.suites._coverage import Coverage, coverage_text, mark_partial, run_samples
from genlens.suites.base import SuiteResult
from genlens.suites.geneval import geneval_coverage, load_metadata


def _rows(prompts: int, samples: int) -> list[dict]:
    meta = load_metadata()
    return [{"item": f"{i:05d}", "tag": meta[i]["tag"], "sample": s} for i in range(prompts) for s in range(samples)]


def test_geneval_complete_only_with_every_prompt_image_and_tag(tmp_path: Path):
    full = _rows(553, 4)
    assert geneval_coverage(full, None).as_dict() == {"complete": True, "prompts": [553, 553], "images": [2212, 2212],
                                                      "tags": [6, 6]}
    # one image missing (an errored generation): 2211 of 2212 -> partial although every prompt and tag is there
    assert not geneval_coverage(full[:-1], None).complete
    # run.json asked for 4 samples, the import brought 1 per prompt: 553 of 2212 images
    (tmp_path / "run.json").write_text(json.dumps({"spec": {"samples": 4}}))
    assert run_samples(tmp_path, 1) == 4
    partial = geneval_coverage(_rows(553, 1), tmp_path)
    assert partial.images == (553, 2212) and not partial.complete
    assert geneval_coverage(_rows(10, 4), None).text() == "10/553 prompts, 40/2212 images, 1/6 tags"


def test_mark_partial_moves_headline_and_interval():
    result = SuiteResult(headline={"overall": 0.5}, metrics={"x": 1.0}, intervals={"overall": [0.4, 0.6], "x": [0, 1]})
    caveat = mark_partial(result, Coverage(prompts=(2, 4), images=(2, 4), tags=(1, 2)), what="1 errored")
    assert result.headline == {"overall": None}
    assert result.metrics == {"overall_partial": 0.5, "x": 1.0}
    assert result.intervals == {"overall_partial": [0.4, 0.6], "x": [0, 1]}
    assert result.extra["coverage"] == {"complete": False, "prompts": [2, 4], "images": [2, 4], "tags": [1, 2]}
    assert caveat == ("partial run (2/4 prompts, 2/4 images, 1/2 tags; 1 errored): no headline overall; overall_partial "
                      "is the same formula over what was scored, not comparable with published numbers")
    complete = SuiteResult(headline={"overall": 0.5})
    assert mark_partial(complete, Coverage(prompts=(4, 4), images=(4, 4))) is None
    assert complete.headline == {"overall": 0.5} and complete.extra["coverage"]["complete"] is True
    # nothing expected is never complete (an empty benchmark has no headline)
    assert not Coverage(prompts=(0, 0), images=(0, 0)).complete
    assert coverage_text({"prompts": [1, 2]}) == "1/2 prompts"
