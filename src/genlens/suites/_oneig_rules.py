"""OneIG-Bench's scoring rules, as the official scripts compute them (OneIG-Bench/OneIG-Benchmark @ 41b4983).

Pure functions, one per rule, each tested with hand-worked cases (tests/t2i2026/test_oneig_rules.py):

- grid geometry: an ``m,n`` grid is cut into tiles of ``width // m`` × ``height // n`` pixels,
  row by row (left to right, top to bottom); a tile whose pixels are all exactly black is dropped
  (upstream's generation script pastes black tiles where a sample failed);
- alignment: per tile, question ``q`` scores 1 when the answer is exactly ``"Yes"``; a question any
  of whose parents (dependency ids other than 0) scored 0 is set to 0 — one level, from the raw
  answers, not transitively; the tile scores the mean over the questions; the prompt the mean
  over its tiles; the dimension the mean over prompts (pooled over categories);
- text: OCR output cleaned of two hallucination markers, both strings normalised, character
  Levenshtein distance ED, completion CR = [ED == 0], word (EN) or character (ZH) multiset matches;
  ED and CR are means over every tile, WAC = Σ matches / Σ ground-truth units, and
  text score = 1 − min(MAX, ED)·(1 − CR)·(1 − WAC) / MAX with MAX = 100 (EN) or 50 (ZH);
- style: per tile, max(max cosine to the style's reference embeddings, 0) for each of the two
  encoders, averaged; prompt = mean over tiles; dimension = mean over prompts;
- diversity: per prompt, the mean pairwise distance (1 − cosine) between its tiles (prompts with
  fewer than two tiles are skipped); per category and overall = mean over prompts;
- reasoning: per tile, the cosine between the image and the reference answer; prompt = mean over
  tiles; dimension = mean over prompts.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from genlens.errors import SpecError
from genlens.scorers.ocr import levenshtein as edit_distance  # character Levenshtein, shared with cvtg and tiif

YES = "Yes"
#: The alignment question as the official inferencer phrases it ({question} is the upstream question).
ALIGNMENT_TEMPLATE = "{question}. Please answer 'Yes' or 'No' only."
#: Substrings the official text scorer deletes from OCR output before comparing.
OCR_HALLUCINATIONS = ("addCriterion", "No text recognized.")
MAX_EDIT_DISTANCE = {"en": 100, "zh": 50}
#: Ground truths longer than this many words get the longer OCR answer budget (256 tokens, else 128).
LONG_TEXT_WORDS = 60

_CHINESE = re.compile("[\u4e00-\u9fff]")
_KEEP = re.compile(r"[^\u4e00-\u9fa5a-zA-Z0-9\sàâäéèêëîïôöùûüçÀÂÄÉÈÊËÎÏÔÖÙÛÜÇ]")
_KEEP_ZH = re.compile(r"[\u4e00-\u9fa5a-zA-Z0-9àâäéèêëîïôöùûüçÀÂÄÉÈÊËÎÏÔÖÙÛÜÇ]")


# -- grids -----------------------------------------------------------------------------------------
def parse_grid(text: str) -> tuple[int, int]:
    """``"2,2"`` -> (2, 2): (width divisor, height divisor), as upstream's ``--image_grid``."""
    parts = [p.strip() for p in str(text).replace("x", ",").split(",")]
    try:
        cols, rows = int(parts[0]), int(parts[-1])
    except ValueError:
        cols = rows = 0
    if not (1 <= cols <= 16 and 1 <= rows <= 16):
        raise SpecError(f"grid {text!r} is not two whole numbers 1-16", fix="use --suite-arg grid=2,2 (a 2×2 grid) or grid=1,1 (one image)")
    return cols, rows


def grid_boxes(width: int, height: int, cols: int, rows: int) -> list[tuple[int, int, int, int]]:
    """Crop boxes (left, top, right, bottom) of an ``cols × rows`` grid, row by row; remainders are cut off."""
    tile_w, tile_h = width // cols, height // rows
    return [(c * tile_w, r * tile_h, (c + 1) * tile_w, (r + 1) * tile_h) for r in range(rows) for c in range(cols)]


def is_black(tile: Image.Image) -> bool:
    """Every pixel exactly (0, 0, 0) (compared in RGB)."""
    return not np.asarray(tile.convert("RGB")).any()


def split_grid(image: Image.Image, cols: int, rows: int) -> tuple[list[Image.Image], int]:
    """(non-black RGB tiles in grid order, number of black tiles dropped)."""
    rgb = image.convert("RGB")
    tiles, black = [], 0
    for box in grid_boxes(rgb.width, rgb.height, cols, rows):
        tile = rgb.crop(box)
        if is_black(tile):
            black += 1
        else:
            tiles.append(tile)
    return tiles, black


def tile_jpeg(tile: Image.Image) -> bytes:
    """The tile as the official scripts hand it to their models: saved as a ``.jpg`` (Pillow's default quality 75)."""
    buffer = io.BytesIO()
    tile.convert("RGB").save(buffer, format="JPEG")
    return buffer.getvalue()


# -- alignment -------------------------------------------------------------------------------------
def answer_scores(answers: Mapping[int, str]) -> dict[int, float]:
    """1.0 for an answer that is exactly ``"Yes"``, else 0.0 (upstream's ``ans == "Yes"``)."""
    return {qid: float(answer == YES) for qid, answer in answers.items()}


def filtered_scores(scores: Mapping[int, float], dependencies: Mapping[int, Sequence[int]]) -> dict[int, float]:
    """Zero every question with a parent (not 0) whose raw score is 0; parents absent from ``scores`` are ignored."""
    out = dict(scores)
    for qid, parents in dependencies.items():
        if qid in out and any(p != 0 and scores.get(p) == 0 for p in parents):
            out[qid] = 0.0
    return out


def tile_alignment(answers: Mapping[int, str], dependencies: Mapping[int, Sequence[int]]) -> float:
    """Mean filtered score over the tile's questions."""
    filtered = filtered_scores(answer_scores(answers), dependencies)
    return sum(filtered.values()) / len(filtered)


# -- text ------------------------------------------------------------------------------------------
def contains_chinese(text: str) -> bool:
    return bool(_CHINESE.search(text))


def normalise_text(text: str) -> str:
    """Upstream's ``preprocess_string``: drop punctuation; Chinese text also loses its spaces, other text has
    runs of whitespace collapsed to one space."""
    cleaned = _KEEP.sub("", text)
    if contains_chinese(cleaned):
        return "".join(_KEEP_ZH.findall(text)).strip()
    return re.sub(r"\s+", " ", cleaned).strip()


def clean_ocr(text: str) -> str:
    """Delete upstream's hallucination markers from one OCR answer."""
    for marker in OCR_HALLUCINATIONS:
        text = text.replace(marker, "").replace(f"\n{marker}", "").replace(f"{marker}\n", "")
    return text



def unit_matches(truth: str, ocr: str) -> tuple[int, int]:
    """(matched units, ground-truth units): characters when the truth holds Chinese, else words; multiset overlap."""
    if contains_chinese(truth):
        gt, got = Counter(truth), Counter(ocr)
    else:
        gt, got = Counter(truth.split()), Counter(ocr.split())
    return sum((gt & got).values()), sum(gt.values())


@dataclass(frozen=True)
class TextTile:
    """One tile's text metrics against its prompt's ground truth."""

    distance: int
    complete: int
    matched: int
    truth_units: int

    @property
    def word_accuracy(self) -> float:
        return self.matched / self.truth_units if self.truth_units else 0.0


def text_tile(ocr: str, truth: str) -> TextTile:
    """ED, CR and matches of one OCR answer against the ground-truth string (both normalised first)."""
    got, want = normalise_text(clean_ocr(ocr)), normalise_text(truth)
    distance = edit_distance(got, want)
    matched, units = unit_matches(want, got)
    return TextTile(distance, int(distance == 0), matched, units)


def text_totals(tiles: Sequence[TextTile], lang: str) -> dict[str, float] | None:
    """ED, CR, WAC and the text score over every tile of the run (None without tiles)."""
    if not tiles:
        return None
    cap = MAX_EDIT_DISTANCE[lang]
    ed = sum(t.distance for t in tiles) / len(tiles)
    cr = sum(t.complete for t in tiles) / len(tiles)
    units = sum(t.truth_units for t in tiles)
    wac = sum(t.matched for t in tiles) / units if units else 0.0
    return {"ED": ed, "CR": cr, "WAC": wac, "text": 1 - min(cap, ed) * (1 - cr) * (1 - wac) / cap}


def ocr_token_budget(truth: str) -> int:
    """Upstream's max_new_tokens for the OCR answer: 256 when the truth has more than 60 words, else 128."""
    return 256 if len(truth.split()) > LONG_TEXT_WORDS else 128


# -- style, diversity, reasoning -------------------------------------------------------------------
def style_tile(csd_similarities: Sequence[float], se_similarities: Sequence[float]) -> float:
    """(max(max CSD cosine, 0) + max(max style-encoder cosine, 0)) / 2."""
    return (max(max(csd_similarities), 0.0) + max(max(se_similarities), 0.0)) / 2


def style_label(raw: str) -> str | None:
    """The reference-style key of a prompt's class: lower case, spaces to underscores; None for no style."""
    text = str(raw or "").strip()
    if not text or text.lower().startswith("nan"):
        return None
    return text.lower().replace(" ", "_")


def pairwise_distance_mean(embeddings: Sequence[Sequence[float]]) -> float | None:
    """Mean of 1 − cosine over every unordered pair of tiles (None for fewer than two)."""
    if len(embeddings) < 2:
        return None
    matrix = np.asarray(embeddings, dtype=np.float64)
    matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    sims = matrix @ matrix.T
    upper = np.triu_indices(len(matrix), k=1)
    return float(np.mean(1.0 - sims[upper]))


def mean(values: Sequence[float]) -> float | None:
    return float(sum(values) / len(values)) if values else None
