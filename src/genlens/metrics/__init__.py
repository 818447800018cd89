"""Weight-free image metrics shared by suites: fidelity (PSNR/SSIM) and colour (CIELAB, ΔE2000)."""

from genlens.metrics.color import color_drift, mean_delta_e2000, mean_lab_shift, rgb_to_lab
from genlens.metrics.fidelity import (
    PSNR_CAP_DB,
    as_float_rgb,
    box_keep_mask,
    mask_bbox,
    mse,
    psnr,
    smartedit_background,
    ssim,
    ssim_map,
)

__all__ = [
    "PSNR_CAP_DB", "as_float_rgb", "box_keep_mask", "color_drift", "mask_bbox", "mean_delta_e2000",
    "mean_lab_shift", "mse", "psnr", "rgb_to_lab", "smartedit_background", "ssim", "ssim_map",
]
