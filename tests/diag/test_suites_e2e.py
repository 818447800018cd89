"""Each diag suite end to end on the folder: and synthetic: backends, with outputs of known properties."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlens.runs.engine import image_stem

pytest.importorskip("cv2")
skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(autouse=True)
def input_cache(tmp_path_factory, monkeypatch):
    """Edit inputs are built into a per-session cache, never the user's."""
    monkeypatch.setenv("GENLENS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "genlens-cache"))


def run_suite(cli, suite: str, model: str, out: Path, *extra: str) -> dict:
    result = cli("run", suite, "--model", model, "--out", out, "--quiet", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads((out / "results.json").read_text())


def rows_of(out: Path) -> dict[str, dict]:
    return {row["item"]: row for row in map(json.loads, (out / "rows.jsonl").read_text().splitlines())}


def save(folder: Path, item_id: str, rgb: np.ndarray) -> None:
    Image.fromarray(rgb.astype(np.uint8)).save(folder / f"{item_id}.png")


# ---------------------------------------------------------------------------------------------
def test_diag_size_catches_wrong_sizes_crops_and_stretches(cli, tmp_path):
    from genlens.suites._diag import load_input_rgb
    from genlens.suites.diag_size import DiagSizeSuite

    folder = tmp_path / "out"
    folder.mkdir()
    items = DiagSizeSuite().items()
    for item in items:
        width, height = item.size
        if item.kind == "generate":
            # Every size honoured except the 4:1 ones, delivered as 1024 × 1024 (aspect error ln 4 = 1.386).
            size = (1024, 1024) if width / height in (4.0, 0.25) else (width, height)
            save(folder, item.id, np.full((size[1], size[0], 3), 90))
            continue
        source = load_input_rgb(item.input_images[0])
        if item.id.startswith("edit-i0"):
            save(folder, item.id, source)  # the frame kept exactly
        elif "astronaut" in item.id or "coffee" in item.id:
            # Silent crop: the central 80% (area 0.64) scaled back up to the requested size.
            h, w = source.shape[:2]
            crop = source[h // 10: h - h // 10, w // 10: w - w // 10]
            save(folder, item.id, np.asarray(Image.fromarray(crop).resize((w, h), Image.BICUBIC)))
        else:
            # Stretched to a square of the long side: |ln(scale_x / scale_y)| = |ln(w/h)| > 0.02 (or a size change).
            side = max(source.shape[:2])
            save(folder, item.id, np.asarray(Image.fromarray(source).resize((side, side), Image.BICUBIC)))
    out = tmp_path / "run"
    results = run_suite(cli, "diag-size", f"folder:{folder}", out)
    # Generation: 20 of 24 exact (the four 4:1 requests fail). Edits: 6 kept (i0), 2 cropped at the
    # right size, 3 resized to squares; the 777² input "stretched" to 777² is unchanged and passes.
    assert results["metrics"]["exact_size_rate"] == pytest.approx((20 + 6 + 2 + 1) / 36)
    assert results["categories"]["generate-extreme"]["exact_size_rate"] == 0.0
    assert results["categories"]["generate-extreme"]["mean_aspect_error"] == pytest.approx(np.log(4))
    assert results["metrics"]["edit_geometry_kept_rate"] == pytest.approx(7 / 12)
    assert results["metrics"]["edit_crop_rate"] == pytest.approx(2 / 12)
    assert results["headline"]["pass_rate"] == pytest.approx((20 + 6 + 1) / 36)
    rows = rows_of(out)
    cropped = rows["edit-i1-astronaut-1000x600"]
    assert cropped["cropped"] is True and cropped["registration"]["visible_fraction"] == pytest.approx(0.64, abs=0.02)
    assert cropped["registration"]["scale_x"] == pytest.approx(1.25, rel=0.02)
    assert rows["edit-i1-rocket-937x611"]["passed"] is False
    # chelsea 1200 × 400 delivered as 1200 × 1200: only registered after undoing the stretch; scale_y = 3.
    stretched = rows["edit-i1-chelsea-1200x400"]
    assert stretched["stretched"] is True and stretched["registration"]["scale_y"] == pytest.approx(3.0, rel=0.02)
    assert results["counts"]["edits_registered"] == 12


def test_diag_size_on_the_synthetic_fixed_model(cli, tmp_path):
    # synthetic:fixed always answers 512 × 512: of the first 3 items (1024², 512², 1536×1024) one is exact.
    results = run_suite(cli, "diag-size", "synthetic:fixed", tmp_path / "run", "--limit", "3")
    assert results["metrics"]["exact_size_rate"] == pytest.approx(1 / 3)
    assert results["categories"]["generate-square"]["n"] == 2


# ---------------------------------------------------------------------------------------------
def test_diag_blur_compliance_against_matched_sharp_images(cli, tmp_path):
    import cv2

    from genlens.suites._diag import fit_to, load_input_rgb, photo
    from genlens.suites.diag_blur import DiagBlurSuite

    folder = tmp_path / "out"
    folder.mkdir()
    scenes = [fit_to(photo(name), (512, 384)) for name in ("astronaut", "coffee", "rocket", "chelsea", "hubble_deep_field")]
    for item in DiagBlurSuite().items():
        style = item.meta["style"]
        base = scenes[item.meta["scene"]] if item.kind == "generate" else load_input_rgb(item.input_images[0])
        if style == "sharp" or (style == "motion-blur" and item.kind == "generate"):
            image = base  # motion blur asked, a sharp picture delivered (lap ratio 1)
        elif item.id == "gen-s0-low-detail":
            # Low detail asked, a sharpened picture delivered: unsharp mask (1.5·I − 0.5·blur) raises the Laplacian.
            image = np.clip(1.5 * base - 0.5 * cv2.GaussianBlur(base, (0, 0), 2.0), 0, 255)
        elif style == "fog":
            image = 0.4 * base + 0.6 * 255  # contrast × 0.4: Laplacian variance × 0.16
        else:
            image = cv2.GaussianBlur(base, (0, 0), 3.0)
        save(folder, item.id, np.asarray(image))
    out = tmp_path / "run"
    results = run_suite(cli, "diag-blur", f"folder:{folder}", out)
    # 32 soft images (20 generated, 12 edits); the 5 generated motion-blur ones and the sharpened
    # low-detail one fail: 26 / 32; one of 32 is crisper than its sharp twin.
    assert results["headline"]["compliance_rate"] == pytest.approx(26 / 32)
    assert results["metrics"]["sharpened_rate"] == pytest.approx(1 / 32)
    assert results["categories"]["low-detail"]["sharpened_rate"] == pytest.approx(1 / 8)
    assert results["categories"]["motion-blur"]["compliance_rate"] == pytest.approx(3 / 8)
    assert results["categories"]["motion-blur"]["sharpened_rate"] == 0.0  # ratio exactly 1 is not sharper
    assert results["categories"]["fog"]["geo_mean_lap_ratio"] == pytest.approx(0.16, abs=0.01)
    assert results["categories"]["sharp"]["n"] == 5
    assert results["counts"]["soft_images_judged"] == 32
    rows = rows_of(out)
    assert rows["gen-s0-motion-blur"]["lap_ratio"] == pytest.approx(1.0) and rows["gen-s0-motion-blur"]["passed"] is False


# ---------------------------------------------------------------------------------------------
def test_tone_shift_of_a_flat_grey_by_hand():
    # Lab (50, 0, 0) -> (50, 0, 6): ΔE2000 = ΔC' / S_C with C̄' = 3, S_C = 1 + 0.045·3 = 1.135,
    # so 6 / 1.135 = 5.286 (ΔH' = 0 as one colour is neutral). 8-bit rounding: ±0.15.
    from skimage.color import lab2rgb

    from genlens.suites.diag_tone import tone_shift

    def flat(b: float) -> np.ndarray:
        lab = np.zeros((16, 16, 3))
        lab[..., 0], lab[..., 2] = 50, b
        return (lab2rgb(lab) * 255).round().astype(np.uint8)

    shift = tone_shift(flat(0), flat(6), np.ones((16, 16), bool))
    assert shift["delta_e_mean"] == pytest.approx(5.286, abs=0.15)
    assert shift["delta_b"] == pytest.approx(6.0, abs=0.3) and shift["delta_a"] == pytest.approx(0.0, abs=0.5)
    assert shift["exposure_stops"] == pytest.approx(0.0, abs=0.03)


def test_diag_tone_separates_clean_local_edits_from_a_warm_no_op(cli, tmp_path):
    from skimage.color import lab2rgb, rgb2lab

    from genlens.suites._diag import load_input_rgb
    from genlens.suites.diag_tone import DiagToneSuite

    folder = tmp_path / "out"
    folder.mkdir()
    for item in DiagToneSuite().items():
        source = load_input_rgb(item.input_images[0])
        if item.category == "local-edit":
            edited = source.copy()
            disc = (source == (220, 20, 30)).all(axis=-1)
            edited[disc] = (30, 40, 220)  # only the disc turns blue
            save(folder, item.id, edited)
        elif item.id.startswith("noop0"):
            save(folder, item.id, source)
        else:
            lab = rgb2lab(source)
            lab[..., 2] += 6  # a warm cast of +6 b* everywhere
            save(folder, item.id, (lab2rgb(lab) * 255).round())
    out = tmp_path / "run"
    results = run_suite(cli, "diag-tone", f"folder:{folder}", out)
    local, noop = results["categories"]["local-edit"], results["categories"]["no-op"]
    assert local["n"] == 8 and local["tone_shift_rate"] == 0.0 and local["mean_delta_e"] == pytest.approx(0.0, abs=0.05)
    assert local["mean_region_delta_e"] > 20 and local["edit_made_rate"] == 1.0  # the edit itself was made
    # Half the no-ops come back with the +6 b* cast (gamut clipping keeps it a little under 6).
    assert noop["warm_shift_rate"] == 0.5 and noop["tone_shift_rate"] == 0.5
    assert noop["mean_delta_b"] == pytest.approx(6.0 / 2, abs=0.5)
    warm = rows_of(out)["noop1-astronaut"]
    assert warm["warm_shift"] is True and 4.5 < warm["delta_b"] < 6.2 and warm["alignment"] == "identity"


# ---------------------------------------------------------------------------------------------
def test_diag_text_reads_measurable_scripts_and_marks_the_rest(cli, tmp_path):
    from PIL import ImageDraw, ImageFont

    from genlens.suites.diag_text import DiagTextSuite

    pytest.importorskip("rapidocr")
    cjk = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
    dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not cjk.exists() or not Path(dejavu).exists():
        pytest.skip("CJK or DejaVu font not installed (.ci/run installs fonts-wqy-zenhei)")
    folder = tmp_path / "out"
    folder.mkdir()
    for item in DiagTextSuite().items():
        text = item.meta["text"] if item.id != "en-medium" else "Fresh Bred Daily"  # one misspelling
        font = ImageFont.truetype(str(cjk) if item.meta["script"] in ("zh", "ja", "ko") else dejavu, 40)
        image = Image.new("RGB", (1024, 256), "white")
        ImageDraw.Draw(image).text((30, 100), text, font=font, fill="black")
        image.save(folder / f"{item.id}.png")
    out = tmp_path / "run"
    results = run_suite(cli, "diag-text", f"folder:{folder}", out)
    cats = results["categories"]
    # en: one of 15 characters missing in one of three strings -> CER (1/15)/3, exact 2/3.
    assert cats["en"]["cer"] == pytest.approx(1 / 45) and cats["en"]["exact_match_rate"] == pytest.approx(2 / 3)
    assert cats["zh"]["exact_match_rate"] == 1.0 and cats["ja"]["exact_match_rate"] == 1.0
    for script in ("ko", "ru", "ar", "hi"):
        assert cats[script]["cer"] is None and cats[script]["measurable"] is False and cats[script]["n"] == 0
    assert results["extra"]["measurable_scripts"] == ["en", "zh", "ja"]
    assert results["headline"]["exact_match_rate"] == pytest.approx(8 / 9)
    assert results["counts"]["not_measurable"] == 12
    assert rows_of(out)["en-medium"]["text"] == {"expected": "Fresh Bread Daily", "read": "Fresh Bred Daily"}


# ---------------------------------------------------------------------------------------------
def test_diag_people_counts_faces_per_category(cli, tmp_path):
    pytest.importorskip("mediapipe")
    from genlens.suites.diag_people import DiagPeopleSuite

    astronaut = skimage_data.astronaut()
    pair = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    folder = tmp_path / "out"
    folder.mkdir()
    for item in DiagPeopleSuite().items():
        people = item.meta["people"]
        image = astronaut if people == 1 else pair if people == 2 else skimage_data.coffee()
        save(folder, item.id, image)
    out = tmp_path / "run"
    results = run_suite(cli, "diag-people", f"folder:{folder}", out)
    cats = results["categories"]
    assert cats["count-1"]["count_exact_rate"] == 1.0 and cats["count-2"]["count_exact_rate"] == 1.0
    assert cats["count-4"]["count_exact_rate"] == 0.0 and cats["count-4"]["mean_count_error"] == -4
    # interactions ask 1, 1, 2, 2, 2, 3 people: the 3-person one gets a coffee cup (error −3).
    assert cats["interaction"]["count_exact_rate"] == pytest.approx(5 / 6)
    assert results["headline"]["count_exact_rate"] == pytest.approx((4 + 5) / 18)
    assert results["metrics"]["undercount_rate"] == pytest.approx(9 / 18)
    assert rows_of(out)["count1-p0"]["boxes"][0]["label"] == "face"


def test_tone_is_measured_after_undoing_a_silent_zoom():
    # A no-op answered with a 10% zoom (crop of the centre, scaled back to the same size): a
    # pixel-by-pixel comparison would see large ΔE; after registration only resampling remains.
    from genlens.suites._diag import load_input_rgb
    from genlens.suites.diag_tone import measure

    source = load_input_rgb("diag/v1/tone/astronaut-disc.png")
    h, w = source.shape[:2]
    zoomed = np.asarray(Image.fromarray(source[h // 20: h - h // 20, w // 20: w - w // 20]).resize((w, h), Image.BICUBIC))
    value = measure(source, zoomed, None)
    assert value["alignment"] == "registered"
    assert value["delta_e_mean"] < 2.0 and abs(value["delta_b"]) < 0.5


def test_refusals_fail_the_size_check_and_are_counted(cli, tmp_path):
    # The first 3 items all ask for the lighthouse; the synthetic model refuses them: pass rate 0 of 3.
    results = run_suite(cli, "diag-size", "synthetic:gradient", tmp_path / "run", "--limit", "3",
                        "--model-arg", "refuse=lighthouse")
    assert results["headline"]["pass_rate"] == 0.0
    assert results["counts"]["refused"] == 3 and results["counts"]["images_scored"] == 0


def test_a_missing_scoring_dependency_is_one_line(cli, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rapidocr" else real(name, *a))
    result = cli("run", "diag-text", "--model", "synthetic:blank", "--out", tmp_path / "run", "--limit", "1", "-q")
    assert result.exit_code == 2
    assert "diag-text scoring needs rapidocr" in result.stderr and "genlens[ocr]" in result.stderr


def test_size_rows_say_when_the_backend_mapped_the_size():
    from genlens.suites.diag_size import backend_size_notes

    meta = {"sent_size": "1536x1024", "requested_size": [1792, 1024], "size_rule": "gpt-image-1 accepts only …", "latency_s": 1.0}
    assert backend_size_notes(meta) == {"sent_size": "1536x1024", "requested_size": [1792, 1024], "size_rule": "gpt-image-1 accepts only …"}
    assert backend_size_notes({"resized": {"image": "fit 1536"}}) == {"inputs_resized_by_backend": {"image": "fit 1536"}}


def test_an_unreadable_output_is_one_line_not_an_aborted_run(cli, tmp_path):
    # Three generation items, all at the asked size; after generation one stored output is
    # damaged. Scoring goes on: two pass (2 / 2), the damaged one is an `error` record, counted
    # and shown as a row; once the file is good again the next `genlens score` retries and scores it.
    from genlens.suites.diag_size import DiagSizeSuite

    folder = tmp_path / "out"
    folder.mkdir()
    items = DiagSizeSuite().items()[:3]
    for item in items:
        width, height = item.size
        save(folder, item.id, np.full((height, width, 3), 90))
    out = tmp_path / "run"
    assert cli("generate", "diag-size", "--model", f"folder:{folder}", "--out", out, "--quiet", "--limit", "3").exit_code == 0
    stored = out / "images" / f"{image_stem(items[1].id, 0)}.png"
    good = stored.read_bytes()
    stored.write_bytes(b"not a png at all")
    result = cli("score", out, "--quiet")
    # the other images are scored; the changed one is named on one line (exit 2) and scored once it is fixed
    assert result.exit_code == 2, result.output
    assert "changed since it was generated" in result.output and items[1].id in result.output
    assert "Traceback" not in result.output
    results = json.loads((out / "results.json").read_text())
    assert results["counts"]["images_scored"] == 2
    assert results["headline"]["pass_rate"] == 1.0  # 2 of 2 scored pass; the unscored one is excluded
    stored.write_bytes(good)
    assert cli("score", out, "--quiet").exit_code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["counts"]["scorer_errors"] == 0 and results["counts"]["images_scored"] == 3


def test_diag_text_headline_counts_refusals_like_the_per_script_table(tmp_path):
    # en: two exact reads (CER 0) and one read with CER 0.3; zh: one exact read and two refusals;
    # ko: one unmeasurable read and one refusal (ko is not measurable, so its refusal is not penalised).
    # Headline exact = (en 2 + zh 1) / (3 + 3) = 0.5; overall CER = (0 + 0 + 0.3 + 0 + 1 + 1) / 6 = 2.3 / 6;
    # zh table: CER (0 + 1 + 1) / 3 = 2/3, exact 1/3, n 3.
    from genlens.suites.base import ScoreContext
    from genlens.suites.diag_text import DiagTextSuite
    from genlens.types import GenerationRecord, Item, ScoredGeneration, ScoreRecord

    def entry(script: str, index: int, status: str = "ok", cer: float | None = 0.0) -> ScoredGeneration:
        item = Item(id=f"{script}-{index}", prompt="p", category=script, meta={"text": "t", "script": script, "length": "short"})
        gen = GenerationRecord(fingerprint="g", item_id=item.id, sample=0, seed=0, status=status,
                               images=["x.png"] if status == "ok" else [], reason="policy" if status == "refused" else "")
        if status != "ok":
            return ScoredGeneration(item, gen)
        value = {"measurable": cer is not None, "cer": cer, "exact": None if cer is None else cer == 0, "read": "t",
                 "reason": "not measurable here" if cer is None else "r"}
        return ScoredGeneration(item, gen, {"diag_text": ScoreRecord("s", "g", "diag_text", "ok", value)})

    scored = [entry("en", 0), entry("en", 1), entry("en", 2, cer=0.3),
              entry("zh", 0), entry("zh", 1, "refused"), entry("zh", 2, "refused"),
              entry("ko", 0, cer=None), entry("ko", 1, "refused")]
    results = DiagTextSuite().aggregate(scored, ScoreContext(run_dir=tmp_path))
    assert results.headline["exact_match_rate"] == pytest.approx(0.5)
    assert results.metrics["cer"] == pytest.approx(2.3 / 6)
    assert results.categories["zh"]["cer"] == pytest.approx(2 / 3)
    assert results.categories["zh"]["exact_match_rate"] == pytest.approx(1 / 3) and results.categories["zh"]["n"] == 3
    assert results.categories["ko"]["n"] == 0 and results.counts["refusals_penalised"] == 2


@pytest.mark.parametrize("resample", ["bicubic", "lanczos"])
def test_an_unchanged_but_upscaled_edit_does_not_comply_with_a_blur_request(resample):
    # coffee (400 × 600) returned untouched at 3× (1200 × 1800): compared with the input at its own
    # size the Laplacian ratio was 0.50 (bicubic) — "complied". Against the input resized to the
    # output's size it is 1.0 (bicubic, the same resampling) or ~1.2 (Lanczos overshoot): not softer.
    from genlens.suites._diag import load_input_rgb
    from genlens.suites.diag_blur import compliance, edit_reference, sharpness

    source = load_input_rgb("diag/v1/blur/coffee.png")
    h, w = source.shape[:2]
    output = np.asarray(Image.fromarray(source).resize((3 * w, 3 * h), getattr(Image, resample.upper())))
    verdict = compliance(sharpness(output), sharpness(edit_reference(source, output.shape)))
    assert verdict["complied"] is False and verdict["lap_ratio"] >= 0.99
    assert edit_reference(source, source.shape) is source  # same size: the input itself


def test_diag_tone_leaves_unregistered_outputs_out_of_the_rates(tmp_path):
    # Three no-ops: registered ΔE 3.0 (shifted), registered ΔE 1.0, not registered ΔE 20 (misplaced pixels).
    # tone_shift_rate = 1 / 2 (not 2 / 3); headline mean ΔE = (3 + 1) / 2 = 2.0; not_registered 1 of 3.
    from genlens.suites.base import ScoreContext
    from genlens.suites.diag_tone import DiagToneSuite
    from genlens.types import GenerationRecord, Item, ScoredGeneration, ScoreRecord

    def entry(index: int, delta_e: float, alignment: str) -> ScoredGeneration:
        item = Item(id=f"noop{index}", prompt="p", category="no-op", kind="edit", meta={"region": None})
        gen = GenerationRecord(fingerprint="g", item_id=item.id, sample=0, seed=0, status="ok", images=["x.png"])
        value = {"alignment": alignment, "outside_pixels": 100, "delta_e_mean": delta_e, "delta_e_p95": delta_e,
                 "delta_L": 0.0, "delta_a": 0.0, "delta_b": 0.0, "exposure_stops": 0.0, "wb_rg_shift": 0.0, "wb_bg_shift": 0.0,
                 "tone_shifted": delta_e > 2.0, "warm_shift": False, "cool_shift": False}
        return ScoredGeneration(item, gen, {"diag_tone": ScoreRecord("s", "g", "diag_tone", "ok", value)})

    scored = [entry(0, 3.0, "registered"), entry(1, 1.0, "identity"), entry(2, 20.0, "resized (did not register)")]
    results = DiagToneSuite().aggregate(scored, ScoreContext(run_dir=tmp_path))
    assert results.metrics["tone_shift_rate"] == pytest.approx(0.5)
    assert results.categories["no-op"]["tone_shift_rate"] == pytest.approx(0.5) and results.categories["no-op"]["n"] == 2
    assert results.headline["mean_delta_e_outside"] == pytest.approx(2.0)
    assert results.counts["not_registered"] == 1 and results.metrics["not_registered_rate"] == pytest.approx(1 / 3)
    unregistered = next(r for r in results.rows if r["item"] == "noop2")
    assert unregistered["passed"] is None and "does not register" in unregistered["reason"]


def test_diag_inputs_follow_the_user_cache_dir_rule(tmp_path, monkeypatch):
    # No GENLENS_CACHE_DIR: $XDG_CACHE_HOME/genlens; a GENLENS_CACHE_DIR with "~" is expanded.
    from genlens.suites._diag import ensure_input

    monkeypatch.delenv("GENLENS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    name = "diag/v1/tone/astronaut-disc.png"
    assert ensure_input(name) == tmp_path / "xdg" / "genlens" / name
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GENLENS_CACHE_DIR", "~/gl-cache")
    assert ensure_input(name) == tmp_path / "home" / "gl-cache" / name and (tmp_path / "home" / "gl-cache" / name).is_file()
