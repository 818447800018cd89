"""Real datasets through `genlens data fetch` (a local server) and --data-dir, in their upstream layouts."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlens.testing.http import FakeServer, Response

pytest.importorskip("cv2")


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def photo(seed: int, shape: tuple[int, int]) -> np.ndarray:
    from genlens.suites._vision_scenes import render_scene

    return render_scene(seed, (shape[1], shape[0])).rgb


def tar_of(members: dict[str, bytes], prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def nyu_fixture() -> tuple[dict[str, bytes], dict[str, np.ndarray]]:
    """Two 480×640 frames as Marigold's tarball lays them out (./test/<scene>/rgb_|depth_), uint16 mm."""
    members, depths = {}, {}
    for index, scene in enumerate(("kitchen_0004", "office_0005")):
        y, x = np.mgrid[0:480, 0:640]
        depth_mm = (1000 + 4 * x + 2 * y).astype(np.uint16)  # 1–4.4 m
        depth_mm[:10] = 0  # missing depth: invalid
        members[f"test/{scene}/rgb_{index:04d}.png"] = png_bytes(photo(index, (480, 640)))
        members[f"test/{scene}/depth_{index:04d}.png"] = png_bytes(depth_mm)
        members[f"test/{scene}/filled_{index:04d}.png"] = png_bytes(depth_mm)  # not extracted
        depths[f"nyuv2-{scene}-{index:04d}"] = depth_mm.astype(np.float64) / 1000
    return members, depths


def diode_fixture() -> tuple[dict[str, bytes], dict[str, np.ndarray]]:
    members, truths = {}, {}
    stem = "val/indoors/scene_00019/scan_00183/00019_00183_indoors_000_010"
    depth = np.linspace(1.0, 5.0, 48 * 64, dtype=np.float32).reshape(48, 64, 1)
    mask = np.ones((48, 64), dtype=np.float32)
    mask[:, :8] = 0
    normals = np.zeros((48, 64, 3), dtype=np.float32)
    normals[..., 2] = 1.0
    normals[24:, :, :] = (0.0, 1.0, 0.0)
    members.update({f"{stem}.png": png_bytes(photo(5, (48, 64))), f"{stem}_depth.npy": npy_bytes(depth),
                    f"{stem}_depth_mask.npy": npy_bytes(mask), f"{stem}_normal.npy": npy_bytes(normals)})
    truths["depth"], truths["mask"], truths["normals"] = depth[..., 0], mask > 0, normals
    return members, truths


def ade_fixture() -> bytes:
    buffer = io.BytesIO()
    labels = np.zeros((40, 60), dtype=np.uint8)
    labels[:20] = 3  # sky
    labels[20:, :30] = 1  # wall
    labels[20:, 30:] = 7  # road
    labels[0, 0] = 0  # "other": ignored
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ADEChallengeData2016/objectInfo150.txt",
                    "Idx\tRatio\tTrain\tVal\tName\n1\t0.1\t1\t1\twall\n3\t0.1\t1\t1\tsky\n7\t0.1\t1\t1\troad;route\n")
        rgb = io.BytesIO()
        Image.fromarray(photo(7, (40, 60))).save(rgb, format="JPEG")
        zf.writestr("ADEChallengeData2016/images/validation/ADE_val_00000001.jpg", rgb.getvalue())
        zf.writestr("ADEChallengeData2016/annotations/validation/ADE_val_00000001.png", png_bytes(labels))
        zf.writestr("ADEChallengeData2016/images/training/ADE_train_00000001.jpg", rgb.getvalue())  # not extracted
        zf.writestr("../escape.txt", b"never written")
    return buffer.getvalue()


@pytest.fixture
def upstream(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path / "cache"))
    nyu_members, nyu_depths = nyu_fixture()
    diode_members, diode_truths = diode_fixture()
    files = {"/nyu.tar": tar_of(nyu_members, prefix="./"), "/diode_val.tar.gz": tar_of(diode_members), "/ade.zip": ade_fixture()}
    with FakeServer() as server:
        server.route("GET", r"/.+", lambda r: Response(200, files[r.path]) if r.path in files else Response(404, b""))
        shipped = json.loads((Path(__file__).resolve().parents[2] / "src/genlens/data/manifests/vision-depth.json").read_text())
        manifests = tmp_path / "manifests"
        manifests.mkdir()
        depth = {**shipped, "archives": [
            {**shipped["archives"][0], "url": server.url + "/diode_val.tar.gz", "md5": hashlib.md5(files["/diode_val.tar.gz"]).hexdigest()},
            {**shipped["archives"][1], "url": server.url + "/nyu.tar", "sha256": hashlib.sha256(files["/nyu.tar"]).hexdigest()}]}
        (manifests / "vision-depth.json").write_text(json.dumps(depth))
        seg = json.loads((Path(__file__).resolve().parents[2] / "src/genlens/data/manifests/vision-seg.json").read_text())
        seg["archives"][0].update(url=server.url + "/ade.zip", sha256=hashlib.sha256(files["/ade.zip"]).hexdigest())
        (manifests / "vision-seg.json").write_text(json.dumps(seg))
        monkeypatch.setattr("genlens.data.fetch.MANIFEST_DIR", manifests)
        yield server, files, {"nyu": nyu_depths, "diode": diode_truths}


def test_fetch_depth_sets_then_score_them(cli, upstream, tmp_path):
    server, _files, truth = upstream
    data = tmp_path / "data"
    result = cli("data", "fetch", "vision-depth", "--data-dir", data, "--json")
    assert result.exit_code == 0, result.output
    assert {f["path"]: f["status"] for f in json.loads(result.stdout)["files"]} == {"diode": "extracted", "nyuv2": "extracted"}
    assert (data / "nyuv2/test/kitchen_0004/rgb_0000.png").is_file() and not (data / "nyuv2/test/kitchen_0004/filled_0000.png").exists()
    source = (data / "SOURCE.md").read_text()
    assert "MIT" in source and "md5" in source and "NYU Depth V2" in source
    requests = len(server.log)
    again = cli("data", "fetch", "vision-depth", "--data-dir", data, "--json")
    assert {f["status"] for f in json.loads(again.stdout)["files"]} == {"present"} and len(server.log) == requests

    # A model that returns each frame's depth, as a 16-bit grey map.
    maps = tmp_path / "maps"
    maps.mkdir()
    for item_id, depth in truth["nyu"].items():
        Image.fromarray(np.round(depth * 1000).astype(np.uint16)).save(maps / f"{item_id}.png")
    Image.fromarray(np.round(truth["diode"]["depth"] * 1000).astype(np.uint16)).save(maps / "diode-00019_00183_indoors_000_010.png")
    out = tmp_path / "run"
    run = cli("run", "vision-depth", "--model", f"folder:{maps}", "--data-dir", data, "--out", out, "--quiet")
    assert run.exit_code == 0, run.stderr
    results = json.loads((out / "results.json").read_text())
    assert set(results["categories"]) == {"nyuv2", "diode"}
    assert results["categories"]["nyuv2"]["n"] == 2 and results["categories"]["diode"]["n"] == 1
    assert results["headline"]["abs_rel"] == pytest.approx(0.0, abs=1e-4) and results["metrics"]["delta1"] == 1.0
    rows = {row["item"]: row for row in map(json.loads, (out / "rows.jsonl").read_text().splitlines())}
    # Eigen crop (rows 45–470, columns 41–600) inside the valid range: 426 × 560 pixels per frame.
    assert rows["nyuv2-kitchen_0004-0000"]["n_valid"] == 426 * 560
    # DIODE: the dataset's own mask (8 columns masked out).
    assert rows["diode-00019_00183_indoors_000_010"]["n_valid"] == 48 * 56

    # The same DIODE frame's normals (its fixture carries _normal.npy, as val_normals.tar.gz adds).
    normals = truth["diode"]["normals"]
    Image.fromarray(np.round((normals + 1) / 2 * 255).astype(np.uint8)).save(maps / "diode-00019_00183_indoors_000_010.png")
    out = tmp_path / "normals"
    run = cli("run", "vision-normals", "--model", f"folder:{maps}", "--data-dir", data, "--out", out, "--quiet")
    assert run.exit_code == 0, run.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["categories"]["diode"]["within_11.25"] == 1.0 and results["categories"]["diode"]["n"] == 1


def test_fetch_seg_extracts_only_the_validation_split_and_names_classes(cli, upstream, tmp_path):
    data = tmp_path / "data"
    result = cli("data", "fetch", "vision-seg", "--data-dir", data)
    assert result.exit_code == 0, result.output
    base = data / "ade20k/ADEChallengeData2016"
    assert (base / "images/validation/ADE_val_00000001.jpg").is_file() and not (base / "images/training").exists()
    assert not (tmp_path / "escape.txt").exists() and not (data / "escape.txt").exists()
    from genlens.suites.vision_seg import VisionSegSuite

    items = VisionSegSuite(data_dir=data).items()
    assert [i.id for i in items] == ["ade20k-ADE_val_00000001"]
    assert "sky: red" in items[0].prompt and "wall: green" in items[0].prompt and "road: yellow" in items[0].prompt
    # A model painting the palette exactly scores mIoU 1 (label 0 ignored).
    labels = np.asarray(Image.open(base / "annotations/validation/ADE_val_00000001.png"))
    palette = {int(k): v[2] for k, v in items[0].meta["palette"].items()}
    painted = np.zeros((*labels.shape, 3), np.uint8)
    for cid, rgb in palette.items():
        painted[labels == cid] = rgb
    maps = tmp_path / "maps"
    maps.mkdir()
    Image.fromarray(painted).save(maps / "ade20k-ADE_val_00000001.png")
    out = tmp_path / "run"
    run = cli("run", "vision-seg", "--model", f"folder:{maps}", "--data-dir", data, "--out", out, "--quiet")
    assert run.exit_code == 0, run.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["categories"]["ade20k"]["miou"] == 1.0 and results["categories"]["ade20k"]["pixel_accuracy"] == 1.0


def test_corrupt_archive_is_refused_and_nothing_extracted(cli, upstream, tmp_path):
    _server, files, _truth = upstream
    files["/diode_val.tar.gz"] = files["/diode_val.tar.gz"][:-10] + b"0123456789"
    data = tmp_path / "data"
    result = cli("data", "fetch", "vision-depth", "--data-dir", data)
    assert result.exit_code == 2 and "md5 mismatch" in result.stderr and "Traceback" not in result.output
    assert not (data / "diode" / "val").exists()


def test_shipped_manifests_never_download_an_unpinned_source(cli, tmp_path):
    from genlens.data.fetch import load_manifest

    for suite in ("vision-depth", "vision-seg", "vision-normals"):
        manifest = load_manifest(suite)
        assert manifest.archives and all(a.license for a in manifest.archives)
    assert all(a.md5 for a in load_manifest("vision-normals").archives)
    # ADE20K publishes no digest: nothing is downloaded, one line says what to do instead.
    result = cli("data", "fetch", "vision-seg", "--data-dir", tmp_path / "d")
    assert result.exit_code == 2 and "--data-dir" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_data_dir_layout_is_one_line(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    result = cli("run", "vision-normals", "--model", "synthetic:blank", "--data-dir", tmp_path / "empty", "--out", tmp_path / "run")
    assert result.exit_code == 2 and "no normals dataset" in result.stderr and "Traceback" not in result.output
