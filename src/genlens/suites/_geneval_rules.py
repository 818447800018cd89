"""GenEval's per-image rules as pure functions (no models), so every rule is testable by hand.

The protocol (djghosh13/geneval @ af4902f2, evaluation/evaluate_images.py and summary_scores.py),
restated in genlens's own code:

- per class: sort detections by score (ascending stable argsort, reversed), keep score > 0.3
  (> 0.9 in ``counting`` images, for every class) compared in float32, keep at most 16, no NMS;
- include clauses (AND): the top-``count`` detections of the class must exist, have the requested
  colour (CLIP), and stand in the requested relation to every detection of the referenced clause;
- exclude clauses: fail when ``count`` or more detections of the class were kept;
- per tag: mean of ``correct`` over images; overall: unweighted mean of the 6 tag scores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

THRESHOLD = 0.3
COUNTING_THRESHOLD = 0.9
MAX_OBJECTS = 16
POSITION_THRESHOLD = 0.1
#: Below this magnitude both shrunk offset components mean "no relation at all".
ZERO_OFFSET = 1e-3
RELATION_CUTOFF = 0.5
COLORS: tuple[str, ...] = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white")
COLOR_TEMPLATES: tuple[str, ...] = ("a photo of a {color} {object}", "a photo of a {color}-colored {object}",
                                    "a photo of a {color} object")
BACKGROUND_GREY = (153, 153, 153)  # "#999"
TAGS: tuple[str, ...] = ("single_object", "two_object", "counting", "colors", "position", "color_attr")


@dataclass
class Detection:
    """One detected instance: ``box`` = (x1, y1, x2, y2) in pixels, ``score``, optional boolean ``mask`` (H, W)."""

    box: tuple[float, float, float, float]
    score: float
    mask: np.ndarray | None = None
    label: str = ""

    def official_box(self) -> list[float]:
        """The box as GenEval's ``details`` list it: [x1, y1, x2, y2, score]."""
        return [float(v) for v in self.box] + [float(self.score)]


@dataclass
class Verdict:
    """The outcome for one image: ``correct``, the official reason text, and structured failures."""

    correct: bool
    reason: str
    failures: list[dict[str, Any]] = field(default_factory=list)
    colors: dict[str, list[str]] = field(default_factory=dict)  # class -> predicted colours of its top-count


ColorClassifier = Callable[[str, Sequence[Detection]], list[str]]


def score_threshold(tag: str) -> float:
    """The confidence a detection must exceed in an image of this tag (strictly greater, in float32)."""
    return COUNTING_THRESHOLD if tag == "counting" else THRESHOLD


def rank_and_keep(scores: Sequence[float], threshold: float, limit: int = MAX_OBJECTS) -> list[int]:
    """Indices of the kept detections, best first, exactly as upstream orders and thresholds them.

    Upstream holds the scores as a float32 array and writes ``np.argsort(scores)[::-1]`` followed by
    ``scores[order] > threshold``: the comparison runs in float32 (numpy casts the Python threshold
    to the array's dtype), so a score equal to float32(0.3) = 0.30000001192… is *not* kept although
    it is above 0.3 in float64; and the ascending sort reversed puts, among equal scores, the
    detection listed later first (numpy's argsort is stable for the ≤ 16 entries a class usually has).
    """
    values = np.asarray(scores, dtype=np.float32)
    order = np.argsort(values, kind="stable")[::-1]
    order = order[values[order] > np.float32(threshold)]
    return [int(i) for i in order[:limit]]


def filter_detections(by_class: Mapping[str, Iterable[Detection]], tag: str) -> dict[str, list[Detection]]:
    """Per class: highest score first, keep score > threshold (float32), at most 16; empty classes dropped."""
    threshold = score_threshold(tag)
    kept: dict[str, list[Detection]] = {}
    for name, detections in by_class.items():
        listed = list(detections)
        ranked = [listed[i] for i in rank_and_keep([d.score for d in listed], threshold)]
        if ranked:
            kept[name] = ranked
    return kept


def relative_position(a: Detection, b: Detection) -> set[str]:
    """Every relation that holds for A relative to B (image y grows downward); empty when centred.

    offset = centre(A) - centre(B); per axis shrink it toward zero by 0.1 × (size_A + size_B)
    (clamped at zero); divide the shrunk offset by the norm of the *original* offset; a component
    beyond ±0.5 names a relation.
    """
    ax1, ay1, ax2, ay2 = a.box
    bx1, by1, bx2, by2 = b.box
    offset = np.array([(ax1 + ax2) / 2 - (bx1 + bx2) / 2, (ay1 + ay2) / 2 - (by1 + by2) / 2], dtype=float)
    margin = POSITION_THRESHOLD * np.array([abs(ax2 - ax1) + abs(bx2 - bx1), abs(ay2 - ay1) + abs(by2 - by1)], dtype=float)
    shrunk = np.sign(offset) * np.maximum(np.abs(offset) - margin, 0.0)
    if np.all(np.abs(shrunk) < ZERO_OFFSET):
        return set()
    dx, dy = shrunk / np.linalg.norm(offset)
    relations = set()
    if dx < -RELATION_CUTOFF:
        relations.add("left of")
    if dx > RELATION_CUTOFF:
        relations.add("right of")
    if dy < -RELATION_CUTOFF:
        relations.add("above")
    if dy > RELATION_CUTOFF:
        relations.add("below")
    return relations


def _relations_text(relations: set[str]) -> str:
    return " and ".join(sorted(relations))


def _color_failure(clause: dict[str, Any], colors: list[str]) -> tuple[str, dict[str, Any]]:
    name, wanted, count = clause["class"], clause["color"], clause["count"]
    hits = colors.count(wanted)
    tally = ", ".join(f"{colors.count(c)} {c}" for c in COLORS if c in colors)
    text = f"expected {wanted} {name}>={count}, found {hits} {wanted}; and {tally}"
    others = [c for c in colors if c != wanted]
    return text, {"kind": "wrong_color", "class": name, "expected": wanted, "found": others[0] if others else wanted}


def _position_failures(
    clause: dict[str, Any], found: Sequence[Detection], target: Sequence[Detection] | None
) -> tuple[str, dict[str, Any]] | None:
    """The first (A, B) pair that misses the expected relation, or None when all pairs hold."""
    name = clause["class"]
    expected, _group = clause["position"]
    if target is None:
        return f"no target for {name} to be {expected}", {"kind": "no_position_target", "class": name, "expected": expected}
    for obj in found:
        for ref in target:
            relations = relative_position(obj, ref)
            if expected not in relations:
                text = f"expected {name} {expected} target, found {_relations_text(relations)} target"
                got = _relations_text(relations) or "none"
                return text, {"kind": "wrong_relation", "class": name, "expected": expected, "found": got}
    return None


def evaluate_image(kept: Mapping[str, Sequence[Detection]], metadata: Mapping[str, Any],
                   classify_colors: ColorClassifier | None = None) -> Verdict:
    """Apply the include and exclude clauses of one prompt to the kept detections of one image.

    ``classify_colors(class_name, detections)`` returns one colour name per detection; it is called
    only for the top-``count`` detections of a coloured clause that has enough of them.
    """
    correct = True
    reasons: list[str] = []
    failures: list[dict[str, Any]] = []
    colors_seen: dict[str, list[str]] = {}
    groups: list[Sequence[Detection] | None] = []
    for clause in metadata.get("include", []):
        name, count = clause["class"], clause["count"]
        found = list(kept.get(name, []))[:count]
        matched = True
        if len(found) < count:
            matched = False
            reasons.append(f"expected {name}>={count}, found {len(found)}")
            kind = "missing_object" if not found else "count_off"
            failures.append({"kind": kind, "class": name, "expected": count, "found": len(found)})
        else:
            if "color" in clause:
                if classify_colors is None:
                    raise ValueError("a colour clause needs a colour classifier")
                colors = list(classify_colors(name, found))
                colors_seen[name] = colors
                if colors.count(clause["color"]) < count:
                    matched = False
                    text, failure = _color_failure(clause, colors)
                    reasons.append(text)
                    failures.append(failure)
            if "position" in clause and matched:
                missed = _position_failures(clause, found, groups[clause["position"][1]])
                if missed is not None:
                    matched = False
                    reasons.append(missed[0])
                    failures.append(missed[1])
        correct = correct and matched
        groups.append(found if matched else None)
    for clause in metadata.get("exclude", []):
        name, count = clause["class"], clause["count"]
        present = len(kept.get(name, []))
        if present >= count:
            correct = False
            reasons.append(f"expected {name}<{count}, found {present}")
            failures.append({"kind": "count_off", "class": name, "expected": count - 1, "found": present})
    return Verdict(correct=correct, reason="\n".join(reasons), failures=failures, colors=colors_seen)


def color_requests(kept: Mapping[str, Sequence[Detection]], metadata: Mapping[str, Any]) -> list[tuple[str, list[Detection]]]:
    """The (class, top-``count`` detections) whose colour :func:`evaluate_image` will ask for.

    Lets a scorer classify all crops of a batch in one CLIP pass before evaluating.
    """
    wanted = []
    for clause in metadata.get("include", []):
        found = list(kept.get(clause["class"], []))[:clause["count"]]
        if "color" in clause and len(found) >= clause["count"]:
            wanted.append((clause["class"], found))
    return wanted


def color_crop_box(box: Sequence[float]) -> tuple[int, int, int, int]:
    """The pixel box a float detection box crops to (Pillow rounds each coordinate, half to even)."""
    x1, y1, x2, y2 = (round(float(v)) for v in box[:4])
    return int(x1), int(y1), int(x2), int(y2)


def color_crop(image_rgb: np.ndarray, detection: Detection) -> np.ndarray:
    """Object pixels kept, all others flat #999999, then cropped to the detection box (H, W, 3 uint8).

    Parts of the box outside the image come out black, as a Pillow crop does.
    """
    composite = image_rgb
    if detection.mask is not None:
        if detection.mask.shape != image_rgb.shape[:2]:
            raise ValueError(f"mask shape {detection.mask.shape} does not match image {image_rgb.shape[:2]}")
        composite = np.where(detection.mask[..., None], image_rgb, np.array(BACKGROUND_GREY, dtype=np.uint8))
    x1, y1, x2, y2 = color_crop_box(detection.box)
    height, width = composite.shape[:2]
    out = np.zeros((max(0, y2 - y1), max(0, x2 - x1), 3), dtype=np.uint8)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, width), min(y2, height)
    if sx2 > sx1 and sy2 > sy1:
        out[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = composite[sy1:sy2, sx1:sx2]
    return out


# ----------------------------------------------------------------------------------------------
# aggregation
# ----------------------------------------------------------------------------------------------
def tag_scores(rows: Iterable[tuple[str, bool]]) -> dict[str, float]:
    """Per tag: the mean of ``correct`` over its images (image level, not prompt level)."""
    totals: dict[str, list[int]] = {}
    for tag, correct in rows:
        entry = totals.setdefault(tag, [0, 0])
        entry[0] += int(bool(correct))
        entry[1] += 1
    return {tag: hits / count for tag, (hits, count) in totals.items()}


def overall_score(per_tag: Mapping[str, float]) -> float | None:
    """GenEval's headline: the unweighted mean of the per-tag scores (None when no tag has images)."""
    values = list(per_tag.values())
    return float(np.mean(values)) if values else None


def prompt_scores(rows: Iterable[tuple[str, bool]]) -> dict[str, float | None]:
    """Prompt level: share of prompts with *any* image correct (official side number) and with *all* correct."""
    by_prompt: dict[str, list[bool]] = {}
    for prompt_key, correct in rows:
        by_prompt.setdefault(prompt_key, []).append(bool(correct))
    if not by_prompt:
        return {"any_of_k": None, "all_of_k": None}
    return {
        "any_of_k": float(np.mean([any(v) for v in by_prompt.values()])),
        "all_of_k": float(np.mean([all(v) for v in by_prompt.values()])),
    }


def failure_histogram(failures: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Counts of failure reasons: missing object, count off by how much, colour seen instead, relation seen instead."""
    hist: dict[str, dict[str, int]] = {"missing_object": {}, "count_off": {}, "wrong_color": {},
                                       "wrong_relation": {}, "no_position_target": {}, "refused": {}}
    for failure in failures:
        kind = failure["kind"]
        if kind == "count_off":
            key = f"{failure['found'] - failure['expected']:+d}"
        elif kind in ("wrong_color", "wrong_relation"):
            key = f"{failure['expected']} -> {failure['found']}"
        elif kind == "refused":
            key = "refused"
        else:
            key = str(failure.get("class", ""))
        bucket = hist.setdefault(kind, {})
        bucket[key] = bucket.get(key, 0) + 1
    return {kind: dict(sorted(bucket.items())) for kind, bucket in hist.items()}


def stratified_prompt_bootstrap(groups: Mapping[str, Sequence[Sequence[bool]]], *, resamples: int = 2000,
                                confidence: float = 0.95, seed: int = 0) -> dict[str, list[float]]:
    """95% intervals for each tag score and the overall score, resampling prompts within each tag.

    ``groups`` maps tag -> one list of image verdicts per prompt. Images of one prompt move together
    (they share the prompt, so they are not independent draws). A tag with fewer than
    :data:`genlens.stats.MIN_BOOTSTRAP_UNITS` prompts gets no interval, and then neither does the
    overall (see :func:`interval_note`). Own loop: scipy's bootstrap cannot resample clusters within strata.
    """
    from genlens.stats import MIN_BOOTSTRAP_UNITS

    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    per_tag: dict[str, np.ndarray] = {}
    short = False
    for tag, prompts in groups.items():
        hits = np.array([sum(map(bool, p)) for p in prompts], dtype=float)
        sizes = np.array([len(p) for p in prompts], dtype=float)
        if sizes.sum() == 0:
            continue
        if len(prompts) < MIN_BOOTSTRAP_UNITS:
            short = True
            continue
        idx = rng.integers(0, len(prompts), size=(resamples, len(prompts)))
        per_tag[tag] = hits[idx].sum(axis=1) / np.maximum(sizes[idx].sum(axis=1), 1)
    out = {tag: [float(np.quantile(v, alpha)), float(np.quantile(v, 1 - alpha))] for tag, v in per_tag.items()}
    if per_tag and not short:
        overall = np.mean(np.stack(list(per_tag.values())), axis=0)
        out["overall"] = [float(np.quantile(overall, alpha)), float(np.quantile(overall, 1 - alpha))]
    return out


def interval_note(groups: Mapping[str, Sequence[Sequence[bool]]]) -> str | None:
    """Which tags have too few prompts for a bootstrap interval (so the overall has none), or None."""
    from genlens.stats import MIN_BOOTSTRAP_UNITS

    short = sorted(f"{tag} ({len(prompts)})" for tag, prompts in groups.items() if len(prompts) < MIN_BOOTSTRAP_UNITS)
    if not short:
        return None
    return (f"no interval for tags with fewer than {MIN_BOOTSTRAP_UNITS} prompts: {', '.join(short)}; "
            "so none for the overall either")
