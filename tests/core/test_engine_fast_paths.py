"""Item hashes are part of every fingerprint: the fast path must give exactly the 0.1 hashes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from genlens.runs.store import RunStore
from genlens.types import Item


@dataclass
class _Box:
    x: int
    label: str


def reference_hash(item: Item) -> str:
    """genlens 0.1's definition: dataclasses.asdict, then canonical JSON."""
    data = asdict(item)
    data["input_images"] = list(item.input_images)
    data["rounds"] = list(item.rounds)
    data["size"] = list(item.size) if item.size else None
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def test_content_hash_matches_the_released_definition():
    items = [
        Item(id="a", prompt="a red cube"),
        Item(id="b", prompt="édit ✓", category="c", kind="edit", input_images=("x.png",), mask="m.png", size=(512, 256)),
        Item(id="c", prompt="p", kind="multiturn", rounds=("one", "two"),
             meta={"nested": {"k": [1, (2, 3)], "t": (4, 5)}, "box": _Box(1, "cat"), "none": None}),
    ]
    for item in items:
        assert item.content_hash() == reference_hash(item)
        assert item.content_hash() == item.content_hash()  # cached value is the same
    # the literal value 0.1 gave: guards against the reference and the code drifting together
    assert Item(id="a", prompt="a red cube").content_hash() == "b25946f971a9e085"


def test_put_items_skips_unchanged_items_and_rewrites_changed_ones(tmp_path):
    store = RunStore(tmp_path / "genlens.sqlite")
    items = [Item(id=str(i), prompt=f"p{i}") for i in range(3)]
    store.put_items(items)
    rowids = dict(store.conn.execute("SELECT id, rowid FROM items"))
    store.put_items([Item(id=str(i), prompt=f"p{i}") for i in range(3)])  # a resume: nothing changes
    assert dict(store.conn.execute("SELECT id, rowid FROM items")) == rowids
    store.put_items([Item(id="0", prompt="p0"), Item(id="1", prompt="changed"), Item(id="2", prompt="p2")])
    assert store.items()["1"].prompt == "changed"
    assert list(store.items()) == ["0", "1", "2"]  # official order kept
    store.close()


def test_rows_committed_in_groups_are_all_committed_when_the_run_stops_early(tmp_path):
    """Generation rows are committed in groups; a run stopped by an error still commits every finished unit."""
    import pytest

    from genlens.backends.synthetic import SyntheticBackend
    from genlens.errors import SpecError
    from genlens.runs import engine
    from genlens.runs.store import RunStore

    class StopsAtFifth(SyntheticBackend):
        async def generate(self, request):
            self.seen = getattr(self, "seen", 0) + 1
            if self.seen == 5:
                raise SpecError("configuration broke mid-run")
            return await super().generate(request)

    suite = engine.make_suite("image-props")
    opts = engine.GenerateOptions(samples=1, limit=10, concurrency=1, quiet=True)
    with pytest.raises(SpecError):
        engine.generate(tmp_path / "run", suite, StopsAtFifth("gradient"), opts)
    store = RunStore(tmp_path / "run" / "genlens.sqlite")
    rows = list(store.generations())
    store.close()
    assert len(rows) == 4 and all(r.status == "ok" for r in rows)
    for row in rows:  # each committed row's image is complete on disk
        assert (tmp_path / "run" / row.images[0]).stat().st_size == row.image_sizes[0]
