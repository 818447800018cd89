"""Weight-free probes on constructed images whose properties are known by construction."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

cv2 = pytest.importorskip("cv2")
skimage_data = pytest.importorskip("skimage.data")

from genlens.scorers import image_stats as S  # noqa: E402


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage_data.astronaut()


@pytest.fixture(scope="module")
def gray(astronaut: np.ndarray) -> np.ndarray:
    return S.luminance(Image.fromarray(astronaut))


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    image = Image.open(io.BytesIO(buffer.getvalue()))
    image.load()
    return image


def test_laplacian_variance_of_a_blurred_grating_follows_the_gaussian_transfer():
    # I = 100 sin(2π x / 16). The 4-neighbour Laplacian of a horizontal sinusoid is
    # −(2 − 2cos(2π/16)) I, so var = 100²/2 × (2 − 2cos(π/8))² = 5000 × 0.15224² = 115.9.
    # A Gaussian blur of σ = 2 scales the amplitude by exp(−2π²σ²f²) = exp(−2π²·4/256) = 0.7346,
    # so the variance by 0.7346² = 0.5396.
    x = np.arange(256, dtype=np.float32)
    grating = np.tile(100 * np.sin(2 * np.pi * x / 16), (256, 1)).astype(np.float32)
    sharp = S.laplacian_variance(grating)
    assert sharp == pytest.approx(5000 * (2 - 2 * np.cos(np.pi / 8)) ** 2, rel=0.02)
    blurred = cv2.GaussianBlur(grating, (0, 0), 2.0, borderType=cv2.BORDER_REFLECT)
    assert S.laplacian_variance(blurred) / sharp == pytest.approx(0.5396, rel=0.03)


def test_high_frequency_share_of_pure_gratings():
    # A grating at 0.375 cycles/px has all its (non-DC) energy above the 0.25 cut-off; one at
    # 0.0625 has none (Hann leakage spreads a few bins, far from the cut-off): share 1 and 0.
    x = np.arange(512, dtype=np.float32)
    high = np.tile(np.sin(2 * np.pi * 0.375 * x), (512, 1)).astype(np.float32)
    low = np.tile(np.sin(2 * np.pi * 0.0625 * x), (512, 1)).astype(np.float32)
    assert S.high_frequency_share(high) == pytest.approx(1.0, abs=0.01)
    assert S.high_frequency_share(low) == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("sigma", [1.5, 2.0, 3.0])
def test_edge_blur_sigma_recovers_the_blur_of_a_step_edge(sigma: float):
    # A step blurred by σ and re-blurred by σ0 = 1 has gradient ratio R = sqrt(σ² + 1) / σ at the
    # edge, so σ0 / sqrt(R² − 1) = σ. Discrete Sobel gradients bias it by < 0.2 px at σ ≥ 1.5.
    step = np.full((256, 256), 20.0, dtype=np.float32)
    step[:, 128:] = 220.0
    blurred = cv2.GaussianBlur(step, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    assert S.edge_blur_sigma(blurred) == pytest.approx(sigma, abs=0.2)


def test_edge_blur_sigma_of_a_photo_blurred_by_a_known_sigma(gray: np.ndarray):
    # Blurs add in quadrature: the astronaut's own edge blur σi (≈ 0.85 px, measured here) and
    # an added σ = 3 give sqrt(9 + σi²) ≈ 3.1; ±0.35 px for edges that are not ideal steps.
    own = S.edge_blur_sigma(gray)
    assert own is not None and 0.5 < own < 1.3
    blurred = cv2.GaussianBlur(gray, (0, 0), 3.0)
    assert S.edge_blur_sigma(blurred) == pytest.approx(np.sqrt(9 + own ** 2), abs=0.35)


def test_noise_sigma_reads_added_gaussian_noise_on_a_linear_ramp():
    # Immerkær's kernel cancels any linear image, so the ramp alone reads 0 and ramp + N(0, 5²)
    # reads 5 (the estimator is unbiased for Gaussian noise; ±0.2 for 64k samples).
    y, x = np.mgrid[0:256, 0:256]
    ramp = (0.5 * x + 0.3 * y + 40).astype(np.float32)
    noisy = ramp + np.random.default_rng(0).normal(0, 5, ramp.shape).astype(np.float32)
    assert S.noise_sigma(ramp) == pytest.approx(0.0, abs=1e-3)
    assert S.noise_sigma(noisy) == pytest.approx(5.0, abs=0.2)


def test_colour_cast_of_a_grey_with_known_b_star():
    # Lab (50, 0, +6) rendered to 8-bit sRGB reads back b* = 6 within quantisation (±0.3) and
    # a* ≈ 0 (±0.5): a warm cast of +6 b*.
    from skimage.color import lab2rgb

    lab = np.zeros((32, 32, 3))
    lab[..., 0], lab[..., 2] = 50, 6
    rgb = (lab2rgb(lab) * 255).round().astype(np.uint8)
    stats = S.colour_stats(rgb)
    assert stats["cast_b"] == pytest.approx(6.0, abs=0.3)
    assert stats["cast_a"] == pytest.approx(0.0, abs=0.5)
    assert stats["mean_L"] == pytest.approx(50.0, abs=0.3)
    assert stats["wb_bg"] < 0  # less blue than green: warm


@pytest.mark.parametrize("quality", [30, 50, 75, 90, 95])
def test_jpeg_quality_from_the_files_quantisation_table(astronaut: np.ndarray, quality: int):
    # Pillow writes libjpeg's scaled Annex K table, so the nearest scaled table is the quality itself.
    image = jpeg_roundtrip(astronaut, quality)
    result = S.jpeg_probe(image, S.luminance(image))
    assert result["jpeg_quality"] == quality
    assert result["jpeg_quality_source"] == "quantisation table"
    assert result["double_compression_hint"] is False


@pytest.mark.parametrize("first", [50, 75])
def test_double_compression_hint_after_a_coarser_first_pass(astronaut: np.ndarray, first: int):
    # q50 then q90: the (0,1) step goes 11 -> 2, so |k| only lands near multiples of 5.5 and the
    # bins between stay empty; a single q90 pass fills every bin.
    once = jpeg_roundtrip(astronaut, 90)
    twice = jpeg_roundtrip(np.asarray(jpeg_roundtrip(astronaut, first).convert("RGB")), 90)
    assert S.jpeg_probe(once, S.luminance(once))["double_compression_hint"] is False
    hint = S.jpeg_probe(twice, S.luminance(twice))
    assert hint["double_compression_hint"] is True and hint["histogram_holes"] >= 3


@pytest.mark.parametrize("quality", [30, 50, 75, 90])
def test_jpeg_quality_estimated_from_pixels_of_a_png(astronaut: np.ndarray, quality: int):
    # A JPEG decoded and stored losslessly keeps DCT coefficients on multiples of its steps;
    # matching the steps found at 8 low frequencies to libjpeg's tables gives the quality ±3.
    pixels = Image.fromarray(np.asarray(jpeg_roundtrip(astronaut, quality).convert("RGB")))
    result = S.jpeg_probe(pixels, S.luminance(pixels))
    assert result["jpeg_history"] is True
    assert result["jpeg_quality"] == pytest.approx(quality, abs=3)
    untouched = Image.fromarray(astronaut)
    assert S.jpeg_probe(untouched, S.luminance(untouched))["jpeg_history"] is False


@pytest.mark.parametrize("period", [8, 16])
def test_patch_grid_of_block_quantised_images(gray: np.ndarray, period: int):
    # Each P×P block replaced by its mean: every P-th difference is a block step, the rest are 0.
    # Rolled by (dy, dx) = (3, 5) the first boundary sits at x = 5, y = 3.
    h, w = gray.shape
    blocks = gray.reshape(h // period, period, w // period, period).mean(axis=(1, 3))
    quantised = blocks.repeat(period, 0).repeat(period, 1)
    assert S.patch_grid(quantised)["patch_grid"] == period
    rolled = S.patch_grid(np.roll(quantised, (3, 5), (0, 1)))
    assert rolled["patch_grid"] == period and rolled["grid_offset"] == [5, 3]
    assert S.patch_grid(gray)["patch_grid"] is None


def test_faint_patch_grid_of_per_block_offsets(gray: np.ndarray):
    # ±8 grey-level offsets per 8×8 block on the photo: boundary steps grow by E|U−U'| ≈ 5.6
    # against interior steps of ≈ 9 — strength ≈ 0.5, above the 0.25 threshold; ±2 stays below.
    rng = np.random.default_rng(1)
    h, w = gray.shape
    strong = rng.integers(-8, 9, (h // 8, w // 8)).repeat(8, 0).repeat(8, 1).astype(np.float32)
    weak = rng.integers(-2, 3, (h // 8, w // 8)).repeat(8, 0).repeat(8, 1).astype(np.float32)
    assert S.patch_grid(gray + strong)["patch_grid"] == 8
    assert S.patch_grid(gray + weak)["patch_grid"] is None


@pytest.mark.parametrize("method", [Image.NEAREST, Image.BILINEAR, Image.BICUBIC])
def test_upscaling_by_two_peaks_at_half_a_cycle_per_pixel(astronaut: np.ndarray, method: int):
    # Nearest ×2 repeats every pixel (every other first difference is 0); linear ×2 puts a
    # midpoint between samples (every other second difference is 0): period 2 = 0.5 cycles/px.
    small = Image.fromarray(astronaut).resize((256, 256), Image.LANCZOS)
    upscaled = S.luminance(small.resize((512, 512), method))
    result = S.resampling_peaks(upscaled, S.patch_grid(upscaled)["patch_grid"])
    assert result["upsampling_period"] == pytest.approx(2.0, abs=0.02)
    assert result["resampling_peaks"][0]["frequency"] == pytest.approx(0.5, abs=2 / 512)


def test_upscaling_by_three_peaks_at_a_third(astronaut: np.ndarray):
    small = Image.fromarray(astronaut).resize((170, 170), Image.LANCZOS)
    upscaled = S.luminance(small.resize((510, 510), Image.BILINEAR))
    assert S.resampling_peaks(upscaled)["upsampling_period"] == pytest.approx(3.0, abs=0.05)


def test_an_untouched_photo_has_no_resampling_peaks(gray: np.ndarray):
    assert S.resampling_peaks(gray)["upsampling_period"] is None


def test_probe_file_reports_every_probe(tmp_path, astronaut: np.ndarray):
    path = tmp_path / "a.jpg"
    Image.fromarray(astronaut).save(path, quality=80)
    result = S.probe_file(path)
    for key in ("laplacian_var", "hf_share", "edge_blur_sigma", "noise_sigma", "cast_b", "patch_grid",
                "upsampling_period", "jpeg_quality", "double_compression_hint"):
        assert key in result
    assert result["jpeg_quality"] == 80 and result["width"] == 512


def test_blockiness_grows_as_jpeg_quality_falls(astronaut: np.ndarray):
    # Coarser quantisation -> stronger 8×8 block edges; the untouched photo has none (≈ 0 ± 0.05).
    def block(image: Image.Image) -> float:
        gray = S.luminance(image.convert("RGB"))
        return S.blockiness(S._difference_profiles(gray))

    values = [block(jpeg_roundtrip(astronaut, q)) for q in (20, 50, 90)]
    assert values[0] > values[1] > values[2]
    assert abs(block(Image.fromarray(astronaut))) < 0.05


def test_libjpeg_tables_equal_the_tables_pillow_writes_for_every_quality():
    # libjpeg scales in integers: q = 12 -> 5000 // 12 = 416 (float 416.67); base 40 -> (40·416 + 50) // 100 =
    # 16690 // 100 = 166, where the float formula gave floor((16666.7 + 50) / 100) = 167.
    import io

    import numpy as np
    from PIL import Image

    from genlens.scorers.image_stats import libjpeg_table, quality_from_table

    tiny = Image.new("RGB", (8, 8), (120, 80, 40))
    for quality in range(1, 101):
        buffer = io.BytesIO()
        tiny.save(buffer, format="JPEG", quality=quality)
        written = np.array(Image.open(buffer).quantization[0], dtype=np.float64)
        assert np.array_equal(libjpeg_table(quality), written.reshape(libjpeg_table(quality).shape)), quality
        assert quality_from_table(written)[1] == 0.0, quality
    assert libjpeg_table(12)[0, 5] == 166


def test_colour_measures_agree_with_scikit_image_lab():
    # genlens.metrics.color (float32 LUT) against skimage's float64 rgb2lab / deltaE_ciede2000 on a photo.
    import numpy as np
    from skimage import data
    from skimage.color import deltaE_ciede2000, rgb2lab

    from genlens.scorers.image_stats import colour_stats
    from genlens.suites.diag_tone import tone_shift

    rgb = data.coffee()[::4, ::4]
    warmer = np.clip(rgb.astype(np.int16) + np.array([12, 0, -12]), 0, 255).astype(np.uint8)
    lab = rgb2lab(rgb).reshape(-1, 3)
    stats = colour_stats(rgb)
    assert stats["cast_a"] == pytest.approx(lab[:, 1].mean(), abs=1e-3) and stats["cast_b"] == pytest.approx(lab[:, 2].mean(), abs=1e-3)
    assert stats["mean_L"] == pytest.approx(lab[:, 0].mean(), abs=1e-3)
    shift = tone_shift(rgb, warmer, np.ones(rgb.shape[:2], bool))
    expected = deltaE_ciede2000(rgb2lab(rgb), rgb2lab(warmer))
    assert shift["delta_e_mean"] == pytest.approx(expected.mean(), abs=1e-3)
    assert shift["delta_b"] == pytest.approx((rgb2lab(warmer) - rgb2lab(rgb))[..., 2].mean(), abs=1e-3)


def test_best_period_of_a_profile_no_lag_repeats():
    """A single spike anti-correlates with itself at every lag, yet a period comes back.

    Worked by hand: N = 300 zeros with a 1 at index 100, mean removed (c = −1/N off the spike).
    At lag L the products are two spike-by-background terms −(1/N)(1 − 1/N) plus N − L − 2
    background pairs 1/N², so the sum is (−N − L)/N² + small < 0 for every L in 2..64 — the old
    "within 75% of the best" rule chose nothing and raised. The least negative lag is L = 2;
    folding by 2 puts the spike (index 100, even) in phase 0.
    """
    profile = np.zeros(300)
    profile[100] = 1.0
    assert S.best_period(profile) == (2, 0)


def test_probe_image_of_the_clock_sample_does_not_crash():
    """scikit-image's clock() photo made best_period raise (every lag anti-correlated)."""
    result = S.probe_image(Image.fromarray(skimage_data.clock()))
    assert result["patch_grid"] is None
