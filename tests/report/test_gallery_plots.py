"""Thumbnails (downscaled, boxes drawn in the right place), gallery selection, and SVG plots that escape text."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image

from genlens.report import plots
from genlens.report.gallery import BOX_PALETTE, plan, spread, thumbnail


def _decode(uri: str) -> Image.Image:
    assert uri.startswith("data:image/webp;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")


def _close(pixel: tuple[int, int, int], hex_colour: str, tol: int = 70) -> bool:
    want = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(abs(a - b) for a, b in zip(pixel, want, strict=True)) < tol


def test_thumbnail_is_downscaled_and_small(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (800, 400), "white").save(path)
    thumb = _decode(thumbnail(path))
    assert thumb.size == (200, 100)  # longest side 200, aspect kept
    assert len(thumbnail(path)) < 4000


def test_boxes_are_scaled_from_original_pixels_even_for_drafted_jpeg(tmp_path: Path) -> None:
    # 800×600 JPEG: draft() decodes at 1/2 or 1/4 size; the box must still be scaled by 200/800 = 0.25
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (800, 600), "white").save(path, quality=95)
    box = {"box": [400, 300, 800, 600], "label": "", "score": None}  # lower-right quarter; no tag
    thumb = _decode(thumbnail(path, [box]))
    assert thumb.size == (200, 150)
    # left edge of the box at x = 400·0.25 = 100, y between 75 and 150 -> drawn in the first palette colour
    assert _close(thumb.getpixel((100, 112)), BOX_PALETTE[0])
    assert _close(thumb.getpixel((60, 112)), "#ffffff")   # outside the box: untouched
    assert _close(thumb.getpixel((150, 112)), "#ffffff")  # inside the box: only the outline is drawn


def test_spread_takes_evenly_spaced_rows() -> None:
    assert spread(list(range(10)), 4) == [0, 3, 6, 9]  # round(i·9/3)
    assert spread([1, 2], 4) == [1, 2]
    assert spread(list(range(5)), 1) == [0]


def test_plan_splits_passes_from_failures_and_counts_reasons(tmp_path: Path) -> None:
    rows = [{"item": f"i{k}", "sample": 0, "category": "c", "image": f"images/i{k}.png", "passed": k % 3 != 0,
             "reason": "ok" if k % 3 else ("wrong colour" if k < 5 else "missing")} for k in range(9)]
    [gallery] = plan({"run": "r", "run_dir": str(tmp_path), "categories": {"c": {}}}, rows, tmp_path, per_side=2)
    assert (gallery.good_label, gallery.bad_label) == ("passed", "failed")
    assert [t.row["item"] for t in gallery.bad] == ["i0", "i6"]       # failures i0, i3, i6 -> spread of 2
    assert [t.row["item"] for t in gallery.good] == ["i1", "i8"]
    assert gallery.reasons == [("wrong colour", 2), ("missing", 1)]  # i0, i3 / i6
    assert gallery.good[0].href == "images/i1.png"


def test_plan_ranks_continuous_scores(tmp_path: Path) -> None:
    rows = [{"item": f"i{k}", "sample": 0, "category": "c", "image": "x.png", "score": k / 10} for k in range(6)]
    [gallery] = plan({"run": "r", "run_dir": str(tmp_path)}, rows, tmp_path, per_side=2)
    assert gallery.good_label == "highest scores"
    assert [t.row["score"] for t in gallery.good] == [0.5, 0.3]  # best three 0.5, 0.4, 0.3 -> spread of 2
    assert [t.row["score"] for t in gallery.bad] == [0.0, 0.2]


def test_svg_plots_parse_and_escape_labels() -> None:
    evil = "<script>alert(1)</script>&"
    charts = [
        plots.bar_chart([evil, "b"], [plots.Series(evil, [0.5, None]), plots.Series("ref", [0.7, 0.2], reference=True)]),
        plots.radar(["a", "b", evil], [plots.Series("m", [0.1, 0.9, 0.4])]),
        plots.line_chart([(evil, [1, 2, 3], [0.9, 0.7, 0.4])], title=evil, xlabel="round"),
        plots.line_chart([("d", [0, 0.5, 1], [0, 0.8, 1])], diagonal=True, unit_square=True),
        plots.histogram([0, 0.5, 1], {evil: [3, 1], "b": [0, 2]}, title="h"),
    ]
    for svg in charts:
        root = ET.fromstring(str(svg))
        assert root.tag.endswith("svg")
        assert not [el for el in root.iter() if el.tag.endswith("script")]
        texts = "".join(el.text or "" for el in root.iter())
        assert "<script>" not in str(svg)
        assert evil in texts or svg is charts[3]


def test_bar_heights_are_proportional() -> None:
    svg = str(plots.bar_chart(["c"], [plots.Series("m", [0.5])]))
    rect = next(el for el in ET.fromstring(svg).iter() if el.tag.endswith("rect") and el.get("fill") == plots.PALETTE[0])
    assert float(rect.get("height")) == 90.0  # half of the 180-pixel plot height on a 0..1 axis


def test_masks_are_tinted_in_the_box_colour(tmp_path: Path) -> None:
    path = tmp_path / "img.png"
    Image.new("RGB", (100, 100), "white").save(path)
    mask = Image.new("L", (100, 100), 0)
    mask.paste(255, (60, 60, 80, 80))
    mask.save(tmp_path / "mask.png")
    boxes = [{"box": [10, 10, 50, 50], "label": "a", "polygon": [[15, 15], [45, 15], [45, 45], [15, 45]]},
             {"box": [55, 55, 85, 85], "label": "b", "mask": "mask.png"}]
    thumb = _decode(thumbnail(path, boxes, run_dir=tmp_path))  # 100 px: no downscale, scale 1
    # inside the polygon: white blended toward palette[0] (#e6194b) at alpha 110/255 -> red channel stays high
    r, g, b = thumb.getpixel((30, 30))
    assert r > 200 and g < 200 and b < 220
    r, g, b = thumb.getpixel((70, 70))  # inside the mask PNG: toward palette[1] (#3cb44b), green dominates
    assert g > r and g > b
    assert _close(thumb.getpixel((5, 95)), "#ffffff")  # outside everything
    assert _close(thumb.getpixel((80, 58)), "#ffffff")  # inside box b, right of its tag, above its mask


def test_transparent_pixels_show_on_white(tmp_path: Path) -> None:
    path = tmp_path / "cutout.png"
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(path)
    assert _close(_decode(thumbnail(path)).getpixel((20, 20)), "#ffffff")


def test_images_outside_the_run_directory_are_neither_embedded_nor_linked(tmp_path: Path) -> None:
    from genlens.report.gallery import OUTSIDE_RUN, fill_thumbnails

    run_dir = tmp_path / "run"
    (run_dir / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8), "white").save(run_dir / "images" / "in.png")
    secret = tmp_path / "secret.png"  # a readable image beside the run, reached by ../ or by absolute path
    Image.new("RGB", (8, 8), "blue").save(secret)
    (run_dir / "images" / "link.png").symlink_to(secret)  # a symlink out of the run counts as outside too
    names = ["images/in.png", "../secret.png", str(secret), "images/../../secret.png", "images/link.png",
             "images/../images/in.png"]
    rows = [{"item": f"i{k}", "sample": 0, "category": "c", "image": name, "passed": True,
             "boxes": [{"box": [0, 0, 4, 4], "mask": "../secret.png"}]} for k, name in enumerate(names)]
    result = {"run": "r", "run_dir": str(run_dir)}
    [gallery] = plan(result, rows, tmp_path, per_side=len(rows))
    fill_thumbnails([result], [[gallery]])
    by_name = {t.row["image"]: t for t in gallery.good}
    for name in ("images/in.png", "images/../images/in.png"):
        assert by_name[name].thumb and by_name[name].href == "run/images/in.png"
    for name in names[1:5]:
        tile = by_name[name]
        assert (tile.thumb, tile.href, tile.missing) == (None, None, OUTSIDE_RUN), name
    inside = _decode(by_name["images/in.png"].thumb)
    assert _close(inside.getpixel((6, 6)), "#ffffff")  # the outside mask was not read: no tint over the white
