"""The stated rule that makes real and generated images comparable before any detector sees them.

Generated images usually arrive as large lossless PNGs and real photos as JPEGs of another size,
so a detector can "win" on container and size alone (Grommelt et al., 2024, "Fake or JPEG?").
genlens removes both cues with one rule, applied identically to both sides:

1. decode to 8-bit RGB (alpha composited on white, palettes expanded);
2. **size** — take the centre square crop of side S from every image, where S is the smallest
   shorter side among all real and generated images, capped (default 512) and rounded down to a
   multiple of 8. Cropping never resamples, so pixel-level traces survive and no image gains or
   loses a resampling step the other side lacks;
3. **format** — when every image on both sides is lossless (PNG, WebP-lossless, BMP …), or every
   image is a JPEG of one same quality, pixels are used as decoded. Otherwise (lossy WebP, whose
   quality cannot be read, counts as lossy) every image on both sides is re-encoded once as JPEG at
   the *lowest* quality found among the JPEG inputs (estimated from their luminance quantisation
   tables: the libjpeg quality whose table is nearest), at most 95. Re-encoding at or below the
   harshest source quality overwrites the earlier quantisation; re-encoding above it would leave a
   double-compression trace on one side only (measured in tests: AUC 0.98 → 0.50 on same-process
   images that differed only in PNG vs JPEG q75). ``--format-rule jpeg`` forces the re-encoding
   and ``none`` turns it off.

The rule in words goes into ``detect.json`` (``normalisation``) and every report that shows it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image

FormatRule = Literal["auto", "jpeg", "none"]
LOSSY = frozenset({"jpeg", "webp-lossy"})  # WebP is lossy unless its bitstream is VP8L


@dataclass(frozen=True)
class ImageInfo:
    """What the rule needs to know about one image file: size, container format, JPEG quality."""

    width: int
    height: int
    format: str
    jpeg_quality: int | None = None


@dataclass(frozen=True)
class NormalisationRule:
    """A centre crop to ``crop``×``crop`` and, when ``jpeg_quality`` is set, one JPEG re-encode."""

    crop: int
    jpeg_quality: int | None
    reason: str = ""
    scope: str = "real and generated images"

    def describe(self) -> str:
        """The rule in one sentence, as stored in ``detect.json`` and ``probe.json``."""
        text = (f"decode to 8-bit RGB; centre square crop of {self.crop}x{self.crop} px on every image "
                f"(the smallest shorter side among {self.scope}, capped, multiple of 8; no resampling)")
        if self.jpeg_quality is None:
            return f"{text}; pixels used as decoded ({self.reason or 'no format change'})"
        return f"{text}; every image re-encoded once as JPEG quality {self.jpeg_quality} ({self.reason})"

    def apply(self, image: Image.Image) -> Image.Image:
        """The normalised image (RGB, ``crop``×``crop``)."""
        from genlens.forensics.features import as_rgb

        cropped = centre_crop(as_rgb(image), self.crop)
        return jpeg_roundtrip(cropped, self.jpeg_quality) if self.jpeg_quality is not None else cropped

    def to_json(self) -> dict[str, object]:
        return {"crop": self.crop, "jpeg_quality": self.jpeg_quality, "reason": self.reason, "scope": self.scope}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NormalisationRule:
        """The rule as :meth:`to_json` stored it."""
        quality = data.get("jpeg_quality")
        return cls(int(data["crop"]), None if quality is None else int(quality), str(data.get("reason", "")),
                   str(data.get("scope", "real and generated images")))


def centre_crop(image: Image.Image, side: int) -> Image.Image:
    """The centre ``side``×``side`` square (the image itself when it is already that size or smaller)."""
    width, height = image.size
    if width <= side and height <= side:
        return image
    left, top = (width - min(side, width)) // 2, (height - min(side, height)) // 2
    return image.crop((left, top, left + min(side, width), top + min(side, height)))


def jpeg_roundtrip(image: Image.Image, quality: int) -> Image.Image:
    """Encode as baseline JPEG (4:2:0 chroma, as libjpeg does by default) at ``quality`` and decode."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    out = Image.open(buffer)
    out.load()
    return out


def _compression_family(infos: Sequence[ImageInfo]) -> set[str]:
    return {info.format if info.format in LOSSY else "lossless" for info in infos}


def choose_rule(
    real: Sequence[ImageInfo], fake: Sequence[ImageInfo], *, max_crop: int = 512, format_rule: FormatRule = "auto",
    jpeg_quality: int = 95,
) -> NormalisationRule:
    """The rule for these two sets (see the module docstring for the statement).

    ``jpeg_quality`` caps the re-encoding quality (the lowest source quality is used below it).
    """
    sides = [min(info.width, info.height) for info in (*real, *fake)]
    crop = min([max_crop, *sides]) if sides else max_crop
    crop = max(8, crop // 8 * 8)
    qualities = sorted({info.jpeg_quality or jpeg_quality for info in (*real, *fake) if info.format in LOSSY})
    target = min([jpeg_quality, *qualities])
    if format_rule == "none":
        return NormalisationRule(crop, None, "format rule turned off")
    if format_rule == "jpeg":
        return NormalisationRule(crop, target, "forced by --format-rule jpeg")
    families_real, families_fake = _compression_family(real), _compression_family(fake)
    if families_real == families_fake == {"lossless"} or not (real or fake):
        return NormalisationRule(crop, None, "both sides are lossless")
    if families_real == families_fake == {"jpeg"} and len(qualities) == 1:
        return NormalisationRule(crop, None, f"both sides are JPEG quality {qualities[0]}")
    found = ", ".join(str(q) for q in sorted({i.jpeg_quality or jpeg_quality for i in (*real, *fake) if i.format == "jpeg"}))
    found = found or "none (lossy WebP only; its quality cannot be read)"
    return NormalisationRule(
        crop, target,
        f"real images are {'/'.join(sorted(families_real))}, generated are {'/'.join(sorted(families_fake))}; "
        f"JPEG qualities found: {found}; the lowest (at most {jpeg_quality}) is used",
    )
