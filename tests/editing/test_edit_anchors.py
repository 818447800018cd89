"""The published ImgEdit and RISEBench tables stand beside the runs they are comparable with, and no others."""

from __future__ import annotations

import pytest

from genlens.report.anchors import anchor_column, anchor_for


def test_imgedit_runs_get_the_published_table_with_gpt4o_as_reference():
    table = anchor_for({"suite": "imgedit"})
    assert table is not None and table.reference is not None and table.reference.model == "GPT-4o"
    assert table.reference.values["overall"] == pytest.approx(4.20)
    assert anchor_column(table, "compose") == "compose" and anchor_column(table, "Hybrid") == "compose"
    assert anchor_column(table, "add") == "add"
    ip2p = next(r for r in table.rows if r.model == "Instruct-Pix2Pix")
    assert ip2p.values["style"] == pytest.approx(3.55) and ip2p.values["overall"] == pytest.approx(1.88)
    assert anchor_for({"suite": "imgedit-uge"}) is None  # UGE has no published table here


def test_rise_table_only_beside_the_360_item_set():
    assert anchor_for({"suite": "rise", "provenance": {"items": 64}}) is None
    table = anchor_for({"suite": "rise", "provenance": {"items": 360}})
    assert table is not None and table.reference is not None
    assert table.reference.values["overall"] == pytest.approx(0.289)  # 28.9 % in the README
    assert anchor_column(table, "logical_reasoning") == "logical_reasoning"


def test_kris_runs_get_the_sourced_bagel_table():
    table = anchor_for({"suite": "kris"})  # sourced in data/anchors/kris/SOURCE.md (BAGEL repository)
    assert table is not None and table.key == "kris_bagel_published"
    assert table.reference is not None and table.reference.values["overall"] == pytest.approx(80.09)
