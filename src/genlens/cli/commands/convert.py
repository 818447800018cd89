"""``genlens convert mmdet-mask2former CKPT --out DIR``: GenEval's own detector weights, loadable by ``--detector DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from genlens.cli import out_console, user_errors
from genlens.errors import InputError

convert_app = typer.Typer(help="Convert third-party checkpoints into directories genlens loads (safetensors only).",
                          no_args_is_help=True)


@convert_app.command("mmdet-mask2former")
@user_errors
def mmdet_mask2former_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="mmdet 2.x Mask2Former checkpoint (.pth), e.g. GenEval's "
                                                    "mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco_20220504_001756-743b7d99.pth.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write (config, safetensors, processor, provenance).")],
) -> None:
    """Rename every mmdet parameter to transformers' Mask2Former; refuse on any missing, unexpected or mis-shaped key.

    The checkpoint is read with torch.load(weights_only=True): tensors and plain containers only.
    Pass the output directory to `genlens run geneval --detector DIR` for GenEval's own detector.
    """
    from genlens.scorers.mmdet_mask2former import convert

    if out.exists() and any(out.iterdir()):
        raise InputError("output directory is not empty", path=out, fix="give a new or empty --out directory")
    info = convert(checkpoint, out)
    out_console.print(f"converted {info['mmdet_parameters']} mmdet tensors into {info['transformers_parameters']} "
                      f"transformers tensors -> {out}", highlight=False, markup=False)
    out_console.print(f"use it with: genlens run geneval --detector {out}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(convert_app, name="convert")
