"""``transformers:<hub id or local dir>`` — autoregressive image generators in transformers 5 (Janus, Emu3).

The model class comes from the folder's ``config.json`` (``architectures``): Janus / Janus-Pro
(``JanusForConditionalGeneration``: image tokens from its generation head, decoded by its VQ
model) and Emu3 (``Emu3ForConditionalGeneration``: visual BPE tokens from the LM head, constrained
to the image grid). Weights load with ``from_pretrained(use_safetensors=True)``, never remote code.

Decoding is genlens's own loop over the model's own modules, batched with a KV cache: the
conditional and unconditional (classifier-free guidance) prompts run as one doubled batch, left
padded, with explicit position ids. Each row samples by inverse CDF from a uniform stream of its
own ``torch.Generator`` seeded from the request's (item, sample) seed, so the tokens an item gets
do not depend on which other items share its batch. Device: cuda > mps > cpu; bf16/fp16 on GPU.

Model args: ``guidance`` (CFG scale; 1 turns CFG off), ``temperature`` (0 = greedy), ``top_k``,
``top_p``, ``negative_prompt`` (Emu3's unconditional prompt), ``size`` (WxH: Emu3 any multiple of
its 8 px token; Janus only its native size), ``batch_size`` (default 4), ``device``, ``dtype``,
``revision``, ``family`` (override the recorded family). Defaults come from the checkpoint's
generation config, else Janus-Pro's (guidance 5, temperature 1) and Emu3's (guidance 3, top-k 2048).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image

from genlens.args import Arg
from genlens.backends._media import parse_size_arg
from genlens.backends.base import Backend, BackendInfo, Session, register_backend, run_grouped
from genlens.backends.diffusers import pick_device, pick_dtype
from genlens.backends.families import family_record
from genlens.errors import SpecError
from genlens.modelthread import on_model_thread
from genlens.types import GeneratedImage, GenerationRequest, PendingPNG
from genlens.weights import refuse_pickle_only

#: Architectures this backend can run, and the generation defaults their model cards use.
SUPPORTED: dict[str, dict[str, Any]] = {
    "JanusForConditionalGeneration": {"guidance": 5.0, "temperature": 1.0, "top_k": None, "top_p": None},
    "Emu3ForConditionalGeneration": {"guidance": 3.0, "temperature": 1.0, "top_k": 2048, "top_p": None},
}
SAMPLING_ARGS = ("guidance", "temperature", "top_k", "top_p")


# ----------------------------------------------------------------------------------------------
# sampling: per-row generators, so a row's tokens never depend on its batch
# ----------------------------------------------------------------------------------------------
def filter_logits(logits: Any, *, temperature: float, top_k: int | None, top_p: float | None) -> Any:
    """Temperature, then top-k, then top-p (nucleus) filtering, row by row (masked entries -inf)."""
    import torch

    logits = logits / max(temperature, 1e-6)
    if top_k is not None and 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and 0.0 < top_p < 1.0:
        ordered, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = ordered.softmax(-1).cumsum(-1)
        drop = cumulative - ordered.softmax(-1) > top_p  # keep the smallest prefix reaching top_p (always >= 1)
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return logits


def sample_rows(logits: Any, uniforms: Any, *, temperature: float, top_k: int | None, top_p: float | None) -> Any:
    """One token per row: argmax when temperature is 0, else the inverse CDF of the row's uniform."""
    import torch

    if temperature <= 0:
        return logits.argmax(dim=-1)
    probabilities = filter_logits(logits.float(), temperature=temperature, top_k=top_k, top_p=top_p).softmax(-1)
    cumulative = probabilities.cumsum(-1)
    threshold = uniforms.to(cumulative.device, cumulative.dtype).unsqueeze(-1) * cumulative[..., -1:]
    index = torch.searchsorted(cumulative, threshold, right=True).squeeze(-1)
    return index.clamp(max=logits.shape[-1] - 1)


def left_pad(rows: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    """(ids, attention mask) with every row right-aligned."""
    import torch

    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        if row:
            ids[index, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[index, width - len(row):] = 1
    return ids, mask


# ----------------------------------------------------------------------------------------------
# the two model families
# ----------------------------------------------------------------------------------------------
class _Adapter:
    """What differs between Janus and Emu3: prompts, embeddings, the head, the grid, decoding."""

    def __init__(self, model: Any, processor: Any):
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else 0)

    def native_size(self) -> tuple[int, int]:
        raise NotImplementedError

    def plan(self, size: tuple[int, int] | None) -> tuple[tuple[int, int], dict[str, Any]]:
        """The (width, height) generated for a wanted size, and what to record when it differs."""
        raise NotImplementedError

    def prompt_ids(self, prompt: str, size: tuple[int, int]) -> list[int]:
        raise NotImplementedError

    def unconditional_ids(self, cond: list[int], size: tuple[int, int], negative: str) -> list[int]:
        raise NotImplementedError

    def n_tokens(self, size: tuple[int, int]) -> int:
        raise NotImplementedError

    def embed_prompt(self, ids: Any) -> Any:
        return self.model.get_input_embeddings()(ids)

    def embed_generated(self, tokens: Any) -> Any:
        return self.model.get_input_embeddings()(tokens)

    def language_model(self) -> Any:
        raise NotImplementedError

    def head(self, hidden: Any) -> Any:
        raise NotImplementedError

    def allowed(self, step: int, size: tuple[int, int]) -> Any | None:
        """A (vocab,) bool mask of the tokens allowed at ``step`` (None: all)."""
        return None

    def decode(self, tokens: Any, size: tuple[int, int]) -> Any:
        """(B, 3, H, W) float pixels in the model's normalised range."""
        raise NotImplementedError

    def max_positions(self) -> int | None:
        return None

    def to_pil(self, pixels: Any) -> list[Image.Image]:
        """Undo the image processor's normalisation (mean/std, default 0.5) and make 8-bit RGB images."""
        import numpy as np

        image_processor = getattr(self.processor, "image_processor", None)
        mean = np.asarray(getattr(image_processor, "image_mean", None) or [0.5, 0.5, 0.5], dtype=np.float32)
        std = np.asarray(getattr(image_processor, "image_std", None) or [0.5, 0.5, 0.5], dtype=np.float32)
        array = pixels.detach().float().cpu().numpy().transpose(0, 2, 3, 1)
        array = (array * std + mean) * 255.0
        return [Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "RGB") for a in array]


class _Janus(_Adapter):
    """Janus / Janus-Pro: chat-formatted prompt + <begin_of_image>; generation head; fixed size."""

    def __init__(self, model: Any, processor: Any):
        super().__init__(model, processor)
        vq = model.config.vq_config
        self.grid = int(vq.num_patches)
        self.side = self.grid * 2 ** (len(vq.channel_multiplier) - 1)
        self.boi_id = self.tokenizer.convert_tokens_to_ids(processor.image_start_token)
        self.bos_id = self.tokenizer.bos_token_id

    def native_size(self) -> tuple[int, int]:
        return self.side, self.side

    def plan(self, size: tuple[int, int] | None) -> tuple[tuple[int, int], dict[str, Any]]:
        native = self.native_size()
        if size is None or size == native:
            return native, {}
        return native, {"requested_size": list(size), "size_rule": f"Janus generates only {native[0]}x{native[1]} px"}

    def prompt_ids(self, prompt: str, size: tuple[int, int]) -> list[int]:
        text = prompt
        if getattr(self.processor, "chat_template", None):
            messages = [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
            text = self.processor.apply_chat_template(messages, add_generation_prompt=True)
        encoded = self.processor(text=[text], generation_mode="image", return_tensors=None)
        return list(encoded["input_ids"][0])

    def unconditional_ids(self, cond: list[int], size: tuple[int, int], negative: str) -> list[int]:
        # Janus's own CFG: the same positions, every token but BOS and <begin_of_image> replaced by pad
        return [t if t in (self.bos_id, self.boi_id) else self.pad_id for t in cond]

    def n_tokens(self, size: tuple[int, int]) -> int:
        return self.grid * self.grid

    def embed_generated(self, tokens: Any) -> Any:
        return self.model.prepare_embeddings_for_image_generation(tokens)

    def language_model(self) -> Any:
        return self.model.model.language_model

    def head(self, hidden: Any) -> Any:
        return self.model.model.generation_head(hidden)

    def decode(self, tokens: Any, size: tuple[int, int]) -> Any:
        return self.model.decode_image_tokens(tokens).permute(0, 3, 1, 2)

    def max_positions(self) -> int | None:
        return getattr(self.model.config.text_config, "max_position_embeddings", None)


class _Emu3(_Adapter):
    """Emu3: prompt + <|image start|>H*W<|image token|>; visual tokens only, an end-of-line token per row."""

    def __init__(self, model: Any, processor: Any):
        super().__init__(model, processor)
        import torch

        mapping = model.vocabulary_mapping
        self.factor = int(model.model.vqmodel.vision_spatial_factor)
        self.eol_id = int(mapping.eol_token_id)
        vocab = model.config.text_config.vocab_size
        self.visual = torch.zeros(vocab, dtype=torch.bool)
        self.visual[torch.tensor(mapping.image_tokens, dtype=torch.long)] = True
        self.eol = torch.zeros(vocab, dtype=torch.bool)
        self.eol[self.eol_id] = True

    def native_size(self) -> tuple[int, int]:
        generation = getattr(self.model, "generation_config", None)  # a checkpoint may record its area there
        area = int(getattr(generation, "image_area", None) or getattr(self.processor, "image_area", 518400))
        side = max(1, round(area ** 0.5 / self.factor)) * self.factor
        return side, side

    def plan(self, size: tuple[int, int] | None) -> tuple[tuple[int, int], dict[str, Any]]:
        if size is None:
            return self.native_size(), {}
        sent = (max(1, round(size[0] / self.factor)) * self.factor, max(1, round(size[1] / self.factor)) * self.factor)
        meta = {} if sent == size else {"requested_size": list(size), "size_rule": f"rounded to a multiple of {self.factor} px"}
        return sent, meta

    def _grid(self, size: tuple[int, int]) -> tuple[int, int]:
        return size[1] // self.factor, size[0] // self.factor  # (rows, columns) of tokens

    def _image_prefix(self, size: tuple[int, int]) -> str:
        rows, cols = self._grid(size)
        return f"{self.processor.image_start_token}{rows}*{cols}{self.processor.fake_token_around_image}"

    def _ids(self, text: str) -> list[int]:
        encoded = self.processor(text=[text], return_tensors=None)  # adds BOS like the processor's generation path
        return list(encoded["input_ids"][0])

    def prompt_ids(self, prompt: str, size: tuple[int, int]) -> list[int]:
        return self._ids(prompt + self._image_prefix(size))

    def unconditional_ids(self, cond: list[int], size: tuple[int, int], negative: str) -> list[int]:
        return self._ids(negative + self._image_prefix(size))

    def n_tokens(self, size: tuple[int, int]) -> int:
        rows, cols = self._grid(size)
        return rows * (cols + 1)

    def language_model(self) -> Any:
        return self.model.model.text_model

    def head(self, hidden: Any) -> Any:
        return self.model.lm_head(hidden)

    def allowed(self, step: int, size: tuple[int, int]) -> Any:
        _rows, cols = self._grid(size)
        return self.eol if (step + 1) % (cols + 1) == 0 else self.visual

    def decode(self, tokens: Any, size: tuple[int, int]) -> Any:
        import torch

        rows, cols = self._grid(size)
        tail = torch.full((tokens.shape[0], 3), self.pad_id, dtype=tokens.dtype, device=tokens.device)  # EOF, EOI, EOS
        return self.model.decode_image_tokens(image_tokens=torch.cat([tokens, tail], dim=1), height=rows, width=cols)

    def max_positions(self) -> int | None:
        return getattr(self.model.config.text_config, "max_position_embeddings", None)


ADAPTERS: dict[str, type[_Adapter]] = {"JanusForConditionalGeneration": _Janus, "Emu3ForConditionalGeneration": _Emu3}


@dataclass
class _Call:
    size: tuple[int, int]
    indices: list[int]


@register_backend
class TransformersARBackend(Backend):
    info: ClassVar[BackendInfo] = BackendInfo(
        scheme="transformers",
        syntax="transformers:<hub id or local dir>",
        description="autoregressive image generators in transformers (Janus / Janus-Pro, Emu3): batched with a KV cache, "
                    "CFG, seeded per item",
        tasks=("generate",),
        requires="extra: local (torch, transformers); a GPU is advised",
    )
    args: ClassVar[tuple[Arg, ...]] = (
        Arg("size", "size", None, "overrides the item's size", "384"),
        Arg("guidance", "float", None, "classifier-free guidance scale", "5", minimum=0, maximum=100),
        Arg("temperature", "float", None, "sampling temperature", "1.0", minimum=0, maximum=10),
        Arg("top_k", "int", None, "top-k sampling", "4096", minimum=1),
        Arg("top_p", "float", None, "nucleus sampling", "0.9", minimum=0, maximum=1),
        Arg("negative_prompt", "str", None, "negative prompt (models that take one)", "blurry"),
        Arg("batch_size", "int", 4, "requests per forward pass", "4", minimum=1, maximum=1024),
        Arg("device", "str", None, "torch device (default: cuda if present)", "cuda:0"),
        Arg("dtype", "str", None, "torch dtype", "bfloat16"),
        Arg("revision", "str", None, "hub revision", "main"),
    )

    def __init__(self, target: str, params: dict[str, Any] | None = None):
        super().__init__(target, params)
        self.batch_size = max(1, int(self.params.get("batch_size", 4)))
        self._adapter: _Adapter | None = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self.device = ""
        self.dtype: Any = None
        self.architecture = ""
        self.sampling: dict[str, Any] = {}

    # -- loading ------------------------------------------------------------------------------
    def family_meta(self) -> dict[str, str]:
        return family_record(self.params, class_name=self.architecture or None, scheme="transformers")

    def adapter(self) -> _Adapter:
        with self._load_lock:
            if self._adapter is None:
                self._adapter = self._load()
        return self._adapter

    def _load(self) -> _Adapter:
        import transformers
        from transformers import AutoConfig, AutoProcessor

        revision = {"revision": str(self.params["revision"])} if "revision" in self.params else {}
        fix = ("give a local model folder (config.json + safetensors) or a hub id in your cache "
               "(`genlens doctor` lists the cache; downloads need network access)")
        try:
            config = AutoConfig.from_pretrained(self.target, **revision)
        except (OSError, ValueError) as exc:
            raise SpecError(f"cannot load a transformers model from {self.target!r} ({str(exc).splitlines()[0][:200]})",
                            fix=fix) from None
        architectures = list(getattr(config, "architectures", None) or [])
        architecture = next((a for a in architectures if a in SUPPORTED), None)
        if architecture is None:
            found = ", ".join(architectures) or getattr(config, "model_type", "unknown")
            raise SpecError(f"{self.target} is a {found}, not an image generator this backend runs",
                            fix=f"use a model whose class is one of {', '.join(SUPPORTED)} (e.g. deepseek-community/"
                                "Janus-Pro-7B, BAAI/Emu3-Gen-hf), or the diffusers: backend for pipelines")
        self.architecture = architecture
        self.device = pick_device(self.params.get("device"))
        self.dtype = pick_dtype(self.device, self.params.get("dtype"))
        local = Path(self.target).expanduser()
        if local.is_dir():
            refuse_pickle_only(local, what=f"transformers model {self.target!r}", library="transformers")
        model_class = getattr(transformers, architecture)
        try:
            model = model_class.from_pretrained(self.target, dtype=self.dtype, use_safetensors=True, **revision)
            processor = AutoProcessor.from_pretrained(self.target, **revision)
        except (OSError, ValueError) as exc:
            raise SpecError(f"cannot load {architecture} from {self.target!r} ({str(exc).splitlines()[0][:200]})",
                            fix=fix + "; safetensors weights are required") from None
        model = model.to(self.device).eval()
        self.sampling = self._sampling(architecture, model)
        return ADAPTERS[architecture](model, processor)

    def _sampling(self, architecture: str, model: Any) -> dict[str, Any]:
        """Sampling settings: --model-arg, else the checkpoint's generation config, else the family default."""
        defaults = dict(SUPPORTED[architecture])
        generation = getattr(model, "generation_config", None)
        for name, attribute in (("guidance", "guidance_scale"), ("temperature", "temperature"), ("top_k", "top_k"),
                                ("top_p", "top_p")):
            value = getattr(generation, attribute, None) if generation is not None else None
            if value is not None and not (name == "top_k" and value == 50 and defaults["top_k"] is None):
                defaults[name] = value  # transformers' generic top_k=50 is not a model choice for Janus
        out: dict[str, Any] = {}
        for name in SAMPLING_ARGS:
            value = self.params.get(name, defaults[name])
            try:
                out[name] = None if value is None else (int(value) if name == "top_k" else float(value))
            except (TypeError, ValueError):
                raise SpecError(f"--model-arg {name}={value} is not a number", fix=f"e.g. --model-arg {name}=1") from None
        out["negative_prompt"] = str(self.params.get("negative_prompt", ""))
        return out

    # -- sizes --------------------------------------------------------------------------------
    def _plan(self, request: GenerationRequest) -> tuple[tuple[int, int], dict[str, Any]]:
        adapter = self.adapter()
        explicit = parse_size_arg(self.params.get("size"))
        if explicit is not None:
            sent, meta = adapter.plan(explicit)
            if meta and isinstance(adapter, _Janus):
                raise SpecError(f"{self.target} generates only {sent[0]}x{sent[1]} px, not {explicit[0]}x{explicit[1]}",
                                fix=f"drop --model-arg size or use size={sent[0]}x{sent[1]}")
        else:
            sent, meta = adapter.plan(request.size)
        limit = adapter.max_positions()
        if limit is not None and adapter.n_tokens(sent) + 64 > limit:
            raise SpecError(f"{sent[0]}x{sent[1]} px needs {adapter.n_tokens(sent)} image tokens, more than the model's "
                            f"{limit} positions", fix="ask for a smaller --model-arg size")
        return sent, {"size": list(sent), **meta}

    # -- generation ---------------------------------------------------------------------------
    def _decode_tokens(self, adapter: _Adapter, prompts: list[str], seeds: list[int], size: tuple[int, int]) -> Any:
        """The image tokens for each prompt: one doubled (cond + uncond) batch, KV-cached."""
        import torch
        from transformers import DynamicCache

        sampling = self.sampling
        guidance = float(sampling["guidance"] or 1.0)
        cfg = guidance != 1.0
        cond = [adapter.prompt_ids(p, size) for p in prompts]
        rows = cond + ([adapter.unconditional_ids(c, size, sampling["negative_prompt"]) for c in cond] if cfg else [])
        ids, mask = left_pad(rows, adapter.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        generators = [torch.Generator("cpu").manual_seed(seed % 2**63) for seed in seeds]
        batch, steps = len(prompts), adapter.n_tokens(size)
        # every step's uniforms drawn up front (the same stream as one draw per step) and sent once: a host tensor
        # sent each step would make the host wait for the device every step
        uniforms = torch.stack([torch.rand(steps, generator=g) for g in generators], dim=1).to(self.device)
        on_device: dict[int, Any] = {}  # the adapter's allowed-token masks, sent once each
        language_model = adapter.language_model()
        cache = DynamicCache(config=language_model.config)
        tokens = torch.zeros((batch, steps), dtype=torch.long, device=self.device)
        embeds = adapter.embed_prompt(ids)
        for step in range(steps):
            output = language_model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions, cache=cache,
                                    use_cache=True)
            logits = adapter.head(output.last_hidden_state[:, -1, :]).float()
            if cfg:
                conditional, unconditional = logits[:batch], logits[batch:]
                logits = unconditional + guidance * (conditional - unconditional)
            allowed = adapter.allowed(step, size)
            if allowed is not None:
                if id(allowed) not in on_device:  # the mask kept beside its copy, so its id is never reused
                    on_device[id(allowed)] = (allowed, ~allowed.to(logits.device))
                logits = logits.masked_fill(on_device[id(allowed)][1], float("-inf"))
            chosen = sample_rows(logits, uniforms[step], temperature=sampling["temperature"], top_k=sampling["top_k"],
                                 top_p=sampling["top_p"])
            tokens[:, step] = chosen
            step_ids = torch.cat([chosen, chosen]) if cfg else chosen
            embeds = adapter.embed_generated(step_ids.unsqueeze(-1))
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
            positions = positions[:, -1:] + 1
        return tokens

    def _run_sync(self, call: _Call, requests: list[GenerationRequest]) -> list[GeneratedImage | BaseException]:
        import torch

        adapter = self.adapter()
        chosen = [requests[i] for i in call.indices]
        started = time.perf_counter()
        with self._run_lock, torch.inference_mode():
            tokens = self._decode_tokens(adapter, [r.prompt for r in chosen], [r.seed for r in chosen], call.size)
            images = adapter.to_pil(adapter.decode(tokens, call.size))
        seconds = time.perf_counter() - started
        sampling = {k: v for k, v in self.sampling.items() if v not in (None, "")}
        meta = {"model_class": self.architecture, "device": self.device, "dtype": str(self.dtype).removeprefix("torch."),
                "image_tokens": int(tokens.shape[1]), "batch": len(chosen), "latency_s": round(seconds / len(chosen), 4),
                "batch_latency_s": round(seconds, 4), **sampling}
        results: list[GeneratedImage | BaseException] = []
        for image in images:
            results.append(PendingPNG(image, meta))  # encoded on the engine's file thread, beside the next batch
        return results

    async def generate_batch(self, requests: list[GenerationRequest]) -> list[GeneratedImage | BaseException]:
        """Group requests by generated size and run each group as one batched decode."""
        if any(r.kind != "generate" for r in requests):
            raise SpecError(f"model {self.spec} only generates from text (no edit or multi-round mode)",
                            fix="use it with a text-to-image suite (e.g. geneval)")
        await on_model_thread(self.adapter)
        out: list[GeneratedImage | BaseException | None] = [None] * len(requests)
        groups: dict[tuple[int, int], _Call] = {}
        metas = []
        for index, request in enumerate(requests):
            size, meta = self._plan(request)
            metas.append(meta)
            groups.setdefault(size, _Call(size, [])).indices.append(index)
        return await run_grouped(groups.values(), self._run_sync, requests, metas, out)

    async def generate(self, request: GenerationRequest) -> GeneratedImage:
        return await self.one_of_batch(request)

    async def edit(self, request: GenerationRequest) -> GeneratedImage:
        raise SpecError(f"model {self.spec} cannot edit images (genlens runs Janus and Emu3 for text-to-image only)",
                        fix="use an edit backend (diffusers: InstructPix2Pix / Kontext / Qwen-Image-Edit, or an API)")

    def session(self, request: GenerationRequest) -> Session:
        raise SpecError(f"model {self.spec} has no multi-round editing mode",
                        fix="use an edit backend (diffusers: or an API) for multi-round suites")
