"""GEdit-Bench: record export, languages, the VIEScore aggregation by hand, import layout end to end."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from genlens.errors import InputError
from genlens.suites.base import ScoreContext
from genlens.suites.gedit import TASK_TYPES, GEditSuite, model_score, resolve_data, task_means
from genlens.types import GenerationRecord, Item, ScoredGeneration, ScoreRecord


def test_export_gives_one_item_per_record_and_language(gedit_dir: Path):
    suite = GEditSuite(data_dir=gedit_dir)
    items = suite.items()
    assert len(items) == 22  # 11 task types × 1 key × (en, cn)
    en = [i for i in items if i.meta["language"] == "en"]
    assert {i.category for i in en} == set(TASK_TYPES)
    assert items[0].id.startswith("en/background_change/")
    assert suite.input_path(items[0].input_images[0]).is_file()
    # en and cn rows of one key share one source image
    assert len(list((gedit_dir / "images").iterdir())) == 11
    only_cn = GEditSuite(data_dir=gedit_dir, suite_args={"language": "cn"}).items()
    assert len(only_cn) == 11 and all(i.prompt.startswith("对图片") for i in only_cn)


def test_bad_data_dir_is_a_one_line_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no GEdit-Bench parquet files"):
        resolve_data(tmp_path / "empty", None)
    with pytest.raises(InputError, match="not found"):
        resolve_data(tmp_path / "missing", None)


def _entry(task: str, language: str, sc: tuple[int, int] | None, pq: tuple[int, int] | None, *, key: str,
           intersection: bool = True, status: str = "ok") -> ScoredGeneration:
    item = Item(id=f"{language}/{task}/{key}", prompt="p", category=task, kind="edit",
                meta={"language": language, "key": key, "intersection": intersection})
    entry = ScoredGeneration(item, GenerationRecord(f"fp{key}", item.id, 0, 0, status, ["x.png"] if status == "ok" else []))
    if status != "ok":
        return entry
    entry.scores["viescore_sc"] = (
        ScoreRecord("s", "g", "viescore_sc", "ok", {"scores": {"edit_success": sc[0], "over_editing": sc[1]}})
        if sc else ScoreRecord("s", "g", "viescore_sc", "unparsed", {"scores": None, "raw": "?"}))
    entry.scores["viescore_pq"] = (
        ScoreRecord("p", "g", "viescore_pq", "ok", {"scores": {"naturalness": pq[0], "artifacts": pq[1]}})
        if pq else ScoreRecord("p", "g", "viescore_pq", "unparsed", {"scores": None, "raw": "?"}))
    return entry


def test_viescore_aggregation_by_hand(tmp_path: Path):
    scored = [
        _entry("color_alter", "en", (9, 10), (4, 6), key="a"),                     # SC 9, PQ 4, O = sqrt(36) = 6
        _entry("color_alter", "en", (8, 9), (10, 8), key="b", intersection=False),  # SC 8, PQ 8, O = 8
        _entry("text_change", "en", (4, 7), (5, 4), key="c"),                      # SC 4, PQ 4, O = 4
        _entry("text_change", "en", None, (9, 9), key="d"),                        # SC unparsed: no O; PQ 9 counts
        _entry("text_change", "cn", (2, 2), (8, 8), key="c"),                      # SC 2, PQ 8, O = 4
    ]
    bare = _bare_suite()
    bare._items = [e.item for e in scored]
    result = GEditSuite(data_dir=None, suite_args={}).aggregate.__func__(  # aggregation needs no data
        bare, scored, ScoreContext(run_dir=tmp_path, judge="openai:x"))
    cats = result.categories
    assert cats["en/color_alter"]["sc"] == pytest.approx(8.5) and cats["en/color_alter"]["overall"] == pytest.approx(7.0)
    assert cats["en/text_change"]["sc"] == pytest.approx(4.0)          # the unparsed SC is left out, not guessed
    assert cats["en/text_change"]["pq"] == pytest.approx(6.5)          # (4 + 9) / 2
    assert cats["en/text_change"]["overall"] == pytest.approx(4.0)
    # mean over the task types with scores: (7 + 4)/2 = 5.5 (sample-weighted would be 6.0); only 2 of the
    # 11 types are scored, so it is reported beside the headline, not as GEdit's model score
    assert result.metrics["overall_en_partial"] == pytest.approx(5.5) and result.metrics["task_types_en"] == 2
    assert result.headline["overall_en"] is None and "overall_en" not in result.metrics
    # en: a, b, c scored, d's SC unparsed -> 3 of 4 prompts; 2 of 11 task types
    assert any("en: 3/4 prompts, 3/4 images, 2/11 tags" in note for note in result.provenance["notes"])
    assert result.extra["coverage"]["by_language"]["en"] == {"complete": False, "prompts": [3, 4], "images": [3, 4],
                                                            "tags": [2, 11]}
    assert result.extra["coverage"]["prompts"] == [4, 5] and result.extra["coverage"]["tags"] == [3, 22]
    assert result.metrics["sc_en"] == pytest.approx((8.5 + 4.0) / 2)
    # intersection subset (en): a (O 6) in color_alter, c (O 4) in text_change -> (6 + 4)/2 = 5
    assert result.metrics["overall_en_intersection"] == pytest.approx(5.0)
    assert result.metrics["overall_cn_partial"] == pytest.approx(math.sqrt(2 * 8)) and result.headline["overall_cn"] is None
    assert result.counts["unparsed_sc"] == 1 and result.counts["unparsed_pq"] == 0


def _bare_suite() -> GEditSuite:
    suite = GEditSuite.__new__(GEditSuite)
    suite.languages = ("en", "cn")
    suite._export = Path("/nonexistent")
    return suite


def test_task_means_and_model_score_are_plain_means():
    rows = [{"sc": 6.0, "pq": 3.0, "overall": math.sqrt(18)}, {"sc": None, "pq": 5.0, "overall": None}]
    means = task_means(rows)
    assert means == {"sc": 6.0, "pq": 4.0, "overall": pytest.approx(math.sqrt(18)), "n": 2}
    assert model_score({"a": {"sc": 2.0, "pq": None, "overall": 1.0}, "b": {"sc": 4.0, "pq": 6.0, "overall": None}}) == \
        {"sc": 3.0, "pq": 6.0, "overall": 1.0, "n_types": 1}


def test_the_headline_needs_all_eleven_task_types():
    # 10 types scored O = 5.0 and ps_human all refused by the judge (no O): the mean over the 10
    # scored types is 5.0, but that is not GEdit's 11-type model score -> headline None.
    per_task = {t: {"sc": 5.0, "pq": 5.0, "overall": 5.0, "n": 2} for t in TASK_TYPES}
    per_task["ps_human"] = {"sc": None, "pq": None, "overall": None, "n": 2}
    summary = model_score(per_task)
    assert summary["overall"] == 5.0 and summary["n_types"] == 10
    assert len(TASK_TYPES) == 11


def test_import_step1x_layout_and_score_without_judge(gedit_dir: Path, tmp_path: Path, cli):
    results_dir = tmp_path / "results" / "mymodel"
    suite = GEditSuite(data_dir=gedit_dir)
    for item in suite.items()[:5]:
        target = results_dir / "fullset" / item.category / item.meta["language"] / f"{item.meta['key']}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(suite.input_path(item.input_images[0]).read_bytes())
        (target.parent / f"{item.meta['key']}_SRCIMG.png").write_bytes(target.read_bytes())
    run = tmp_path / "run"
    assert cli("import", results_dir, "--suite", "gedit", "--out", run, "--data-dir", gedit_dir, "--quiet").exit_code == 0
    result = cli("score", run, "--data-dir", gedit_dir, "--quiet")  # import does not record --data-dir in run.json
    assert result.exit_code == 0, result.stderr
    results = json.loads((run / "results.json").read_text())
    assert results["counts"]["generations_ok"] == 5
    assert results["headline"]["overall_en"] is None  # nothing is scored without a judge, nothing invented
    assert results["provenance"]["dataset"]["revision"] == "test"


def test_a_snapshot_folder_without_pyarrow_names_the_extra(tmp_path: Path, monkeypatch):
    from genlens.errors import SpecError

    # Whether or not pyarrow is installed, make it unimportable for this test.
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    snapshot = tmp_path / "snapshot" / "data"
    snapshot.mkdir(parents=True)
    (snapshot / "train-00000-of-00001.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(SpecError, match=r"genlens\[gedit\]"):
        resolve_data(tmp_path / "snapshot", None)


def test_cached_export_is_found_by_revision(gedit_dir: Path, monkeypatch, tmp_path: Path):
    import shutil

    from genlens.suites.gedit import cache_dir, cached_export

    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))
    target = cache_dir() / "gedit" / "abc123"
    shutil.copytree(gedit_dir, target)
    assert cached_export("abc123") == target
    assert cached_export(None) == target  # the only one cached
    assert cached_export("other") is None
    suite = GEditSuite(suite_args={"revision": "abc123"})
    assert len(suite.items()) == 22 and suite.export == target


def test_a_parquet_snapshot_in_the_hub_shape_is_exported(tmp_path: Path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from tests.editing.conftest import gedit_records

    snapshot = tmp_path / "snapshot" / "data"
    snapshot.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(gedit_records()), snapshot / "train-00000-of-00001.parquet")
    export = resolve_data(tmp_path / "snapshot", None)
    suite = GEditSuite(data_dir=tmp_path / "snapshot")
    assert len(suite.items()) == 22 and suite.export == export
    source = json.loads((export / "source.json").read_text())
    assert list(source["files"]) == ["data/train-00000-of-00001.parquet"] and len(source["files"]["data/train-00000-of-00001.parquet"]) == 64
