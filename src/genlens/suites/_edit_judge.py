"""The VIEScore-style edit judge shared by the editing suites: genlens's own wording, the rules.

Two questions per edited image, each answered with two integer scores from 0 to 10:

- semantic consistency (SC), shown the source then the edited image and the instruction:
  ``edit_success`` (was the instruction carried out) and ``over_editing`` (10 = nothing else
  was changed). SC = min(edit_success, over_editing).
- perceptual quality (PQ), shown the edited image only: ``naturalness`` and ``artifacts``
  (10 = no artifacts). PQ = min(naturalness, artifacts).

Overall O = sqrt(SC · PQ) per image (VIEScore). The answer format is the VIEScore one,
``{"score": [a, b], "reasoning": "..."}``, so the official prompt texts (``--judge-prompt FILE``
for SC, ``--scorer-arg pq_prompt=FILE`` for PQ) parse the same way; labelled answers
(``edit_success: 7``) are read too. An unreadable answer is ``unparsed`` — never a guess.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from genlens.imageio import load_rgb

SCORE_RANGE = range(11)
SC_LABELS = ("edit_success", "over_editing")
PQ_LABELS = ("naturalness", "artifacts")

SC_SYSTEM = (
    "You are a careful, impartial rater of AI image edits. You compare images and answer only in the JSON "
    "format you are asked for."
)
SC_USER = """You are shown two images. The first is the original picture; the second was produced by an image-editing model that was asked to carry out this instruction:

"{instruction}"

Rate the edit with two whole numbers from 0 to 10.

1. Edit success: how completely and correctly the second image carries out the instruction. 0 means the requested change is absent or wrong; 10 means it is fully and exactly done.
2. Over-editing: how well everything the instruction did not ask to change was left as it was. 0 means the picture was changed far beyond the request (other objects, layout, identity, colours or style altered); 10 means only the requested change was made.

Judge the content, not the image quality. Answer with JSON only, in exactly this shape:
{"reasoning": "<one or two sentences>", "score": [<edit success>, <over-editing>]}"""

PQ_SYSTEM = SC_SYSTEM
PQ_USER = """You are shown one image produced by an image-editing model. Rate how it looks as a picture, ignoring what it was meant to show, with two whole numbers from 0 to 10.

1. Naturalness: does the image look like a plausible, coherent picture, with consistent lighting, perspective, proportions and a sense of depth? 0 means clearly unnatural; 10 means entirely natural.
2. Artifacts: is it free of distortions, smears, broken textures, malformed hands, faces or text, noise, blur or visible seams? 0 means heavy artifacts; 10 means none.

Answer with JSON only, in exactly this shape:
{"reasoning": "<one or two sentences>", "score": [<naturalness>, <artifacts>]}"""


def genlens_templates() -> tuple[Any, Any]:
    """The (SC, PQ) templates in genlens's own wording."""
    from genlens.judges.templates import Template

    return (Template(name="genlens:edit-sc-v1", system=SC_SYSTEM, user=SC_USER),
            Template(name="genlens:edit-pq-v1", system=PQ_SYSTEM, user=PQ_USER))


def load_templates(sc_file: Path | None, pq_file: str | Path | None) -> tuple[Any, Any]:
    """SC/PQ templates: genlens's wording unless files are given (official texts, own variants).

    ``<instruction>`` (the VIEScore spelling) is accepted as well as ``{instruction}``.
    """
    from genlens.judges.templates import Template, load_template_file

    sc, pq = genlens_templates()
    if sc_file is not None:
        loaded = load_template_file(Path(sc_file))
        user = loaded.user.replace("<instruction>", "{instruction}")
        sc = Template(name=loaded.name, system=loaded.system, user=user)
        if "instruction" not in sc.placeholders():
            from genlens.errors import InputError

            raise InputError("judge prompt file has no {instruction} (or <instruction>) placeholder", path=sc_file,
                             fix="put {instruction} where the edit instruction belongs")
    if pq_file:
        pq = load_template_file(Path(pq_file))
    return sc, pq


def parse_pair(raw: str, labels: tuple[str, str]) -> dict[str, int] | None:
    """Two 0–10 scores from a ``{"score": [a, b]}`` answer or from labelled values; None if unreadable."""
    from genlens.judges.parsing import parse_score_list, parse_scores

    pair = parse_score_list(raw, key="score", count=2, allowed=SCORE_RANGE)
    if pair is not None:
        return dict(zip(labels, pair, strict=True))
    parsed = parse_scores(raw, labels, SCORE_RANGE)  # {"edit_success": 7, …} or "edit_success: 7" lines
    if parsed is None:  # "Edit success: 7" lines
        spaced = parse_scores(raw, [label.replace("_", " ") for label in labels], SCORE_RANGE)
        parsed = {label: spaced[label.replace("_", " ")] for label in labels} if spaced else None
    return parsed


def image_bytes(image: Image.Image, max_side: int = 0) -> bytes:
    """PNG bytes of an image, shrunk to fit ``max_side`` × ``max_side`` when ``max_side`` > 0."""
    if max_side and max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def edit_pair_images(source_path: Path, edited_path: Path, max_side: int) -> list[bytes]:
    """[source, edited] for the SC question; the edited image resized to the source size (GEdit's rule)."""
    source = load_rgb(source_path)
    edited = load_rgb(edited_path)
    if edited.size != source.size:
        edited = edited.resize(source.size, Image.BICUBIC)
    return [image_bytes(source, max_side), image_bytes(edited, max_side)]


def sc_of(scores: dict[str, int] | None) -> float | None:
    """SC = min(edit success, over-editing), 0–10."""
    return float(min(scores[SC_LABELS[0]], scores[SC_LABELS[1]])) if scores else None


def pq_of(scores: dict[str, int] | None) -> float | None:
    """PQ = min(naturalness, artifacts), 0–10."""
    return float(min(scores[PQ_LABELS[0]], scores[PQ_LABELS[1]])) if scores else None


def overall_of(sc: float | None, pq: float | None) -> float | None:
    """VIEScore overall O = sqrt(SC · PQ) for one image (None unless both are known)."""
    if sc is None or pq is None:
        return None
    return math.sqrt(sc * pq)


def make_edit_judge_scorers(
    ctx: Any, *, name_prefix: str, version: str, sc_inputs: Callable[[Any], tuple[str, list[bytes]]],
    pq_input: Callable[[Any], list[bytes]],
) -> list[Any]:
    """The SC and PQ judge scorers for a suite (empty when no judge was given, now or for this run).

    ``sc_inputs(score_input)`` returns (instruction, [source, edited] PNG bytes);
    ``pq_input(score_input)`` returns [edited PNG bytes].
    """
    chosen = context_judge(ctx)
    if chosen is None:
        return []
    judge, prompt_file, params = chosen
    sc_template, pq_template = load_templates(prompt_file, params.get("pq_prompt"))
    return [sc_scorer(judge, sc_template, name=f"{name_prefix}_sc", version=version, sc_inputs=sc_inputs),
            pq_scorer(judge, pq_template, name=f"{name_prefix}_pq", version=version, pq_input=pq_input)]


#: ``--scorer-arg`` keys the editing suites read themselves (not passed on to the judge).
SUITE_SCORER_ARGS = ("pq_prompt",)


def configured_judge(ctx: Any) -> str | None:
    """The judge spec this scoring uses: ``--judge``, else the one remembered in ``<run>/judge.json``."""
    if ctx.judge:
        return str(ctx.judge)
    try:
        stored = json.loads((Path(ctx.run_dir) / "judge.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    judge = stored.get("judge") if isinstance(stored, dict) else None
    return judge if isinstance(judge, str) and judge else None


def context_judge(ctx: Any) -> tuple[Any, Path | None, dict[str, Any]] | None:
    """(judge, prompt file, judge args) for this scoring, or None when no judge is configured.

    ``--judge`` / ``--judge-prompt`` / ``--scorer-arg`` given now win; else what the run
    remembers (``genlens score RUN`` after ``genlens run … --judge X`` keeps judging with X).
    """
    if configured_judge(ctx) is None:
        return None
    from genlens.judges.base import make_judge
    from genlens.judges.scorer import judge_choice

    choice = judge_choice(ctx, "")
    params = {k: v for k, v in choice.params.items() if k not in SUITE_SCORER_ARGS}
    judge = make_judge(choice.spec, concurrency=ctx.concurrency, params=params)
    return judge, choice.prompt_file, dict(choice.params)


def sc_scorer(judge: Any, template: Any, *, name: str, version: str,
              sc_inputs: Callable[[Any], tuple[str, list[bytes]]]) -> Any:
    """A judged scorer asking the SC question; scores are ``edit_success`` and ``over_editing``."""
    from genlens.judges.base import JudgeRequest
    from genlens.judges.scorer import JudgeScorer

    def build(inp: Any, tmpl: Any) -> Any:
        instruction, images = sc_inputs(inp)
        system, text = tmpl.render(instruction=instruction)
        return JudgeRequest(system=system, text=text, images=images)

    return JudgeScorer(name=name, version=version, judge=judge, template=template, build=build,
                       parse=lambda raw: parse_pair(raw, SC_LABELS), parser_id="edit-pair")


def pq_scorer(judge: Any, template: Any, *, name: str, version: str, pq_input: Callable[[Any], list[bytes]]) -> Any:
    """A judged scorer asking the PQ question; scores are ``naturalness`` and ``artifacts``."""
    from genlens.judges.base import JudgeRequest
    from genlens.judges.scorer import JudgeScorer

    def build(inp: Any, tmpl: Any) -> Any:
        system, text = tmpl.render()
        return JudgeRequest(system=system, text=text, images=pq_input(inp))

    return JudgeScorer(name=name, version=version, judge=judge, template=template, build=build,
                       parse=lambda raw: parse_pair(raw, PQ_LABELS), parser_id="edit-pair")
