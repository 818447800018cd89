"""``diffusers:<hub id or local dir>`` — local diffusion pipelines, batched, seeded per (item, sample).

The pipeline is loaded once with ``DiffusionPipeline.from_pretrained`` (the class named in the
folder's ``model_index.json``). Edits go to pipelines whose call takes ``image=`` (InstructPix2Pix,
FLUX Kontext, Qwen-Image-Edit, img2img …); a text-to-image pipeline edits through
``AutoPipelineForImage2Image.from_pipe`` (shared weights, ``strength``), recorded in the meta.
Every image has its own ``torch.Generator`` seeded from the request's seed, so results do not
depend on batch composition. Device: cuda > mps > cpu; dtype bf16/fp16 on GPU, fp32 on CPU.

Model args: ``steps``, ``guidance``, ``image_guidance`` (InstructPix2Pix), ``strength`` (img2img),
``negative_prompt``, ``size`` (WxH; else the item's size, else the pipeline default),
``batch_size`` (default 4), ``device``, ``dtype`` (float32/float16/bfloat16), ``revision``,
``variant``, and ``call.NAME=VALUE`` for any other argument of the pipeline's call (e.g.
``call.true_cfg_scale=4`` for Qwen-Image-Edit).
"""

from __future__ import annotations

import inspect
import io
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image

from genlens.args import Arg
from genlens.backends._media import parse_size_arg
from genlens.backends.base import Backend, BackendInfo, Session, register_backend, run_grouped
from genlens.backends.families import family_record
from genlens.errors import Refused, SpecError
from genlens.modelthread import on_model_thread
from genlens.types import GeneratedImage, GenerationRequest, PendingPNG
from genlens.weights import CONVERT, is_missing_safetensors, refuse_pickle_only

#: Sizes are rounded down to a multiple of this (VAE factor 8 x patch 2 covers SD, SDXL, FLUX, SD3).
SIZE_MULTIPLE = 16
#: What batching guarantees: each image's starting latents are bit-identical to a batch-of-one run
#: (one generator per request), and its pixels agree within this many 8-bit levels. Batched matrix
#: kernels add in another order, so exact bytes are not promised (measured on CPU: 1 level, 1 pixel).
BATCH_PIXEL_TOLERANCE = 2


def pick_device(requested: str | None = None) -> str:
    import torch

    if requested:
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def pick_dtype(device: str, requested: str | None = None) -> Any:
    import torch

    if requested:
        try:
            return getattr(torch, str(requested))
        except AttributeError:
            raise SpecError(f"--model-arg dtype={requested} is not a torch dtype", fix="use float32, float16 or bfloat16") from None
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float16 if device == "mps" else torch.float32


def takes_image(pipe: Any) -> bool:
    """Whether the pipeline's call signature takes a source image (an edit pipeline)."""
    return "image" in inspect.signature(pipe.__call__).parameters


#: Pipelines whose call must get one generator per call, whatever their signature says: GLM-Image's
#: AR prior seeds the global RNG from ``generator.initial_seed()`` (a list fails, and a batch's prior
#: tokens would depend on its composition).
ONE_GENERATOR_PIPELINES = frozenset({"GlmImagePipeline"})


def takes_generator_list(pipe: Any) -> bool:
    """Whether the call takes one ``torch.Generator`` per image (aMUSEd and GLM-Image take a single one)."""
    if type(pipe).__name__ in ONE_GENERATOR_PIPELINES:
        return False
    annotation = inspect.signature(pipe.__call__).parameters.get("generator")
    if annotation is None or annotation.annotation is inspect.Parameter.empty:
        return True
    return "list" in str(annotation.annotation).lower()


@dataclass
class _Call:
    """One homogeneous pipeline call: same kind and size, one generator per image."""

    kind: str
    size: tuple[int, int] | None
    indices: list[int]


@register_backend
class DiffusersBackend(Backend):
    info: ClassVar[BackendInfo] = BackendInfo(
        scheme="diffusers",
        syntax="diffusers:<hub id or local dir>",
        description="local diffusers pipelines: any text-to-image; InstructPix2Pix / Kontext / Qwen-Image-Edit edits; batched, seeded per item",
        tasks=("generate", "edit", "multiturn"),
        requires="extra: local (torch, diffusers); a GPU is advised",
    )
    args: ClassVar[tuple[Arg, ...]] = (
        Arg("size", "size", None, "overrides the item's size", "1024x1024"),
        Arg("steps", "int", None, "num_inference_steps", "28", minimum=1, maximum=10_000),
        Arg("guidance", "float", None, "guidance_scale", "3.5", minimum=0, maximum=100),
        Arg("image_guidance", "float", None, "image_guidance_scale (InstructPix2Pix)", "1.5", minimum=0, maximum=100),
        Arg("strength", "float", None, "img2img strength", "0.6", minimum=0, maximum=1),
        Arg("negative_prompt", "str", None, "negative prompt", "blurry"),
        Arg("batch_size", "int", 4, "requests per pipeline call", "8", minimum=1, maximum=1024),
        Arg("device", "str", None, "torch device (default: cuda if present)", "cuda:0"),
        Arg("dtype", "str", None, "torch dtype", "bfloat16"),
        Arg("revision", "str", None, "hub revision", "main"),
        Arg("variant", "str", None, "weights variant", "fp16"),
        Arg("call.*", "any", None, "any other pipeline call argument, e.g. call.max_sequence_length=512", "call.eta=0.0"),
    )

    def __init__(self, target: str, params: dict[str, Any] | None = None):
        super().__init__(target, params)
        self.batch_size = max(1, int(self.params.get("batch_size", 4)))
        self._pipe: Any = None
        self._img2img: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()  # one pipeline call at a time (one device)
        self.device = ""
        self.dtype: Any = None

    def family_meta(self) -> dict[str, str]:
        """Family from the loaded pipeline's class (GlmImagePipeline: ar+diffusion, Amused*: masked …)."""
        with self._load_lock:
            pipe = self._pipe
        return family_record(self.params, class_name=type(pipe).__name__ if pipe is not None else None,
                             scheme="diffusers", library="diffusers")

    # -- loading ------------------------------------------------------------------------------
    def pipeline(self) -> Any:
        """The loaded pipeline (first call loads it: hub id or local folder, same code path)."""
        with self._load_lock:
            if self._pipe is None:
                self._pipe = self._load()
        return self._pipe

    def _load(self) -> Any:
        import diffusers
        from diffusers import DiffusionPipeline

        self.device = pick_device(self.params.get("device"))
        self.dtype = pick_dtype(self.device, self.params.get("dtype"))
        version = tuple(int(p) for p in diffusers.__version__.split(".")[:2] if p.isdigit())
        kwargs: dict[str, Any] = {"dtype" if version >= (0, 42) else "torch_dtype": self.dtype}
        for name in ("revision", "variant"):
            if name in self.params:
                kwargs[name] = str(self.params[name])
        local = Path(self.target).expanduser()
        if local.is_dir():
            refuse_pickle_only(local, what=f"diffusers pipeline {self.target!r}", library="diffusers", components=True)
        try:
            pipe = DiffusionPipeline.from_pretrained(self.target, use_safetensors=True, **kwargs)
        except (OSError, ValueError) as exc:
            if is_missing_safetensors(exc):
                raise SpecError(f"diffusers pipeline {self.target!r} has no safetensors weights; genlens never loads pickles",
                                fix=CONVERT["diffusers"]) from None
            raise SpecError(f"cannot load diffusers pipeline {self.target!r} ({str(exc).splitlines()[0][:200]})",
                            fix="give a local pipeline folder (with model_index.json) or a hub id in your cache "
                                "(`genlens doctor` lists the cache; downloads need network access)") from None
        pipe = pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def _edit_pipe(self) -> tuple[Any, str]:
        """The pipeline edits go to, and how ("native" or "img2img")."""
        pipe = self.pipeline()
        if takes_image(pipe):
            return pipe, "native"
        with self._load_lock:
            if self._img2img is None:
                from diffusers import AutoPipelineForImage2Image

                try:
                    self._img2img = AutoPipelineForImage2Image.from_pipe(pipe)
                except ValueError:
                    raise SpecError(f"{type(pipe).__name__} has no image-to-image variant", path=self.target,
                                    fix="use an edit pipeline (InstructPix2Pix, FLUX Kontext, Qwen-Image-Edit)") from None
                self._img2img.set_progress_bar_config(disable=True)
        return self._img2img, "img2img"

    # -- calls --------------------------------------------------------------------------------
    def _size(self, request: GenerationRequest) -> tuple[tuple[int, int] | None, dict[str, Any]]:
        wanted = parse_size_arg(self.params.get("size")) or request.size
        if wanted is None:
            return None, {}
        sent = (max(SIZE_MULTIPLE, wanted[0] // SIZE_MULTIPLE * SIZE_MULTIPLE),
                max(SIZE_MULTIPLE, wanted[1] // SIZE_MULTIPLE * SIZE_MULTIPLE))
        meta: dict[str, Any] = {"size": list(sent)}
        if sent != wanted:
            meta.update(requested_size=list(wanted), size_rule=f"rounded down to a multiple of {SIZE_MULTIPLE} px")
        return sent, meta

    def _kwargs(self, pipe: Any, mode: str) -> dict[str, Any]:
        accepted = inspect.signature(pipe.__call__).parameters
        wanted = {"num_inference_steps": self.params.get("steps"), "guidance_scale": self.params.get("guidance"),
                  "negative_prompt": self.params.get("negative_prompt"),
                  "image_guidance_scale": self.params.get("image_guidance"),
                  "strength": self.params.get("strength", 0.6 if mode == "img2img" else None)}
        extra = {k.removeprefix("call."): v for k, v in self.params.items() if k.startswith("call.")}
        named = {n for n, p in accepted.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
        unknown = sorted(set(extra) - named)  # a catch-all **kwargs would swallow a typo silently
        if unknown:
            raise SpecError(f"{type(pipe).__name__} takes no argument(s) {', '.join(unknown)}",
                            fix="check the pipeline's call signature (--model-arg call.NAME=VALUE passes NAME through)")
        return {**{k: v for k, v in wanted.items() if v is not None and k in accepted}, **extra}

    def _run_sync(self, call: _Call, requests: list[GenerationRequest]) -> list[GeneratedImage | BaseException]:
        import torch

        if call.kind == "edit":
            pipe, mode = self._edit_pipe()
        else:
            pipe, mode = self.pipeline(), "text2image"
        kwargs = self._kwargs(pipe, mode)
        chosen = [requests[i] for i in call.indices]
        kwargs["prompt"] = [r.prompt for r in chosen]
        if "negative_prompt" in kwargs:
            kwargs["negative_prompt"] = [kwargs["negative_prompt"]] * len(chosen)
        generators = [torch.Generator("cpu").manual_seed(r.seed % 2**63) for r in chosen]
        kwargs["generator"] = generators if takes_generator_list(pipe) or len(generators) > 1 else generators[0]
        if call.size is not None:
            kwargs["width"], kwargs["height"] = call.size
        if call.kind == "edit":
            kwargs["image"] = [Image.open(io.BytesIO(r.images[0])).convert("RGB") for r in chosen]
        accepted = inspect.signature(pipe.__call__).parameters
        passthrough = {k.removeprefix("call.") for k in self.params if k.startswith("call.")}
        kwargs = {k: v for k, v in kwargs.items() if k in accepted or k in passthrough}
        started = time.perf_counter()
        with self._run_lock, torch.inference_mode():
            output = pipe(**kwargs)
        seconds = time.perf_counter() - started
        flags = getattr(output, "nsfw_content_detected", None) or [False] * len(chosen)
        meta = {"pipeline": type(pipe).__name__, "mode": mode, "device": self.device, "dtype": str(self.dtype).removeprefix("torch."),
                "batch": len(chosen), "latency_s": round(seconds / len(chosen), 4), "batch_latency_s": round(seconds, 4),
                **{k: v for k, v in kwargs.items() if k in ("num_inference_steps", "guidance_scale", "strength", "image_guidance_scale")}}
        results: list[GeneratedImage | BaseException] = []
        for image, flagged in zip(output.images, flags, strict=True):
            if flagged:
                results.append(Refused("the pipeline's safety checker flagged the image"))
                continue
            results.append(PendingPNG(image, meta))  # encoded on the engine's file thread, beside the next batch
        return results

    async def generate_batch(self, requests: list[GenerationRequest]) -> list[GeneratedImage | BaseException]:
        """Group requests by (kind, size) and run each group as one batched pipeline call."""
        out: list[GeneratedImage | BaseException | None] = [None] * len(requests)
        groups: dict[tuple[Any, ...], _Call] = {}
        metas: list[dict[str, Any]] = []
        per_image_generators = takes_generator_list(await on_model_thread(self.pipeline))
        for index, request in enumerate(requests):
            size, meta = self._size(request)
            if request.mask is not None:  # said, never silent: these pipelines take the instruction only
                meta = {**meta, "mask_ignored": "the diffusers edit pipeline takes no mask; the instruction alone was used"}
            metas.append(meta)
            kind = "edit" if request.kind == "edit" else "generate"
            if not per_image_generators:  # one call per image, so each item keeps its own seed
                groups[(kind, size, index)] = _Call(kind, size, [index])  # type: ignore[index]
                continue
            groups.setdefault((kind, size), _Call(kind, size, [])).indices.append(index)
        if any(call.kind == "generate" for call in groups.values()):
            await on_model_thread(self._check_generates)
        return await run_grouped(groups.values(), self._run_sync, requests, metas, out)

    def _check_generates(self) -> None:
        """Text-to-image needs a pipeline that runs without a source image (Kontext-style ones may)."""
        pipe = self.pipeline()
        if not takes_image(pipe):
            return
        parameter = inspect.signature(pipe.__call__).parameters["image"]
        if parameter.default is not None or "Pix2Pix" in type(pipe).__name__ or "Img2Img" in type(pipe).__name__:
            raise SpecError(f"{type(pipe).__name__} needs an input image", path=self.target,
                            fix="use it with an edit suite, or choose a text-to-image pipeline")

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        return await self.one_of_batch(request)

    async def edit(self, request: GenerationRequest) -> GeneratedImage:
        if not request.images:
            raise SpecError("an edit request needs an input image", fix="check the suite's input images")
        return await self.one_of_batch(request)

    def session(self, request: GenerationRequest) -> Session:
        return EditChainSession(self, request)


class EditChainSession(Session):
    """Multi-round editing for local pipelines: each round edits the previous round's image."""

    def __init__(self, backend: DiffusersBackend, request: GenerationRequest):
        self.backend = backend
        self.request = request
        self.current: bytes | None = request.images[0] if request.images else None
        self.rounds = 0

    async def send(self, instruction: str, image: bytes | None = None) -> GeneratedImage:
        from dataclasses import replace

        source = image if image is not None else self.current
        if source is None:
            raise SpecError("a multi-round session needs a source image", fix="check the suite's input images")
        self.rounds += 1
        step = replace(self.request, prompt=instruction, kind="edit", images=[source], mask=None,
                       seed=self.request.seed + self.rounds - 1)
        result = await self.backend.edit(step)
        self.current = result.data
        return result
