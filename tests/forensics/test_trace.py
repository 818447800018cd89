"""Trace analysis on constructed frame sequences whose refinement order and patch grid are known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genlens.forensics.trace import analyse_frames, patch_grid, refinement_order, settle_frames

from . import trace_frames
from .families import make_run


def test_top_down_fill_is_top_down():
    result = analyse_frames(trace_frames.top_down(steps=4))
    assert result["order"] == "top-down"
    # 8 region rows of 16 px, bands of 32 px revealed per frame: rows settle pairwise at frames 0,0,1,1,2,2,3,3
    assert result["settle_frames"] == [0, 0, 1, 1, 2, 2, 3, 3]
    # each step reveals one band of 2 region rows out of 8: a quarter of the cells change
    assert [f["changed_fraction"] for f in result["per_frame"][1:]] == [0.25, 0.25, 0.25]


def test_reversed_fill_is_bottom_up():
    frames = [frame.transpose(1) for frame in trace_frames.top_down(steps=4)]  # FLIP_TOP_BOTTOM
    assert analyse_frames(frames)["order"] == "bottom-up"


def test_global_sharpening_is_global():
    result = analyse_frames(trace_frames.global_refinement())
    assert result["order"] == "global"
    assert all(f["changed_fraction"] >= 0.75 for f in result["per_frame"][1:])
    # sharpness grows frame by frame in every region (blur sigma 8 -> 4 -> 2 -> 1 -> none)
    sharp = np.array([f["sharpness"] for f in result["per_frame"]])
    assert np.all(np.diff(sharp.mean(axis=(1, 2))) > 0)
    assert result["patch_grid"] is None  # blur has no grid


@pytest.mark.parametrize("patch", [8, 16])
def test_patch_grid_of_token_mosaics(patch):
    result = analyse_frames(trace_frames.global_mosaic((patch, patch, patch)))
    assert result["order"] == "global" and result["patch_grid"] == patch


def test_top_down_over_a_mosaic_finds_the_grid():
    result = analyse_frames(trace_frames.top_down(steps=8, patch=16))
    assert result["order"] == "top-down" and result["patch_grid"] == 16
    assert result["settle_frames"] == list(range(8))


def test_order_rules_by_hand():
    assert refinement_order([0, 0, 0, 0], []) == ("single-frame", 0.0)
    assert refinement_order([1, 2, 3, 4], [0.25, 0.25, 0.25])[0] == "top-down"
    assert refinement_order([3, 3, 3, 3], [1.0, 0.8, 0.9]) == ("global", pytest.approx(0.9))
    assert refinement_order([3, 3, 3, 3], [0.3, 0.2, 0.1])[0] == "mixed"


def test_settle_frames_and_grid_on_tiny_arrays():
    final = np.zeros((16, 16), dtype=np.float32)
    early = final.copy()
    early[8:] = 50  # bottom half differs until the last frame
    assert settle_frames([early, early, final], (2, 2)) == [0, 2]
    assert patch_grid([final])[0] is None  # a single frame: nothing to read a grid from


def make_trace_run(run_dir, sequences):
    """A run whose generations recorded partial frames (as the OpenAI streaming backend does)."""
    from genlens.runs.store import RunStore
    from genlens.types import GenerationRecord, Item

    run_dir.mkdir(parents=True)
    store = RunStore(run_dir / "genlens.sqlite")
    store.put_items([Item(id=f"i{k}", prompt=f"prompt {k}") for k in range(len(sequences))])
    for k, frames in enumerate(sequences):
        (run_dir / f"images/i{k}").mkdir(parents=True)
        names = [f"images/i{k}/0_partial{j}.png" for j in range(len(frames) - 1)] + [f"images/i{k}/0.png"]
        for name, frame in zip(names, frames, strict=True):
            frame.save(run_dir / name)
        store.put_generation(GenerationRecord(fingerprint=f"g{k}", item_id=f"i{k}", sample=0, seed=0, status="ok",
                                              images=[names[-1]], trace=names[:-1]))
    store.close()
    return run_dir


def test_cli_trace_writes_trace_json(cli, tmp_path):
    sequences = [trace_frames.top_down(steps=8, patch=16), trace_frames.global_refinement()]
    run_dir = make_trace_run(tmp_path / "run", sequences)
    result = cli("probe", "trace", run_dir)
    assert result.exit_code == 0, result.output
    assert "top-down" in result.stdout and "16 px" in result.stdout
    data = json.loads((run_dir / "trace.json").read_text())
    assert data["n_traced"] == 2 and data["grid"] == [8, 8]
    assert [entry["order"] for entry in data["images"]] == ["top-down", "global"]
    assert [entry["frames"] for entry in data["images"]] == [8, 5]
    assert data["summary"] == {"order": {"top-down": 1, "global": 1}, "patch_grid": {"16": 1, "None": 1}}


def test_cli_trace_without_frames_is_a_one_line_error(cli, tmp_path):
    run_dir = make_run(tmp_path / "run", "real", 1)
    result = cli("probe", "trace", run_dir)
    assert result.exit_code == 2 and "no partial-image frames" in result.stderr


def test_frames_belong_to_their_own_image():
    from genlens.forensics.sources import frames_of

    images = ["images/i/0_r1.png", "images/i/0_r2.png"]
    trace = ["images/i/0_r1.trace/000.png", "images/i/0_r1.trace/001.png", "images/i/0_r2.trace/000.png"]
    assert frames_of(images[0], images, trace) == trace[:2]
    assert frames_of(images[1], images, trace) == trace[2:]
    assert frames_of("images/i/0.png", ["images/i/0.png"], ["elsewhere/a.png"]) == ["elsewhere/a.png"]  # single image


def test_trace_of_a_run_made_by_the_engine(cli, tmp_path):
    """A streaming-style backend returns partial frames; the engine stores them; `probe trace` reads them."""
    import io
    from typing import ClassVar

    from genlens.backends.base import _BACKENDS, Backend, BackendInfo, register_backend
    from genlens.types import GeneratedImage

    def png(image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    @register_backend
    class StreamingFake(Backend):
        info: ClassVar[BackendInfo] = BackendInfo(scheme="fx-streaming", syntax="fx-streaming:<order>",
                                                  description="test: frames in a known order", tasks=("generate",))

        async def generate(self, request):
            frames = trace_frames.top_down(4) if self.target == "top-down" else trace_frames.global_refinement()
            return GeneratedImage(data=png(frames[-1]), format="png", trace=[png(f) for f in frames[:-1]])

    try:
        run_dir = tmp_path / "run"
        result = cli("run", "image-props", "--model", "fx-streaming:top-down", "--limit", "2", "--out", run_dir, "--quiet")
        assert (run_dir / "genlens.sqlite").is_file(), result.output
        result = cli("probe", "trace", run_dir, "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["n_traced"] == 2 and data["summary"]["order"] == {"top-down": 2}
        assert all(entry["frames"] == 4 for entry in data["images"])
    finally:
        _BACKENDS.pop("fx-streaming", None)
