"""Published numbers (package data) that runs are reported beside, and the map from suites/categories to them.

Two sources:

- GPT-ImgEval's tables (``data/anchors/gpt-imgeval/published_numbers.json``, a hand transcription kept
  byte-identical to the shared research copy), mapped to suites by :data:`SUITE_TABLES` below; GPT-4o's row is
  the reference that differences are computed against.
- Every other ``data/anchors/<dir>/published_numbers.json`` that has a ``"tables"`` block. Such a file declares
  which suites each table serves, so adding a benchmark's published numbers needs no code change::

    {
      "_about": "what this is, who transcribed it, from where",
      "tables": {
        "dpg_bench_ella_table": {                      # unique across all anchor files
          "suites": ["dpg-bench"],                     # suites whose runs stand beside this table
          "match": {"extra.prompt_set": "long"},       # optional: dotted path in results.json -> required value
          "title": "DPG-Bench (ELLA, Table 2)",
          "paper": "ELLA (arXiv 2403.05135)",
          "metric": "DPG score, 0-100, mean over prompts",
          "source": "README of TencentQQGYLab/ELLA @ <commit>, table 'DPG-Bench'",
          "caveat": "",                                # optional: shown under the table
          "reference": null,                           # optional: a row's model name to compute differences against
          "category_aliases": {"global": "global"},    # optional: run category (normalised) -> column
          "metric_columns": {"ned": "ned"},            # optional: results.json metric -> column (explicit only)
          "columns": ["overall", "global", "entity"],  # optional: default = keys of the first row
          "rows": [{"model": "SDXL", "group": "diffusion", "architecture_label": "Diffusion",
                    "overall": 74.65, "global": 83.27, "entity": 82.43}]
        }
      }
    }

  Values are on the scale the suite's headline uses (a suite reporting 0-1 needs a 0-1 table). A run's
  category maps to a column through ``category_aliases`` or, failing that, when its normalised name is a
  column. With several tables for one suite the first whose ``match`` holds is used (files in name order,
  tables in file order). Each directory keeps a ``SOURCE.md`` saying where every number was read.
"""

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
    paper: str = PAPER
    reference_model: str | None = "GPT-4o"  # differences are computed against this row; None: no differences
    aliases: tuple[tuple[str, str], ...] = ()  # declared run category -> column (declarative tables)
    suites: tuple[str, ...] = ()
    match: tuple[tuple[str, str], ...] = ()
    metric_columns: tuple[tuple[str, str], ...] = ()  # results.json metric -> column, declared per table

    @property
    def reference(self) -> AnchorRow | None:
        """The row runs are compared against (GPT-ImgEval: GPT-4o, spelled GPT-4o or GPT4o), or None."""
        if self.reference_model is None:
            return None
        want = self.reference_model.replace("-", "").lower()
        for row in self.rows:
            if row.model.replace("-", "").lower() == want:
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


def _declared_table(key: str, block: dict[str, Any], where: str) -> AnchorTable:
    """A table from a declarative anchors file (format in the module docstring); a malformed one raises."""
    try:
        rows_in = block["rows"]
        columns = tuple(block.get("columns") or ("overall", *(k for k in rows_in[0]
                                                                if k not in {"model", "architecture_label", "group", "overall"})))
        rows = tuple(AnchorRow(model=str(r["model"]), group=str(r.get("group", "")),
                               architecture=str(r.get("architecture_label", "")),
                               values={col: (float(r[col]) if r.get(col) is not None else None) for col in columns})
                     for r in rows_in)
        return AnchorTable(
            key=key, title=str(block["title"]), metric=str(block.get("metric", "")), source=str(block["source"]),
            caveat=str(block.get("caveat", "")), columns=columns, rows=rows, paper=str(block["paper"]),
            reference_model=block.get("reference"),
            aliases=tuple((normalise_category(k), str(v)) for k, v in (block.get("category_aliases") or {}).items()),
            suites=tuple(str(s) for s in block["suites"]),
            match=tuple((str(k), str(v)) for k, v in (block.get("match") or {}).items()),
            metric_columns=tuple((str(k), str(v)) for k, v in (block.get("metric_columns") or {}).items()))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: anchor table {key!r} is malformed ({type(exc).__name__}: {exc})") from exc


@cache
def declared_tables() -> tuple[AnchorTable, ...]:
    """Every table of every ``data/anchors/<dir>/published_numbers.json`` with a ``tables`` block, in name order."""
    root = resources.files("genlens").joinpath("data/anchors")
    tables: list[AnchorTable] = []
    seen: set[str] = set(SUITE_TABLES.values())
    for directory in sorted((d for d in root.iterdir() if d.is_dir()), key=lambda d: d.name):
        file = directory.joinpath("published_numbers.json")
        if not file.is_file():
            continue
        data = json.loads(file.read_text(encoding="utf-8"))
        for key, block in (data.get("tables") or {}).items():
            if key in seen:
                raise ValueError(f"data/anchors/{directory.name}: anchor table {key!r} is declared twice")
            seen.add(key)
            tables.append(_declared_table(key, block, f"data/anchors/{directory.name}/published_numbers.json"))
    return tuple(tables)


@cache
def anchor_table(key: str) -> AnchorTable:
    """One published table by its key (a GPT-ImgEval block name or a declared table's key)."""
    for table in declared_tables():
        if table.key == key:
            return table
    block = published_numbers()[key]
    return _table_from_scores(key, block) if "scores" in block else _table_from_rows(key, block)


def _lookup(result: dict[str, Any], dotted: str) -> Any:
    value: Any = result
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def anchor_for(result: dict[str, Any]) -> AnchorTable | None:
    """The published table comparable with this run's suite, or None (unmatched suites get none)."""
    suite = str(result.get("suite", ""))
    key = SUITE_TABLES.get(suite)
    if key is None:
        for table in declared_tables():
            if suite in table.suites and all(str(_lookup(result, path)) == want for path, want in table.match):
                return table
        return None
    version = str(result.get("suite_version", "")) + str((result.get("extra") or {}).get("version", ""))
    if key.startswith("wise") and "verified" in version.lower():
        return None  # WISE_Verified is a different scale from the paper's legacy WiScore
    return anchor_table(key)


def normalise_category(name: str) -> str:
    """Lower-case, spaces and dashes to underscores: 'Cultural knowledge' -> 'cultural_knowledge'."""
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def anchor_column(table: AnchorTable, run_category: str) -> str | None:
    """The anchor column a run's category maps to (explicit alias table; declared tables also by name), or None."""
    name = normalise_category(run_category)
    if table.key in CATEGORY_ALIASES:
        return CATEGORY_ALIASES[table.key].get(name)
    column = dict(table.aliases).get(name)
    if column is None and name in table.columns and name != "overall":
        column = name
    return column
