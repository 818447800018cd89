"""Published GPT-ImgEval numbers (package data) and the explicit map from our suites/categories to them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

#: Package-data location of the hand-transcribed tables (see the SOURCE.md beside it).
ANCHOR_FILE = "data/anchors/gpt-imgeval/published_numbers.json"
PAPER = "GPT-ImgEval (arXiv 2504.02782)"

#: Our suite name -> block of published_numbers.json that holds the comparable table.
SUITE_TABLES: dict[str, str] = {
    "geneval": "geneval_table1_v3",
    "wise": "wise_table2_v3_full",
    "wise-legacy": "wise_table2_v3_full",
    "reason-edit": "reason_edit_fig4",
}

#: Per anchor block: normalised run category key -> the anchor's column key.
CATEGORY_ALIASES: dict[str, dict[str, str]] = {
    "geneval_table1_v3": {
        "single_object": "single_object", "single": "single_object",
        "two_object": "two_object", "two_objects": "two_object",
        "counting": "counting",
        "colors": "colors", "color": "colors", "colours": "colors", "colour": "colors",
        "position": "position",
        "color_attr": "color_attr", "colour_attr": "color_attr", "attribute_binding": "color_attr",
    },
    "wise_table2_v3_full": {
        "cultural": "cultural", "culture": "cultural", "cultural_knowledge": "cultural",
        "cultural_common_sense": "cultural",
        "time": "time", "space": "space",
        "biology": "biology", "physics": "physics", "chemistry": "chemistry",
    },
    "reason_edit_fig4": {},
}

_TITLES = {
    "geneval_table1_v3": "GenEval (Table 1, v3)",
    "wise_table2_v3_full": "WISE, legacy normalized WiScore (Table 2, all 1000 prompts)",
    "reason_edit_fig4": "Reason-Edit GPT-4o-judge score (Fig. 4)",
}
_CAVEATS = {
    "geneval_table1_v3": "TokenFlow-XL's printed overall (0.55) is not the mean of its six tasks (0.528); kept as printed.",
    "wise_table2_v3_full": "Legacy WISE with the GPT-4o judge; WISE_Verified (binary, open judge) scores are not comparable.",
    "reason_edit_fig4": "Bar values read from the figure; baselines equal GoT (arXiv 2503.10639) Table 2.",
}


@dataclass(frozen=True)
class AnchorRow:
    """One published model row: values keyed by anchor column (``overall`` plus categories)."""

    model: str
    group: str
    architecture: str
    values: dict[str, float | None]


@dataclass(frozen=True)
class AnchorTable:
    """A published table that a suite's runs can stand beside."""

    key: str
    title: str
    metric: str
    source: str
    caveat: str
    columns: tuple[str, ...]  # "overall" first, then the paper's category order
    rows: tuple[AnchorRow, ...]

    @property
    def reference(self) -> AnchorRow | None:
        """GPT-4o's row (spelled GPT-4o or GPT4o in the paper), the row runs are compared against."""
        for row in self.rows:
            if row.model.replace("-", "").lower() == "gpt4o":
                return row
        return None


@cache
def published_numbers() -> dict[str, Any]:
    """The raw transcription shipped as package data."""
    text = resources.files("genlens").joinpath(ANCHOR_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _table_from_rows(key: str, block: dict[str, Any]) -> AnchorTable:
    first = block["rows"][0]
    skip = {"model", "architecture_label", "group", "overall"}
    categories = tuple(k for k in first if k not in skip)
    rows = tuple(
        AnchorRow(model=r["model"], group=r.get("group", ""), architecture=r.get("architecture_label", ""),
                  values={col: r.get(col) for col in ("overall", *categories)})
        for r in block["rows"]
    )
    return AnchorTable(key=key, title=_TITLES[key], metric=block.get("metric", ""), source=block.get("source", ""),
                       caveat=_CAVEATS[key], columns=("overall", *categories), rows=rows)


def _table_from_scores(key: str, block: dict[str, Any]) -> AnchorTable:
    rows = tuple(AnchorRow(model=name, group="GPT-4o" if name == "GPT-4o" else "baseline", architecture="",
                           values={"overall": value}) for name, value in block["scores"].items())
    return AnchorTable(key=key, title=_TITLES[key], metric=block.get("metric", ""), source=block.get("source", ""),
                       caveat=_CAVEATS[key], columns=("overall",), rows=rows)


@cache
def anchor_table(key: str) -> AnchorTable:
    """One published table by its block name in published_numbers.json."""
    block = published_numbers()[key]
    return _table_from_scores(key, block) if "scores" in block else _table_from_rows(key, block)


def anchor_for(result: dict[str, Any]) -> AnchorTable | None:
    """The published table comparable with this run's suite, or None (unmatched suites get none)."""
    suite = str(result.get("suite", ""))
    key = SUITE_TABLES.get(suite)
    if key is None:
        return None
    version = str(result.get("suite_version", "")) + str((result.get("extra") or {}).get("version", ""))
    if key.startswith("wise") and "verified" in version.lower():
        return None  # WISE_Verified is a different scale from the paper's legacy WiScore
    return anchor_table(key)


def normalise_category(name: str) -> str:
    """Lower-case, spaces and dashes to underscores: 'Cultural knowledge' -> 'cultural_knowledge'."""
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def anchor_column(table: AnchorTable, run_category: str) -> str | None:
    """The anchor column a run's category maps to (explicit alias table), or None."""
    return CATEGORY_ALIASES[table.key].get(normalise_category(run_category))
