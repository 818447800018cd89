"""The diag suites' items: counts as advertised, unique ids, and edit inputs built as named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genlens.suites.base import get_suite_class

DIAG_SUITES = ("diag-size", "diag-blur", "diag-tone", "diag-text", "diag-people")


@pytest.mark.parametrize("name", DIAG_SUITES)
def test_items_match_the_advertised_count_and_ids_are_unique(name: str):
    suite = get_suite_class(name)()
    items = suite.items()
    assert len(items) == suite.meta.item_count
    assert len({item.id for item in items}) == len(items)
    assert {item.category for item in items} <= set(suite.meta.categories)


def test_edit_inputs_are_built_at_the_named_size(tmp_path, monkeypatch):
    pytest.importorskip("skimage")
    from PIL import Image

    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path))
    suite = get_suite_class("diag-size")()
    for item in (i for i in suite.items() if i.kind == "edit"):
        path = suite.input_path(item.input_images[0])
        assert path.is_relative_to(tmp_path)
        with Image.open(path) as image:
            assert image.size == item.size
    # The tone inputs carry the red disc inside the box the item records.
    tone = get_suite_class("diag-tone")()
    item = tone.items()[0]
    with Image.open(tone.input_path(item.input_images[0])) as image:
        rgb = np.asarray(image.convert("RGB"))
    ys, xs = np.nonzero((rgb == (220, 20, 30)).all(axis=-1))
    x0, y0, x1, y1 = item.meta["region"]
    h, w = rgb.shape[:2]
    assert x0 * w <= xs.min() and xs.max() <= x1 * w and y0 * h <= ys.min() and ys.max() <= y1 * h


def test_suites_are_listed(cli):
    result = cli("suites", "--json")
    assert result.exit_code == 0
    listed = {row["name"] for row in json.loads(result.stdout)}
    assert set(DIAG_SUITES) <= listed
