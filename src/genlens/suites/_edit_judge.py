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
    """Two 0–10 scores from a ``{"score": [a, b]}`` answer (also without the braces, as ComfyMind's
    Reason-Edit prompt asks: ``"score": [a, b], "reasoning": "..."``) or from labelled values; None if unreadable."""
    from genlens.judges.parsing import parse_score_list, parse_scores

    pair = parse_score_list(raw, key="score", count=2, allowed=SCORE_RANGE)
    if pair is None and raw and "{" not in raw:
        pair = parse_score_list("{" + raw.strip() + "}", key="score", count=2, allowed=SCORE_RANGE)
    if pair is not None:
        return dict(zip(labels, pair, strict=True))
    parsed = parse_scores(raw, labels, SCORE_RANGE)  # {"edit_success": 7, …} or "edit_success: 7" lines
    if parsed is None:  # "Edit success: 7" lines
        spaced = parse_scores(raw, [label.replace("_", " ") for label in labels], SCORE_RANGE)
        parsed = {label: spaced[label.replace("_", " ")] for label in labels} if spaced else None
    return parsed


#: VIEScore's OpenAI client re-encodes every image as JPEG with PIL's default quality, 75.
UPSTREAM_JPEG_QUALITY = 75


def image_bytes(image: Image.Image, max_side: int = 0, jpeg_quality: int | None = None) -> bytes:
    """PNG bytes of an image (JPEG at ``jpeg_quality`` when given), shrunk to fit ``max_side`` × ``max_side``
    when ``max_side`` > 0."""
    if max_side and max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.BICUBIC)
    buffer = io.BytesIO()
    if jpeg_quality is None:
        image.save(buffer, format="PNG")
    else:
        image.convert("RGB").save(buffer, format="JPEG", quality=jpeg_quality)
    return buffer.getvalue()


def edit_pair_images(source_path: Path, edited_path: Path, max_side: int, jpeg_quality: int | None = None) -> list[bytes]:
    """[source, edited] for the SC question; the edited image resized to the source size (GEdit's rule)."""
    source = load_rgb(source_path)
    edited = load_rgb(edited_path)
    if edited.size != source.size:
        edited = edited.resize(source.size, Image.BICUBIC)
    return [image_bytes(source, max_side, jpeg_quality), image_bytes(edited, max_side, jpeg_quality)]


def _min_of(scores: dict[str, Any] | None, labels: tuple[str, str]) -> float | None:
    """min of the two sub-scores; an official reading may instead hold upstream's whole ``score`` list."""
    if not scores:
        return None
    if "score" in scores:
        return float(min(scores["score"]))
    return float(min(scores[labels[0]], scores[labels[1]]))


def sc_of(scores: dict[str, Any] | None) -> float | None:
    """SC = min(edit success, over-editing), 0–10 (upstream's min of its score list under parse=official)."""
    return _min_of(scores, SC_LABELS)


def pq_of(scores: dict[str, Any] | None) -> float | None:
    """PQ = min(naturalness, artifacts), 0–10 (upstream's min of its score list under parse=official)."""
    return _min_of(scores, PQ_LABELS)


def official_protocol(ctx: Any) -> bool:
    """``--scorer-arg parse=official`` or ``--suite-arg protocol=official`` (either also sends JPEG q75 to a GEdit judge)."""
    from genlens.judges.official import parse_mode
    from genlens.judges.scorer import judge_choice

    protocol = str(ctx.suite_args.get("protocol", "genlens")).lower()
    if protocol not in ("genlens", "official"):
        from genlens.errors import SpecError

        raise SpecError(f"unknown --suite-arg protocol={protocol}", fix="use protocol=genlens (default) or protocol=official")
    params = judge_choice(ctx, "").params if configured_judge(ctx) else dict(ctx.scorer_args)
    return protocol == "official" or parse_mode(params) == "official"


def overall_of(sc: float | None, pq: float | None) -> float | None:
    """VIEScore overall O = sqrt(SC · PQ) for one image (None unless both are known)."""
    if sc is None or pq is None:
        return None
    return math.sqrt(sc * pq)


def make_edit_judge_scorers(
    ctx: Any, *, name_prefix: str, version: str, sc_inputs: Callable[[Any], tuple[str, list[bytes]]],
    pq_input: Callable[[Any], list[bytes]], official_sc: str = "viescore",
) -> list[Any]:
    """The SC and PQ judge scorers for a suite (empty when no judge was given, now or for this run).

    ``sc_inputs(score_input)`` returns (instruction, [source, edited] image bytes);
    ``pq_input(score_input)`` returns [edited image bytes]. ``--scorer-arg parse=official`` reads answers
    with the upstream reader (``official_sc``: ``viescore`` for GEdit, ``comfymind`` for Reason-Edit's SC;
    PQ is always VIEScore's); either way each answer is also read by the other parser and compared.
    """
    chosen = context_judge(ctx)
    if chosen is None:
        return []
    judge, prompt_file, params = chosen
    from genlens.judges.official import parse_mode

    mode = parse_mode(params)
    sc_template, pq_template = load_templates(prompt_file, params.get("pq_prompt"))
    return [sc_scorer(judge, sc_template, name=f"{name_prefix}_sc", version=version, sc_inputs=sc_inputs,
                      mode=mode, official_reader=official_sc),
            pq_scorer(judge, pq_template, name=f"{name_prefix}_pq", version=version, pq_input=pq_input, mode=mode)]


#: ``--scorer-arg`` keys the editing suites read themselves (not passed on to the judge).
SUITE_SCORER_ARGS = ("pq_prompt", "parse")


def readers(labels: tuple[str, str], mode: str, official_reader: str) -> tuple[Any, str, Any, str]:
    """(parse, parser id, check parse, check id): the chosen reader first, the other one as the check."""
    from genlens.judges import official

    upstream = official.comfymind if official_reader == "comfymind" else official.viescore

    def strict(raw: str) -> dict[str, int] | None:
        return parse_pair(raw, labels)

    def upstream_reader(raw: str) -> dict[str, Any] | None:
        return upstream(raw, labels)

    pair = [(strict, "edit-pair"), (upstream_reader, f"edit-pair-official-{official_reader}")]
    if mode == "official":
        pair.reverse()
    return pair[0][0], pair[0][1], pair[1][0], pair[1][1]


def parser_note(mode: str, official_sc: str) -> str:
    """Which reader turned the judge's answers into scores (for provenance)."""
    source = ("ComfyMind's json.loads('{' + answer + '}') for SC, VIEScore's mllm_output_to_dict for PQ"
              if official_sc == "comfymind" else "VIEScore's mllm_output_to_dict")
    if mode == "official":
        return (f"parse=official: {source}; one score, several, floats and values over 10 kept as upstream keeps them, "
                "sub-score = min of the list; unreadable answers are left unread (upstream guesses a random score)")
    return ("parse=genlens (strict): exactly two integer scores 0-10 per question; --scorer-arg parse=official reads "
            f"answers as upstream does ({source})")


def configured_judge(ctx: Any) -> str | None:
    """The judge spec this scoring uses: ``--judge``, else the one remembered in ``<run>/judge.json``."""
    if ctx.judge:
        return str(ctx.judge)
    try:
        stored = json.loads((Path(ctx.run_dir) / "judge.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stored.get("judge") or None


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
              sc_inputs: Callable[[Any], tuple[str, list[bytes]]], mode: str = "genlens",
              official_reader: str = "viescore") -> Any:
    """A judged scorer asking the SC question; scores are ``edit_success`` and ``over_editing``."""
    from genlens.judges.base import JudgeRequest
    from genlens.judges.scorer import JudgeScorer

    def build(inp: Any, tmpl: Any) -> Any:
        instruction, images = sc_inputs(inp)
        system, text = tmpl.render(instruction=instruction)
        return JudgeRequest(system=system, text=text, images=images)

    parse, parser_id, check, check_id = readers(SC_LABELS, mode, official_reader)
    return JudgeScorer(name=name, version=version, judge=judge, template=template, build=build,
                       parse=parse, parser_id=parser_id, check_parse=check, check_parser_id=check_id)


def pq_scorer(judge: Any, template: Any, *, name: str, version: str, pq_input: Callable[[Any], list[bytes]],
              mode: str = "genlens") -> Any:
    """A judged scorer asking the PQ question; scores are ``naturalness`` and ``artifacts``."""
    from genlens.judges.base import JudgeRequest
    from genlens.judges.scorer import JudgeScorer

    def build(inp: Any, tmpl: Any) -> Any:
        system, text = tmpl.render()
        return JudgeRequest(system=system, text=text, images=pq_input(inp))

    parse, parser_id, check, check_id = readers(PQ_LABELS, mode, "viescore")
    return JudgeScorer(name=name, version=version, judge=judge, template=template, build=build,
                       parse=parse, parser_id=parser_id, check_parse=check, check_parser_id=check_id)
