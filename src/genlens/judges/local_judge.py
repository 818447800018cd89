"""``local:<hub id or dir>`` — a transformers VLM judge on this machine: Qwen3-VL, Qwen2.5-VL and Qwen2-VL.

Greedy decoding (deterministic), batched with left padding, on the GPU when there is one
(bfloat16) and on the CPU otherwise (float32). Inputs are built from the tokenizer and the Qwen
image processor directly — the Qwen processor class needs torchvision, which this project avoids —
using Qwen's chat format: each image becomes ``<|vision_start|>`` + one ``<|image_pad|>`` per merged
patch + ``<|vision_end|>`` before the text. Qwen2/2.5-VL's template adds a default system turn to a
conversation without one; Qwen3-VL's adds none, and neither does this judge for a ``qwen3_vl`` model. The recorded version is the hub commit, or a hash of
the directory's config and weight files.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from pathlib import Path
from typing import Any

from genlens.args import Arg
from genlens.errors import SpecError
from genlens.judges.base import Judge, JudgeReply, JudgeRequest
from genlens.modelthread import on_model_thread
from genlens.weights import CONVERT, is_missing_safetensors, refuse_pickle_only

MODEL_CLASSES = {
    "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
    "qwen2_vl": "Qwen2VLForConditionalGeneration",
    "qwen3_vl": "Qwen3VLForConditionalGeneration",
}
#: Model types whose chat template adds no system turn when a conversation has none (Qwen3-VL's).
NO_DEFAULT_SYSTEM = frozenset({"qwen3_vl"})

#: Named open judges published by benchmark authors: ``local:<name>`` loads the folder genlens finds for it.
#: name -> (folder under the data dir, where the weights are published, how to get them)
PRESETS: dict[str, tuple[str, str, str]] = {
    "imgedit-judge": (
        "imgedit-judge",
        "ImgEdit-Judge: the ImgEdit authors' Qwen2.5-VL-7B fine-tune, folder ImgEdit_judge/ of the Hugging Face "
        "dataset sysuyy/ImgEdit (safetensors, Qwen2.5-VL format)",
        "huggingface-cli download --repo-type dataset sysuyy/ImgEdit --include 'ImgEdit_judge/*' "
        "--local-dir \"$(genlens data dir)/imgedit-judge\" (or set GENLENS_IMGEDIT_JUDGE=DIR)",
    ),
}


def preset_dir(name: str) -> Path:
    """The folder a preset loads from: ``$GENLENS_<NAME>`` (dashes as underscores), else ``<data dir>/<folder>``;
    a download that kept the upstream folder (``…/ImgEdit_judge/``) is found inside it."""
    import os

    from genlens.data.fetch import data_root

    folder, _source, fix = PRESETS[name]
    env = "GENLENS_" + name.upper().replace("-", "_")
    root = Path(os.environ[env]).expanduser() if os.environ.get(env) else data_root() / folder
    for candidate in (root, *sorted(p for p in root.glob("*") if p.is_dir())) if root.is_dir() else ():
        if (candidate / "config.json").is_file():
            return candidate
    raise SpecError(f"judge local:{name} is not downloaded (looked in {root})", fix=fix)


# Qwen's chat template adds this system turn when a conversation has none.
QWEN_DEFAULT_SYSTEM = "You are a helpful assistant."


def directory_version(path: Path) -> str:
    """A short content id for a local model dir: config bytes plus weight file names and sizes."""
    digest = hashlib.sha256()
    config = path / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    for weights in sorted(path.glob("*.safetensors")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def chat_text(system: str | None, text: str, image_tokens: list[int], *, default_system: bool = True) -> str:
    """Qwen chat format with each image expanded to its number of ``<|image_pad|>`` tokens.

    ``default_system=False`` (Qwen3-VL) writes a system turn only when ``system`` is given."""
    vision = "".join(f"<|vision_start|>{'<|image_pad|>' * n}<|vision_end|>" for n in image_tokens)
    head = f"<|im_start|>system\n{system or QWEN_DEFAULT_SYSTEM}<|im_end|>\n" if (system or default_system) else ""
    return f"{head}<|im_start|>user\n{vision}{text}<|im_end|>\n<|im_start|>assistant\n"


class LocalJudge(Judge):
    scheme = "local"
    args = (
        Arg("max_new_tokens", "int", 512, "longest answer, tokens", "512", minimum=1, maximum=100_000),
        Arg("max_tokens", "int", None, "alias of max_new_tokens", "512", minimum=1, maximum=100_000),
        Arg("batch_size", "int", 8, "questions per forward pass", "8", minimum=1, maximum=4096),
        Arg("device", "str", None, "torch device (default: cuda if present)", "cuda:0"),
        Arg("dtype", "str", None, "torch dtype", "bfloat16"),
        Arg("min_pixels", "int", None, "the processor's min_pixels", "3136", minimum=1),
        Arg("max_pixels", "int", None, "the processor's max_pixels", "1003520", minimum=1),
        Arg("device_map", "str", None, "accelerate device map (shards over GPUs)", "auto"),
        Arg("attn_implementation", "str", None, "attention kernel", "sdpa"),
    )

    def __init__(self, target: str, *, concurrency: int = 4, params: dict[str, Any] | None = None):
        super().__init__(target, concurrency=concurrency, params=params)
        p = self.params
        self.max_new_tokens = int(p.get("max_new_tokens", p.get("max_tokens", 512)))
        self.batch_size = max(1, int(p.get("batch_size", 8)))
        self.device_name: str | None = p.get("device")
        self.dtype_name: str | None = p.get("dtype")
        self.min_pixels = p.get("min_pixels")
        self.max_pixels = p.get("max_pixels")
        self._loaded: tuple[Any, Any, Any, Any] | None = None
        self.model_type = ""
        self._lock = threading.Lock()
        self.preset = target if target in PRESETS else None

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {"decoding": "greedy", "max_new_tokens": self.max_new_tokens}
        for key in ("min_pixels", "max_pixels", "dtype", "attn_implementation"):
            if self.params.get(key) is not None:
                out[key] = self.params[key]
        return out

    # -- loading -------------------------------------------------------------------------------
    def load(self) -> tuple[Any, Any, Any, Any]:
        """(model, tokenizer, image processor, device), loaded once through ``from_pretrained``."""
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> tuple[Any, Any, Any, Any]:
        import torch
        import transformers
        from transformers import AutoConfig, AutoTokenizer

        source = str(preset_dir(self.preset)) if self.preset else self.target  # a preset resolves to its folder
        try:
            config = AutoConfig.from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise SpecError(f"cannot load judge {self.spec} ({str(exc).splitlines()[0][:200]})",
                            fix="give a local model dir or a hub id that is downloaded (HF_HUB_OFFLINE blocks downloads)") from None
        class_name = MODEL_CLASSES.get(config.model_type)
        if class_name is None:
            raise SpecError(f"judge {self.spec} is a {config.model_type!r} model",
                            fix="local judges support Qwen3-VL, Qwen2.5-VL and Qwen2-VL (model_type qwen3_vl / qwen2_5_vl / qwen2_vl)")
        device = self.device_name or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = getattr(torch, self.dtype_name) if self.dtype_name else (torch.bfloat16 if device.startswith("cuda") else torch.float32)
        extra = {k: self.params[k] for k in ("device_map", "attn_implementation") if self.params.get(k)}
        local = Path(source)
        if local.is_dir():
            refuse_pickle_only(local, what=f"judge {self.spec}", library="transformers")
        try:  # weights that fail to load are a setup error (one line, before any item), never one error per image
            model = getattr(transformers, class_name).from_pretrained(source, dtype=dtype, use_safetensors=True, **extra)
            if "device_map" in extra:  # sharded over the GPUs by accelerate: inputs go where the embeddings are
                device = str(model.get_input_embeddings().weight.device)
            else:
                model = model.to(device)
            model = model.eval()
            tokenizer = AutoTokenizer.from_pretrained(source)
        except Exception as exc:
            if is_missing_safetensors(exc) and not local.is_dir():
                raise SpecError(f"judge {self.spec} has no safetensors weights; genlens never loads pickles",
                                fix=CONVERT["transformers"]) from None
            first = (str(exc).splitlines() or [""])[0][:200]
            raise SpecError(f"cannot load judge {self.spec}: its weights do not load ({type(exc).__name__}: {first})",
                            fix="give a complete save_pretrained folder (safetensors) or a downloaded hub id; "
                                "re-download or re-save a damaged one") from None
        tokenizer.padding_side = "left"
        image_processor = self._image_processor(source)
        if local.is_dir():
            self.version = f"{source}@{directory_version(local)}"
        else:
            commit = getattr(config, "_commit_hash", None)
            self.version = f"{self.target}@{commit}" if commit else self.target
        self._image_token_id = config.image_token_id
        self.model_type = config.model_type
        return model, tokenizer, image_processor, device

    def _image_processor(self, source: str) -> Any:
        import transformers

        # The PIL variant needs no torchvision (the default class only falls back to it, with a warning).
        processor_cls = getattr(transformers, "Qwen2VLImageProcessorPil", None) or transformers.Qwen2VLImageProcessor
        overrides = {k: int(v) for k, v in (("min_pixels", self.min_pixels), ("max_pixels", self.max_pixels)) if v is not None}
        try:
            return processor_cls.from_pretrained(source, **overrides)
        except OSError:
            return processor_cls(**overrides)

    # -- answering -----------------------------------------------------------------------------
    async def ask(self, *, system: str | None, text: str, images: list[bytes]) -> JudgeReply:
        return (await self.ask_batch([JudgeRequest(system, text, images)]))[0]

    async def ask_batch(self, requests: list[JudgeRequest]) -> list[JudgeReply]:
        replies: list[JudgeReply] = []
        for start in range(0, len(requests), self.batch_size):
            chunk = requests[start:start + self.batch_size]
            try:
                replies.extend(await on_model_thread(self._generate, chunk))
            except SpecError:
                raise
            except Exception as exc:  # e.g. out of memory: recorded per question, asked again next run
                message = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]
                replies.extend(JudgeReply("", self.version or self.target, "error", error=message) for _ in chunk)
        return replies

    async def yes_probability(self, requests: list[JudgeRequest]) -> list[float]:
        """P(first answer token = "Yes") per question (VQAScore's yes-probability), one forward pass each batch."""
        return await self.answer_probability(requests, [("Yes",)] * len(requests), leading_token_of=False)

    async def answer_probability(self, requests: list[JudgeRequest], answers: list[tuple[str, ...]], *,
                                 leading_token_of: bool = True) -> list[float]:
        """Per question, the summed next-token probability of its answers' first tokens (one entry per answer
        string, so a token two answers share counts twice, as a plain loop over them would).

        The probability is the softmax over the whole vocabulary of the float32 logits at the answer's first
        position: what greedy ``generate(max_new_tokens=1, output_scores=True)`` returns as ``scores[0]`` when
        the generation config sets no logits processor. ``leading_token_of`` encodes each answer as
        ``tokenizer.encode(answer)`` does by default (special tokens allowed, none added by Qwen tokenizers);
        False encodes without special tokens."""
        out: list[float] = []
        for start in range(0, len(requests), self.batch_size):
            out.extend(await on_model_thread(self.answer_probability_sync, requests[start:start + self.batch_size],
                                               answers[start:start + self.batch_size], leading_token_of))
        return out

    def answer_probability_sync(self, requests: list[JudgeRequest], answers: list[tuple[str, ...]],
                                leading_token_of: bool = True) -> list[float]:
        """:meth:`answer_probability` for one batch, in this thread (one forward pass)."""
        import torch

        model, tokenizer, _image_processor, _device = self.load()
        inputs, _encoded = self._inputs(requests)
        with torch.inference_mode():  # left padding: the last position is the answer's start; only its logits are made
            logits = model(**inputs, logits_to_keep=1).logits[:, -1, :].float()
        probs = torch.softmax(logits, dim=-1).cpu()
        ids = [[tokenizer.encode(a, add_special_tokens=leading_token_of)[0] for a in row] for row in answers]
        return [float(sum(probs[i, t] for t in row)) for i, row in enumerate(ids)]

    def _inputs(self, requests: list[JudgeRequest]) -> tuple[dict[str, Any], Any]:
        """The batch's model inputs (chat text with image tokens, pixel values) and the tokenizer output."""
        import torch
        from PIL import Image

        model, tokenizer, image_processor, device = self.load()
        # an image asked about several times in one batch (Soft-TIFA: every atom of a prompt) is decoded and
        # processed once; its patch rows are then repeated where each question needs them
        order = [data for r in requests for data in r.images]
        unique: dict[bytes, int] = {}
        for data in order:
            unique.setdefault(data, len(unique))
        vision: dict[str, Any] = {}
        counts: list[int] = []
        if order:
            decoded = [Image.open(io.BytesIO(data)).convert("RGB") for data in unique]
            processed = dict(image_processor(images=decoded, return_tensors="pt"))
            grids = processed["image_grid_thw"]
            if len(unique) == len(order):
                vision = processed
            else:
                sizes = grids.prod(-1).tolist()
                starts = [sum(sizes[:i]) for i in range(len(sizes))]
                picks = [unique[data] for data in order]
                vision = {"pixel_values": torch.cat([processed["pixel_values"][starts[i]:starts[i] + sizes[i]] for i in picks]),
                          "image_grid_thw": grids[picks]}
            merge = int(getattr(image_processor, "merge_size", 2))
            counts = (vision["image_grid_thw"].prod(-1) // (merge * merge)).tolist()
        texts, cursor = [], 0
        for request in requests:
            texts.append(chat_text(request.system, request.text, counts[cursor:cursor + len(request.images)],
                                   default_system=self.model_type not in NO_DEFAULT_SYSTEM))
            cursor += len(request.images)
        encoded = tokenizer(texts, return_tensors="pt", padding=True)
        inputs = {k: v.to(device) for k, v in {**encoded, **vision}.items()}
        inputs["mm_token_type_ids"] = (inputs["input_ids"] == self._image_token_id).long()
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
        return inputs, encoded

    def _generate(self, requests: list[JudgeRequest]) -> list[JudgeReply]:
        import torch

        model, tokenizer, _image_processor, _device = self.load()
        started = time.perf_counter()
        inputs, encoded = self._inputs(requests)
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new_tokens = output[:, encoded["input_ids"].shape[1]:]
        texts_out = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        latency = (time.perf_counter() - started) / len(requests)
        pad = tokenizer.pad_token_id
        replies = []
        for row, (answer, mask) in enumerate(zip(texts_out, encoded["attention_mask"], strict=True)):
            generated = int((new_tokens[row] != pad).sum()) if pad is not None else int(new_tokens.shape[1])
            usage = {"prompt_tokens": int(mask.sum()), "completion_tokens": generated}
            replies.append(JudgeReply(answer.strip(), self.version or self.target, "ok", usage, 0.0, latency))
        return replies

    async def aclose(self) -> None:
        self._loaded = None
