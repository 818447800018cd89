"""Reason-Edit's CLIP column: a tiny CLIP saved to disk, loaded like a real one, on the mask-box crop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")

from genlens.scorers.clip import ClipModel
from genlens.suites.reason_edit import crop_to_mask, load_items
from genlens.testing.tiny_models import save_tiny_clip


def test_clip_score_is_100_max_cos_of_the_mask_box_crop(reason_edit_dir: Path, tmp_path: Path, cli):
    clip_dir = save_tiny_clip(tmp_path / "clip")
    items = load_items(reason_edit_dir)[:3]
    edits = tmp_path / "edits"
    for item in items:
        target = edits / f"{item.id}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.open(reason_edit_dir / item.input_images[0]).save(target)
    run = tmp_path / "run"
    result = cli("run", "reason-edit", "--model", f"folder:{edits}", "--data-dir", reason_edit_dir, "--limit", "3",
                 "--clip", clip_dir, "--out", run, "--quiet")
    assert result.exit_code == 0, result.output
    rows = {r["item"]: r for r in map(json.loads, (run / "rows.jsonl").read_text().splitlines())}
    model = ClipModel.load(str(clip_dir), device="cpu")
    for item in items:
        crop = crop_to_mask(Image.open(edits / f"{item.id}.png"), Image.open(reason_edit_dir / item.meta["eval_mask"]))
        cos = float((model.image_embeddings([crop]) * model.text_embeddings([item.meta["caption"]])).sum())
        assert rows[item.id]["clip_score"] == pytest.approx(100 * max(cos, 0.0), abs=1e-3)
    res = json.loads((run / "results.json").read_text())
    assert res["provenance"]["scorers"]["smartedit_clip"]["clip"]["id"] == str(clip_dir.resolve())
    assert not any("CLIP score not computed" in n for n in res["provenance"]["notes"])
    assert np.isfinite(res["metrics"]["clip_score"])
