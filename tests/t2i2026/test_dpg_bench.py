"""DPG-Bench: the official compute script's rules (first-row skip, dependency zeroing in file order, tiles,
last-tile categories) worked by hand; the mPLUG path's call contract with a stand-in ModelScope module; and a
run end to end with a tiny Qwen2.5-VL stand-in judge on a hand-written CSV in the upstream column format."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from PIL import Image

from genlens.data.fetch import load_manifest
from genlens.suites import _dpg_rules as rules
from genlens.testing.tiny_vlm import save_tiny_qwen_vl

HEADER = "item_id,text,keywords,proposition_id,dependency,category_broad,category_detailed,tuple,question_natural_language\n"
ROWS = [
    # item a: its first row is the CSV's first data row, which the official reader skips -> q2's parent is gone
    'a,"A red apple.",,1,0,entity,whole,entity - whole (apple),Is there an apple?',
    'a,"A red apple.",,2,1,attribute,color,"attribute - color (apple, red)",Is the apple red?',
    'b,"Two dogs play.",,1,0,entity,whole,entity - whole (dog),Are there dogs?',
    'b,"Two dogs play.",,2,1,other,count,"other - count (dog, ==2)",Are there two dogs?',
    'b,"Two dogs play.",,3,"1,2",relation,non-spatial,"relation - non-spatial (dog, dog, play)",Are the dogs playing?',
    'c,"A blue car.",,1,0,entity,whole,entity - whole (car),Is there a car?',
    'c,"A blue car.",,2,1,attribute,color,"attribute - color (car, blue)",Is the car blue?',
]


def write_csv(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dpg_bench.csv").write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    return directory


def test_reader_skips_the_first_data_row_like_the_official_one(tmp_path):
    path = write_csv(tmp_path) / "dpg_bench.csv"
    prompts = rules.read_csv(path)
    assert list(prompts) == ["a", "b", "c"] and list(prompts["a"].questions) == [2]
    assert prompts["b"].dependencies == {1: [0], 2: [1], 3: [1, 2]} and prompts["b"].text == "Two dogs play."
    assert list(rules.read_csv(path, skip_first_row=False)["a"].questions) == [1, 2]


def test_dependency_rule_zeroes_in_file_order_in_place():
    # chain 1 <- 2 <- 3 in file order: q1 = no zeroes q2, and the zeroed q2 then zeroes q3
    assert rules.apply_dependencies({1: 0, 2: 1, 3: 1}, {1: [0], 2: [1], 3: [2]}) == {1: 0, 2: 0, 3: 0}
    # the same graph listed 3, 2, 1: q3 is checked while q2 is still 1, so only q2 is zeroed
    assert rules.apply_dependencies({3: 1, 2: 1, 1: 0}, {3: [2], 2: [1], 1: [0]}) == {3: 1, 2: 0, 1: 0}
    with pytest.raises(rules.MissingParent):
        rules.apply_dependencies({2: 1}, {2: [1]})
    # tile scores: (0+0+0)/3 = 0 and (1+1+0)/3; image = their mean = 1/3
    deps = {1: [0], 2: [1], 3: [0]}
    assert rules.image_score([{1: 0, 2: 1, 3: 0}, {1: 1, 2: 1, 3: 0}], deps) == pytest.approx((0 + 2 / 3) / 2)


def test_tiles_yes_rule_and_last_tile_categories():
    assert rules.tile_boxes(512, 4) == [(0, 0, 512, 512), (512, 0, 1024, 512), (0, 512, 512, 1024), (512, 512, 1024, 1024)]
    assert rules.tile_boxes(256, 1) == [(0, 0, 256, 256)]
    assert rules.is_yes("yes", exact=True) and not rules.is_yes("Yes", exact=True) and not rules.is_yes("yes.", exact=True)
    assert rules.is_yes("Yes, two dogs.", exact=False) and not rules.is_yes("No", exact=False) and not rules.is_yes("", exact=False)
    tuples = {1: "entity - whole (dog)", 2: "other - count (dog, ==2)", 3: "entity - part (dog, tail)"}
    # image 1 last tile raw {1: 1, 2: 0, 3: 1}; image 2 {1: 0, 2: 1, 3: 1}
    l1, l2, n = rules.category_scores([({1: 1, 2: 0, 3: 1}, tuples), ({1: 0, 2: 1, 3: 1}, tuples)])
    # L2 entity - whole: (1+0)/2 = 50; entity - part: (1+1)/2 = 100; other - count: (0+1)/2 = 50
    assert l2 == {"entity - part": 100.0, "entity - whole": 50.0, "other - count": 50.0}
    # L1 entity pools its 4 answers: (1+0+1+1)/4 = 75; other: 50
    assert l1 == {"entity": 75.0, "other": 50.0} and n == {"entity - part": 2, "entity - whole": 2, "other - count": 2}


def test_grid_import_and_crops(tmp_path):
    from genlens.suites.dpg_bench import DpgBenchSuite, DpgScorer

    data = write_csv(tmp_path / "data")
    grids = tmp_path / "grids"
    grids.mkdir()
    grid = Image.new("RGB", (64, 64), (0, 0, 0))
    grid.paste((255, 0, 0), (32, 0, 64, 32))  # top-right tile red
    grid.save(grids / "b.png")
    suite = DpgBenchSuite(data, {"layout": "grid"})
    assert [(i.item_id, i.sample, i.path.name) for i in suite.import_layout(grids)] == [("b", 0, "b.png")]
    scorer = DpgScorer(None, layout="grid", pic_num=4, resolution=None)
    inp = types.SimpleNamespace(image_paths=[grids / "b.png"])
    tiles = scorer.tiles(inp)  # type: ignore[arg-type]
    assert [t.size for t in tiles] == [(32, 32)] * 4 and tiles[1].getpixel((0, 0)) == (255, 0, 0) and tiles[0].getpixel((0, 0)) == (0, 0, 0)


@pytest.fixture(scope="module")
def yes_judge(tmp_path_factory):
    """A tiny Qwen2.5-VL whose greedy first token is always 'yes'."""
    return save_tiny_qwen_vl(tmp_path_factory.mktemp("dpg") / "yes", answer="yes")


def test_run_end_to_end_with_a_stand_in_judge(cli, tmp_path, yes_judge):
    """Every answer is 'yes'. Prompt a lost its only parent to the first-row skip: the official script drops it
    (official_failures 1). b and c score 1 on every tile: DPG = 100. Categories from the last sample's raw answers:
    all 100, counted over b's 3 and c's 2 questions."""
    data = write_csv(tmp_path / "data")
    run = tmp_path / "run"
    r = cli("run", "dpg-bench", "--data-dir", data, "-m", "synthetic:gradient", "--judge", f"local:{yes_judge}",
            "--scorer-arg", "max_new_tokens=1", "-o", run, "-q")
    assert r.exit_code == 0, r.output
    results = json.loads((run / "results.json").read_text())
    assert results["headline"]["dpg_score"] == pytest.approx(100.0)
    assert results["counts"]["official_failures"] == 1 and results["counts"]["images_scored"] == 12
    assert results["categories"]["entity"] == {"score": 100.0, "n": 2}
    assert results["categories"]["L2:relation - non-spatial"]["n"] == 1
    prov = results["provenance"]
    assert prov["scorer"]["official"] is False and any("not comparable" in c for c in prov["caveats"])
    assert prov["data"]["license"] == "Apache-2.0" and len(prov["data"]["sha256"]) == 64
    rows = [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines()]
    assert {r["item"] for r in rows if r.get("score") == 100.0} == {"b", "c"} and all("score" not in r for r in rows if r["item"] == "a")
    assert cli("report", run).exit_code == 0


def test_without_a_judge_the_official_scorer_is_required(cli, tmp_path, monkeypatch):
    data = write_csv(tmp_path / "data")
    monkeypatch.setitem(sys.modules, "modelscope", None)
    r = cli("run", "dpg-bench", "--data-dir", data, "-m", "synthetic:gradient", "-o", tmp_path / "run", "-q")
    assert r.exit_code == 2 and "mPLUG" in r.output and "--judge" in r.output


def test_mplug_path_calls_modelscope_as_the_official_script(monkeypatch):
    """A stand-in ``modelscope`` module records the call: Tasks.visual_question_answering, the mPLUG-large id,
    and {'image', 'question'} inputs whose result['text'] is the answer."""
    import asyncio

    from genlens.suites.dpg_bench import MPLUG_MODEL, MplugVqa

    calls = {}

    def pipeline(task, model, device):
        calls.update(task=task, model=model, device=device)
        return lambda inputs: {"text": "yes" if "apple" in inputs["question"] else "no"}

    pipelines = types.ModuleType("modelscope.pipelines")
    pipelines.pipeline = pipeline  # type: ignore[attr-defined]
    constant = types.ModuleType("modelscope.utils.constant")
    constant.Tasks = types.SimpleNamespace(visual_question_answering="visual-question-answering")  # type: ignore[attr-defined]
    for name, module in {"modelscope": types.ModuleType("modelscope"), "modelscope.pipelines": pipelines,
                         "modelscope.utils": types.ModuleType("modelscope.utils"), "modelscope.utils.constant": constant}.items():
        monkeypatch.setitem(sys.modules, name, module)
    vqa = MplugVqa()
    image = Image.new("RGB", (8, 8))
    assert asyncio.run(vqa.answers([(image, "Is there an apple?"), (image, "Is there a car?")])) == ["yes", "no"]
    assert calls == {"task": "visual-question-answering", "model": MPLUG_MODEL, "device": "gpu"}


def test_manifest_pins_the_csv_by_its_git_blob_id():
    manifest = load_manifest("dpg-bench")
    csv_entry = next(f for f in manifest.files if f.path == "dpg_bench.csv")
    assert manifest.commit == "3c228f1dc6c4d3cad0a47493816151a419f14db3"
    assert csv_entry.git_blob_sha1 == "98457fc9901943f51ff9a30367250fc292533bed" and not csv_entry.sha256


def test_git_blob_fetch_verifies_and_refuses(tmp_path):
    from genlens.data.fetch import Manifest, ManifestFile, fetch, git_blob_sha1
    from genlens.errors import InputError

    # git hash-object of "hello\n" is ce0136…
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"

    class Client:
        def __init__(self, body: bytes):
            self.body = body

        def get(self, url):
            return types.SimpleNamespace(status_code=200, content=self.body)

    entry = ManifestFile("x.csv", "https://example.invalid/x.csv", "", "ce013625030ba8dba906f756967f9e9ca394464a")
    manifest = Manifest("t", ("t",), "t", "", "", "", files=[entry])
    results = fetch(manifest, tmp_path / "ok", client=Client(b"hello\n"))
    assert results[0].status == "downloaded" and (tmp_path / "ok" / "x.csv").read_bytes() == b"hello\n"
    assert results[0].sha256 == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    assert fetch(manifest, tmp_path / "ok", client=Client(b"other"))[0].status == "present"
    with pytest.raises(InputError, match="git blob id mismatch"):
        fetch(manifest, tmp_path / "bad", client=Client(b"tampered\n"))
    assert not (tmp_path / "bad" / "x.csv").exists()


def test_suites_lists_both_with_what_scoring_needs(cli):
    r = cli("suites", "--json")
    assert r.exit_code == 0
    rows = {row["name"]: row for row in json.loads(r.output)}
    assert rows["dpg-bench"]["items"] == 1065 and "data" in rows["dpg-bench"]["needs"]
    assert any("mplug" in need for need in rows["dpg-bench"]["needs"])
    assert rows["geneval2"]["items"] == 800 and rows["geneval2"]["needs"] == ["judge", "data"]


def test_published_dpg_table_stands_only_beside_official_scorer_runs():
    from genlens.report.anchors import anchor_for

    official = {"suite": "dpg-bench", "provenance": {"scorer": {"official": True}}}
    table = anchor_for(official)
    assert table is not None and table.key == "dpg_bench_glm_image_readme" and table.reference is None
    by_model = {row.model: row.values["overall"] for row in table.rows}
    assert by_model["SD XL"] == 74.65 and by_model["Qwen-Image"] == 88.32  # GLM-Image README @ 12a4eef
    assert anchor_for({"suite": "dpg-bench", "provenance": {"scorer": {"official": False}}}) is None
