"""Architecture families: which kind of generator made an image, recorded with every generation.

The architecture probe (``genlens probe``) learns families from labelled runs; the label comes from
here. It is looked up from the class that ran (a diffusers pipeline class, a transformers model
class) in :data:`CLASS_FAMILY`; API and imported images are ``api:unknown`` / ``unknown``; the user
overrides any of it with ``--model-arg family=NAME`` (recorded as ``family_source: model-arg``).
"""

from __future__ import annotations

from typing import Any

from genlens.errors import SpecError

#: The families genlens knows. ``vq-ar``: next-token prediction over VQ image tokens (Janus, Emu3,
#: LlamaGen); ``ar+diffusion``: an autoregressive planner whose tokens condition a diffusion decoder
#: (GLM-Image; the GPT-4o hypothesis); ``masked``: parallel masked-token decoding (MUSE, aMUSEd);
#: ``diffusion/flow``: denoising diffusion or flow matching in pixel/latent space (SD, SDXL, DiT,
#: FLUX, SD3, Qwen-Image); ``api:unknown``: a hosted model whose architecture is not public.
FAMILIES: tuple[str, ...] = ("vq-ar", "ar+diffusion", "masked", "diffusion/flow", "api:unknown", "unknown")

#: Pipeline / model class name -> family. Diffusers pipelines not listed here are diffusion/flow
#: (see :func:`family_of_class`); everything else not listed is ``unknown``.
CLASS_FAMILY: dict[str, str] = {
    # transformers autoregressive generators
    "JanusForConditionalGeneration": "vq-ar",
    "Emu3ForConditionalGeneration": "vq-ar",
    # diffusers pipelines that are not plain diffusion
    "GlmImagePipeline": "ar+diffusion",
    "AmusedPipeline": "masked",
    "AmusedImg2ImgPipeline": "masked",
    "AmusedInpaintPipeline": "masked",
    # diffusion / flow (listed for the record; unlisted diffusers pipelines default to it)
    "StableDiffusionPipeline": "diffusion/flow",
    "StableDiffusionXLPipeline": "diffusion/flow",
    "StableDiffusion3Pipeline": "diffusion/flow",
    "FluxPipeline": "diffusion/flow",
    "FluxKontextPipeline": "diffusion/flow",
    "QwenImagePipeline": "diffusion/flow",
    "QwenImageEditPipeline": "diffusion/flow",
    "DiTPipeline": "diffusion/flow",
    "PixArtAlphaPipeline": "diffusion/flow",
    "SanaPipeline": "diffusion/flow",
}

#: Backend scheme -> family when no class is known (hosted APIs, imported folders, test images).
SCHEME_FAMILY: dict[str, str] = {"openai": "api:unknown", "gemini": "api:unknown", "browser": "api:unknown",
                                 "folder": "unknown", "synthetic": "unknown"}


def check_family(name: str) -> str:
    """A family override must be one of :data:`FAMILIES` or a namespaced custom label (``custom:…``)."""
    if name in FAMILIES or (name.startswith("custom:") and len(name) > len("custom:")):
        return name
    raise SpecError(f"--model-arg family={name} is not a known family",
                    fix=f"use one of {', '.join(FAMILIES)}, or custom:<label>")


def family_of_class(class_name: str, *, library: str = "") -> str:
    """The family of a pipeline/model class (diffusers pipelines default to diffusion/flow)."""
    if class_name in CLASS_FAMILY:
        return CLASS_FAMILY[class_name]
    if library == "diffusers" and class_name.endswith("Pipeline"):
        return "diffusion/flow"
    return "unknown"


def family_record(params: dict[str, Any], *, class_name: str | None = None, scheme: str = "",
                  library: str = "") -> dict[str, str]:
    """``{"family": …, "family_source": …}`` for a generation's meta: model-arg, else class, else scheme."""
    if params.get("family"):
        return {"family": check_family(str(params["family"])), "family_source": "model-arg"}
    if class_name:
        return {"family": family_of_class(class_name, library=library), "family_source": f"class {class_name}"}
    return {"family": SCHEME_FAMILY.get(scheme, "unknown"), "family_source": f"backend {scheme}" if scheme else "default"}
