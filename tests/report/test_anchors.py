"""Published anchors: package data, suite and category mapping, differences against GPT-4o."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from genlens.report.anchors import anchor_column, anchor_for, anchor_table, normalise_category, published_numbers
from genlens.report.summary import suite_summary


def _shared() -> Path | None:
    env = os.environ.get("GENLENS_SHARED_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[3] / "shared"
    path = root / "anchors" / "gpt-imgeval" / "published_numbers.json"
    return path if path.exists() else None


def test_package_data_is_the_shared_transcription() -> None:
    shared = _shared()
    if shared is None:
        pytest.skip("shared/anchors not present (set GENLENS_SHARED_DIR)")
    assert published_numbers() == json.loads(shared.read_text(encoding="utf-8"))


def test_source_md_ships_beside_the_numbers() -> None:
    from importlib import resources

    text = resources.files("genlens").joinpath("data/anchors/gpt-imgeval/SOURCE.md").read_text(encoding="utf-8")
    assert "hand transcription" in text and "dc765d70da38cc5e3d2ecec89a417cca69aa9046" in text


@pytest.mark.parametrize(("tag", "column"), [
    ("single_object", "single_object"), ("two_object", "two_object"), ("counting", "counting"),
    ("colors", "colors"), ("position", "position"), ("color_attr", "color_attr"), ("Color-Attr", "color_attr"),
])
def test_geneval_tags_map_to_table1_columns(tag: str, column: str) -> None:
    assert anchor_column(anchor_table("geneval_table1_v3"), tag) == column


@pytest.mark.parametrize(("category", "column"), [
    ("cultural", "cultural"), ("Cultural knowledge", "cultural"), ("time", "time"), ("Space", "space"),
    ("biology", "biology"), ("physics", "physics"), ("chemistry", "chemistry"),
])
def test_wise_categories_map_to_table2_columns(category: str, column: str) -> None:
    assert anchor_column(anchor_table("wise_table2_v3_full"), category) == column


def test_unknown_categories_and_suites_get_no_anchor() -> None:
    assert anchor_column(anchor_table("geneval_table1_v3"), "Animal") is None
    assert anchor_for({"suite": "image-props"}) is None
    assert anchor_for({"suite": "wise", "suite_version": "verified-1"}) is None  # different scale
    assert normalise_category(" Cultural  knowledge ") == "cultural_knowledge"


def test_suites_pick_their_tables_and_gpt4o_reference() -> None:
    geneval = anchor_for({"suite": "geneval"})
    assert geneval.columns == ("overall", "single_object", "two_object", "counting", "colors", "position", "color_attr")
    assert geneval.reference.values == {"overall": 0.84, "single_object": 0.99, "two_object": 0.92, "counting": 0.85,
                                        "colors": 0.92, "position": 0.75, "color_attr": 0.61}
    assert anchor_for({"suite": "wise"}).reference.values["overall"] == 0.80
    reason = anchor_for({"suite": "reason-edit"})
    assert reason.columns == ("overall",)
    assert reason.reference.values["overall"] == 0.929
    assert {r.model: r.values["overall"] for r in reason.rows}["SmartEdit"] == 0.572


def test_summary_puts_runs_beside_published_rows_with_differences() -> None:
    result = {"suite": "geneval", "run": "mine", "model": "m", "headline": {"overall": 0.5},
              "categories": {"single_object": {"accuracy": 1.0, "n": 4}, "position": {"accuracy": 0.25, "n": 4},
                             "extra_tag": {"accuracy": 0.5, "n": 2}}}
    summary = suite_summary("geneval", [result])
    run = summary.run_rows[0]
    assert run.values == {"overall": 0.5, "single_object": 1.0, "position": 0.25, "extra_tag": 0.5}
    assert run.deltas["overall"] == pytest.approx(0.5 - 0.84)        # -0.34
    assert run.deltas["single_object"] == pytest.approx(1.0 - 0.99)  # +0.01
    assert run.deltas["position"] == pytest.approx(0.25 - 0.75)      # -0.50
    assert run.deltas["extra_tag"] is None                           # not in the paper's table
    assert summary.columns[-1] == "extra_tag"
    assert summary.reference.label == "GPT-4o"
    assert summary.rows[1].reference                                 # GPT-4o right under the runs
    assert len(summary.anchor_rows) == 23


def test_summary_without_anchor_uses_headline_name() -> None:
    result = {"suite": "image-props", "run": "r", "model": "m", "headline": {"pass_rate": 0.9},
              "categories": {"square": {"pass_rate": 1.0, "exact_size_rate": 0.5, "n": 3}}}
    summary = suite_summary("image-props", [result])
    assert summary.columns == ["pass_rate", "square"]
    assert summary.run_rows[0].values == {"pass_rate": 0.9, "square": 1.0}  # the headline metric, not the first
    assert summary.anchor is None and not summary.anchor_rows


def test_reason_edit_headline_stands_beside_fig4() -> None:
    result = {"suite": "reason-edit", "run": "r", "model": "m", "headline": {"gpt_score": 0.5},
              "categories": {"1-Left-Right": {"gpt_score": 0.6, "psnr": 20.0, "n": 10}}}
    summary = suite_summary("reason-edit", [result])
    run = summary.run_rows[0]
    assert run.values == {"overall": 0.5, "1-Left-Right": 0.6}  # the category's gpt_score, not its PSNR
    assert run.deltas["overall"] == pytest.approx(0.5 - 0.929)  # -0.429
    assert [r.label for r in summary.anchor_rows][:2] == ["GPT-4o", "IP2P"]


def _declared_anchor_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tables: dict) -> None:
    """Point the anchor loader at a copy of the package's anchors plus one declarative file."""
    import shutil
    from importlib import resources

    from genlens.report import anchors

    root = tmp_path / "genlens"
    shutil.copytree(Path(str(resources.files("genlens").joinpath("data/anchors"))), root / "data" / "anchors")
    (root / "data" / "anchors" / "zz-bench").mkdir()
    (root / "data" / "anchors" / "zz-bench" / "published_numbers.json").write_text(json.dumps({"tables": tables}))

    class _Files:
        def files(self, _package: str) -> Path:
            return root

    monkeypatch.setattr(anchors, "resources", _Files())
    anchors.declared_tables.cache_clear()
    anchors.anchor_table.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_anchor_caches() -> Iterator[None]:
    """Tables read from a test's temporary anchors never outlive the test."""
    from genlens.report import anchors

    yield
    anchors.declared_tables.cache_clear()
    anchors.anchor_table.cache_clear()


_TABLE = {"suites": ["zz"], "title": "ZZ (Table 3)", "paper": "ZZ paper (arXiv 0000.00000)", "metric": "score 0-100",
          "source": "README @ abc", "reference": "Ref", "category_aliases": {"Global Scene": "global"},
          "rows": [{"model": "Ref", "group": "closed", "overall": 80.0, "global": 90.0, "entity": 70.0},
                   {"model": "Other", "overall": 60.0, "global": None, "entity": 50.0}]}


def test_declared_table_is_found_by_suite_and_maps_categories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _declared_anchor_dir(tmp_path, monkeypatch, {"zz_table3": _TABLE})
    table = anchor_for({"suite": "zz"})
    assert table is not None and table.key == "zz_table3" and table.paper == "ZZ paper (arXiv 0000.00000)"
    assert table.columns == ("overall", "global", "entity")
    assert anchor_column(table, "global scene") == "global"  # declared alias, after normalising
    assert anchor_column(table, "Entity") == "entity"        # a column by its own name
    assert anchor_column(table, "relation") is None
    assert anchor_for({"suite": "geneval"}).key == "geneval_table1_v3"  # GPT-ImgEval tables unchanged
    # Differences against the declared reference row: run 75 vs Ref 80 -> -5; entity 72 vs 70 -> +2.
    result = {"suite": "zz", "run": "r", "model": "m", "headline": {"overall": 75.0},
              "categories": {"Entity": {"score": 72.0, "n": 3}}}
    summary = suite_summary("zz", [result])
    assert summary.reference is not None and summary.reference.label == "Ref"
    assert summary.run_rows[0].deltas["overall"] == pytest.approx(-5.0)
    assert summary.run_rows[0].deltas["entity"] == pytest.approx(2.0)
    assert [r.label for r in summary.anchor_rows] == ["Ref", "Other"]


def test_declared_table_match_and_no_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    long_table = dict(_TABLE, reference=None, match={"extra.prompt_set": "long"}, title="ZZ long prompts")
    _declared_anchor_dir(tmp_path, monkeypatch, {"zz_long": long_table})
    assert anchor_for({"suite": "zz", "extra": {"prompt_set": "short"}}) is None
    table = anchor_for({"suite": "zz", "extra": {"prompt_set": "long"}})
    assert table is not None and table.reference is None
    summary = suite_summary("zz", [{"suite": "zz", "run": "r", "model": "m", "headline": {"overall": 1.0},
                                    "extra": {"prompt_set": "long"}}])
    assert summary.run_rows[0].deltas == {}  # nothing to compare against


def test_malformed_declared_table_names_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _declared_anchor_dir(tmp_path, monkeypatch, {"zz_bad": {"suites": ["zz"], "rows": []}})
    with pytest.raises(ValueError, match=r"zz-bench/published_numbers\.json: anchor table 'zz_bad' is malformed"):
        anchor_for({"suite": "zz"})


def test_every_shipped_anchor_table_loads_and_serves_a_registered_suite() -> None:
    """Package data is checked here, not at report time: each declared table parses, has a SOURCE.md, names real suites."""
    from importlib import resources

    from genlens.report.anchors import declared_tables
    from genlens.suites.base import suite_classes

    known = set(suite_classes())
    root = resources.files("genlens").joinpath("data/anchors")
    for table in declared_tables():
        assert set(table.suites) <= known, (table.key, table.suites)
        assert table.rows and all(row.values.get("overall") is not None or len(table.columns) > 1 for row in table.rows)
        assert table.reference_model is None or table.reference is not None, f"{table.key}: reference row missing"
    for directory in root.iterdir():
        if directory.is_dir():
            assert directory.joinpath("SOURCE.md").is_file(), f"data/anchors/{directory.name} has no SOURCE.md"


def test_declared_metric_columns_put_a_runs_metrics_beside_published_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = dict(_TABLE, columns=["overall", "ned"], rows=[{"model": "Ref", "overall": 0.8, "ned": 0.9}],
                 metric_columns={"ned": "ned"}, category_aliases={})
    _declared_anchor_dir(tmp_path, monkeypatch, {"zz_metrics": table})
    result = {"suite": "zz", "run": "r", "model": "m", "headline": {"word_accuracy": 0.7},
              "metrics": {"ned": 0.85, "other": 0.1}}
    run = suite_summary("zz", [result]).run_rows[0]
    assert run.values == {"overall": 0.7, "ned": 0.85}  # only declared metrics; 'other' stays out
    assert run.deltas["ned"] == pytest.approx(0.85 - 0.9)  # -0.05 against the reference row
    assert anchor_for({"suite": "cvtg"}).metric_columns == (("ned", "ned"), ("clip_score", "clip_score"))
