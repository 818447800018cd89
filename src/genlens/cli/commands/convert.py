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


@convert_app.command("oneig-style-refs")
@user_errors
def oneig_style_refs_cmd(
    csd_embed: Annotated[Path, typer.Argument(help="OneIG's scripts/style/CSD_embed.pt (fetched by `genlens data fetch oneig`).")],
    se_embed: Annotated[Path, typer.Argument(help="OneIG's scripts/style/SE_embed.pt.")],
    out: Annotated[Path, typer.Option("--out", help="safetensors file to write (csd/<style>, se/<style>).")],
) -> None:
    """OneIG-Bench's reference style embeddings into one safetensors file (read with torch.load(weights_only=True))."""
    from genlens.suites._oneig_convert import convert_style_refs

    info = convert_style_refs(csd_embed, se_embed, out)
    out_console.print(f"wrote {info['tensors']} tensors for {info['styles']} styles -> {out}", highlight=False, markup=False)
    out_console.print(f"use it with: genlens run oneig --suite-arg style_refs={out}", highlight=False, markup=False)


@convert_app.command("oneig-csd")
@user_errors
def oneig_csd_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="CSD's checkpoint.pth (the CSD model the OneIG README links).")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write (CLIPVisionModelWithProjection, safetensors).")],
) -> None:
    """CSD (a fine-tuned CLIP ViT-L visual tower + style projection) into a CLIPVisionModelWithProjection folder."""
    from genlens.suites._oneig_convert import convert_csd

    if out.exists() and any(out.iterdir()):
        raise InputError("output directory is not empty", path=out, fix="give a new or empty --out directory")
    info = convert_csd(checkpoint, out)
    out_console.print(f"converted {info['tensors']} tensors (ViT {info['hidden_size']}-wide, {info['num_hidden_layers']} layers, "
                      f"projection {info['projection_dim']}) -> {out}", highlight=False, markup=False)
    out_console.print(f"use it with: genlens run oneig --suite-arg csd_model={out}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(convert_app, name="convert")
