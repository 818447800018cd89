"""OneIG-Bench's scorers: what each dimension asks of a model, per generation, stored raw.

Every scorer cuts the generation's image into tiles (the suite's ``grid``; black tiles dropped),
re-encodes each tile as JPEG (the official scripts hand their models ``.jpg`` copies of the
tiles) and stores what the model said per tile — the VLM's answers, the OCR text, cosines or
embeddings. The official formulas run in aggregation (:mod:`genlens.suites._oneig_rules`), so a
corrected rule never needs the models again.

- ``oneig_alignment``: the judge (Qwen2.5-VL-7B-Instruct officially) answers each dependency-graph
  question per tile, greedy, up to 128 new tokens;
- ``oneig_text``: the judge reads the tile's text (the official OCR instruction), 128 or 256 new tokens;
- ``oneig_style``: CSD and the OneIG style encoder (both CLIP vision towers with a projection)
  embed the tile; the best cosine against the style's reference embeddings is stored per encoder;
- ``oneig_diversity``: an image embedding per tile (DreamSim officially; a stand-in encoder here);
- ``oneig_reasoning``: the tile's cosine with the reference answer (LLM2CLIP officially; a CLIP stand-in here).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genlens.errors import InputError
from genlens.scorers.base import Scorer
from genlens.suites import _oneig_rules as rules
from genlens.types import ScoreInput

#: The official OCR instruction (a fact of the protocol: the model's input, carried over as is).
OCR_INSTRUCTION = ("Recognize the text in the image, only reply with the text content, but avoid repeating previously "
                   "mentioned content. If no text is recognized, please reply with 'No text recognized'.")
ALIGNMENT_TOKENS = 128


def generation_tiles(inp: ScoreInput, grid: tuple[int, int]) -> tuple[list[bytes], int]:
    """(JPEG bytes of each non-black tile, black tiles dropped) of the generation's image."""
    from genlens.imageio import load_image

    image = load_image(inp.image_paths[-1])  # pixel cap and one-line errors, as every genlens image read
    tiles, black = rules.split_grid(image, *grid)
    return [rules.tile_jpeg(tile) for tile in tiles], black


def _wants(inp: ScoreInput, dimension: str) -> bool:
    return dimension in (inp.item.meta.get("dimensions") or [])


def _not_mine(dimension: str) -> tuple[str, dict[str, Any]]:
    return "skipped", {"reason": f"{dimension} does not score this prompt"}


class _JudgeDimension(Scorer):
    """A dimension scored by the VLM judge's text answers (alignment, text)."""

    threaded = False
    batch_size = 2
    dimension = ""

    def __init__(self, judge: Any, grid: tuple[int, int]):
        self.judge = judge
        self.grid = grid
        self.concurrency = 1 if judge.scheme == "local" else max(1, judge.concurrency)
        params = getattr(judge, "params", {}) or {}
        #: A budget the user set explicitly (--scorer-arg max_new_tokens=N) wins over the official one.
        self.fixed_budget = params.get("max_new_tokens") or params.get("max_tokens")

    async def aclose(self) -> None:
        await self.judge.aclose()

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        raise NotImplementedError(f"{type(self).__name__} is async")

    async def _ask(self, requests: list[Any], budget: int) -> list[Any]:
        """Ask with ``budget`` new tokens where the judge takes a per-call budget (local judges)."""
        if not requests:
            return []
        # local judges: max_new_tokens; API judges (a vLLM server with Qwen2.5-VL): max_tokens. Batches that change
        # the budget run one at a time (TextScorer.concurrency is 1), so no batch sees another's budget.
        for attribute in ("max_new_tokens", "max_tokens"):
            if hasattr(self.judge, attribute):
                setattr(self.judge, attribute, int(self.fixed_budget or budget))
                break
        return await self.judge.ask_batch(requests)

    def judge_identity(self) -> dict[str, Any]:
        settings = {k: v for k, v in self.judge.settings().items() if k not in ("max_new_tokens", "max_tokens")}
        return {"judge": self.judge.spec, "settings": settings, "grid": list(self.grid), "tiles": "jpeg (Pillow default quality)"}


class AlignmentScorer(_JudgeDimension):
    name = "oneig_alignment"
    version = "1"
    dimension = "alignment"

    def identity(self) -> dict[str, Any]:
        return {**self.judge_identity(), "template": rules.ALIGNMENT_TEMPLATE,
                "max_new_tokens": self.fixed_budget or ALIGNMENT_TOKENS}

    async def score_batch(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        from genlens.judges.base import JudgeRequest

        requests: list[Any] = []
        plan: list[tuple[list[bytes], int, list[str]] | None] = []
        for inp in batch:
            if not _wants(inp, self.dimension):
                plan.append(None)
                continue
            tiles, black = generation_tiles(inp, self.grid)
            questions = inp.item.meta.get("questions") or {}
            ids = sorted(questions, key=int)
            for tile in tiles:
                requests += [JudgeRequest(None, rules.ALIGNMENT_TEMPLATE.format(question=questions[q]), [tile]) for q in ids]
            plan.append((tiles, black, ids))
        replies = await self._ask(requests, ALIGNMENT_TOKENS)
        out: list[tuple[str, dict[str, Any]]] = []
        cursor = 0
        for entry in plan:
            if entry is None:
                out.append(_not_mine(self.dimension))
                continue
            tiles, black, ids = entry
            answers, failed = [], []
            for _tile in tiles:
                mine = replies[cursor:cursor + len(ids)]
                cursor += len(ids)
                answers.append({q: r.raw for q, r in zip(ids, mine, strict=True)})
                failed += [r.error or r.status for r in mine if r.status != "ok"]
            value = {"tiles": answers, "black_tiles": black, "model": self.judge.version or self.judge.spec}
            if failed:
                out.append(("error", {**value, "reason": f"{len(failed)} judge call(s) failed: {failed[0]}"}))
            else:
                out.append(("ok", value))
        return out


class TextScorer(_JudgeDimension):
    name = "oneig_text"
    version = "1"
    dimension = "text"

    def __init__(self, judge: Any, grid: tuple[int, int]):
        super().__init__(judge, grid)
        self.concurrency = 1  # the token budget is set per batch on the shared judge
        if judge.scheme != "local":
            self.batch_size = 8  # an API judge still answers a batch's tiles concurrently

    def identity(self) -> dict[str, Any]:
        return {**self.judge_identity(), "template": OCR_INSTRUCTION,
                "max_new_tokens": self.fixed_budget or "256 when the ground truth has more than 60 words, else 128"}

    async def score_batch(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        from genlens.judges.base import JudgeRequest

        plan: list[tuple[list[bytes], int, int] | None] = []
        by_budget: dict[int, list[tuple[int, Any]]] = {}
        for index, inp in enumerate(batch):
            if not _wants(inp, self.dimension):
                plan.append(None)
                continue
            tiles, black = generation_tiles(inp, self.grid)
            budget = rules.ocr_token_budget(str(inp.item.meta.get("text_truth", "")))
            for tile in tiles:
                by_budget.setdefault(budget, []).append((index, JudgeRequest(None, OCR_INSTRUCTION, [tile])))
            plan.append((tiles, black, budget))
        replies: dict[int, list[Any]] = {}
        for budget, pairs in sorted(by_budget.items()):
            answers = await self._ask([request for _i, request in pairs], budget)
            for (index, _request), reply in zip(pairs, answers, strict=True):
                replies.setdefault(index, []).append(reply)
        out: list[tuple[str, dict[str, Any]]] = []
        for index, entry in enumerate(plan):
            if entry is None:
                out.append(_not_mine(self.dimension))
                continue
            _tiles, black, budget = entry
            mine = replies.get(index, [])
            value = {"tiles": [{"ocr": r.raw} for r in mine], "black_tiles": black, "max_new_tokens": self.fixed_budget or budget,
                     "model": self.judge.version or self.judge.spec}
            failed = [r.error or r.status for r in mine if r.status != "ok"]
            out.append(("error", {**value, "reason": f"{len(failed)} OCR call(s) failed: {failed[0]}"}) if failed else ("ok", value))
        return out


# -- encoders --------------------------------------------------------------------------------------
class VisionEncoder:
    """A CLIP vision tower with its projection (``CLIPVisionModelWithProjection``): L2-normalised image embeddings.

    ``pixels``: ``"clip_processor"`` (a default ``CLIPImageProcessor``, as the official style-encoder
    code builds it) or ``"torchvision"`` (Resize shortest side bicubic, CenterCrop, CLIP mean/std: the
    official CSD transform, via :func:`genlens.scorers.clip.open_clip_pixels`).
    """

    def __init__(self, id_or_dir: str, *, what: str, pixels: str, device: str | None = None):
        from genlens.scorers.clip import resolve_pretrained

        self.resolved = resolve_pretrained(id_or_dir, what=what)
        self.what = what
        self.pixels = pixels
        self.device_name = device
        self._model: Any = None
        self._processor: Any = None

    def identity(self) -> dict[str, Any]:
        return {**self.resolved.identity, "pixels": self.pixels}

    def load(self) -> None:
        if self._model is not None:
            return
        import transformers

        from genlens.scorers.clip import pick_device

        self.device = pick_device(self.device_name)
        try:
            config = transformers.AutoConfig.from_pretrained(self.resolved.path)
            # a full CLIP checkpoint (image + text towers) or a vision tower saved on its own: same projected features
            cls = transformers.CLIPModel if config.model_type == "clip" else transformers.CLIPVisionModelWithProjection
            self._model = cls.from_pretrained(self.resolved.path, use_safetensors=True).to(self.device).eval()
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"cannot load the {self.what} ({str(exc).splitlines()[0][:160]})", path=self.resolved.path,
                             fix="give a CLIP or CLIPVisionModelWithProjection folder (save_pretrained, safetensors)") from None
        vision = getattr(self._model.config, "vision_config", self._model.config)
        self.image_size = int(vision.image_size)
        size = self.image_size  # 224 for the official encoders: CLIPImageProcessor()'s defaults
        processor_cls = getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor  # no torchvision
        self._processor = processor_cls(size={"shortest_edge": size}, crop_size={"height": size, "width": size})

    def embed(self, images: list[Image.Image]) -> np.ndarray:
        import torch

        from genlens.scorers.clip import open_clip_pixels

        self.load()
        if self.pixels == "torchvision":
            pixels = open_clip_pixels(images, self.image_size)
        else:
            pixels = self._processor(images=[im.convert("RGB") for im in images], return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            if hasattr(self._model, "get_image_features"):
                out = self._model.get_image_features(pixel_values=pixels.to(self.device))
                embeds = getattr(out, "pooler_output", out).float()
            else:
                embeds = self._model(pixel_values=pixels.to(self.device)).image_embeds.float()
        return torch.nn.functional.normalize(embeds, dim=-1).cpu().numpy()


def _decoded(tiles: list[bytes]) -> list[Image.Image]:
    return [Image.open(io.BytesIO(tile)).convert("RGB") for tile in tiles]


def load_style_references(path: Path) -> dict[str, np.ndarray]:
    """Reference embeddings per style from a safetensors file: ``csd/<style>`` and ``se/<style>`` (N×D each)."""
    from safetensors.numpy import load_file

    try:
        tensors = load_file(str(path))
    except Exception as exc:
        raise InputError(f"cannot read style references ({type(exc).__name__})", path=path,
                         fix="convert the official CSD_embed.pt / SE_embed.pt with `genlens convert oneig-style-refs`") from None
    if not any(k.startswith("csd/") for k in tensors) or not any(k.startswith("se/") for k in tensors):
        raise InputError("style references need csd/<style> and se/<style> tensors", path=path,
                         fix="convert the official CSD_embed.pt / SE_embed.pt with `genlens convert oneig-style-refs`")
    return {k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()}


class StyleScorer(Scorer):
    name = "oneig_style"
    version = "1"
    batch_size = 8

    def __init__(self, csd: str, style_encoder: str, references: Path, grid: tuple[int, int], device: str | None = None):
        from genlens.scorers.clip import file_sha256

        self.csd = VisionEncoder(csd, what="CSD style model", pixels="torchvision", device=device)
        self.se = VisionEncoder(style_encoder, what="OneIG style encoder", pixels="clip_processor", device=device)
        self.references_path = references
        self.references_sha = file_sha256(references) if references.is_file() else "missing"
        self.grid = grid
        self._refs: dict[str, np.ndarray] | None = None

    def identity(self) -> dict[str, Any]:
        return {"csd": self.csd.identity(), "style_encoder": self.se.identity(), "references_sha256": self.references_sha,
                "grid": list(self.grid)}

    def load(self) -> None:
        if self._refs is None:
            self._refs = load_style_references(self.references_path)
        self.csd.load()
        self.se.load()

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        self.load()
        assert self._refs is not None
        out: list[tuple[str, dict[str, Any]]] = []
        for inp in batch:
            style = inp.item.meta.get("style")
            if not _wants(inp, "style") or not style:
                out.append(_not_mine("style"))
                continue
            if f"csd/{style}" not in self._refs or f"se/{style}" not in self._refs:
                out.append(("error", {"reason": f"no reference embeddings for style {style!r} in {self.references_path.name}"}))
                continue
            tiles, black = generation_tiles(inp, self.grid)
            images = _decoded(tiles)
            value: dict[str, Any] = {"style": style, "black_tiles": black, "tiles": []}
            if images:
                csd = self.csd.embed(images) @ self._refs[f"csd/{style}"].T
                se = self.se.embed(images) @ self._refs[f"se/{style}"].T
                value["tiles"] = [{"csd_max": float(c.max()), "se_max": float(s.max())} for c, s in zip(csd, se, strict=True)]
            out.append(("ok", value))
        return out


class DiversityScorer(Scorer):
    name = "oneig_diversity"
    version = "1"
    batch_size = 8

    def __init__(self, encoder: str, grid: tuple[int, int], device: str | None = None):
        self.encoder = VisionEncoder(encoder, what="diversity encoder", pixels="clip_processor", device=device)
        self.grid = grid

    def identity(self) -> dict[str, Any]:
        return {"encoder": self.encoder.identity(), "distance": "1 - cosine", "grid": list(self.grid)}

    def load(self) -> None:
        self.encoder.load()

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        for inp in batch:
            if not _wants(inp, "diversity"):
                out.append(_not_mine("diversity"))
                continue
            tiles, black = generation_tiles(inp, self.grid)
            images = _decoded(tiles)
            embeddings = self.encoder.embed(images).tolist() if images else []
            out.append(("ok", {"embeddings": [[round(x, 7) for x in e] for e in embeddings], "black_tiles": black}))
        return out


class ReasoningScorer(Scorer):
    name = "oneig_reasoning"
    version = "1"
    batch_size = 8

    def __init__(self, clip: str, grid: tuple[int, int], device: str | None = None):
        from genlens.scorers.clip import resolve_pretrained

        self.weights = clip
        self.resolved = resolve_pretrained(clip, what="reasoning CLIP model")
        self.grid = grid
        self.device = device
        self.model: Any = None

    def identity(self) -> dict[str, Any]:
        return {"clip": self.resolved.identity, "similarity": "cosine(image, reference answer)", "grid": list(self.grid)}

    def load(self) -> None:
        if self.model is None:
            from genlens.scorers.clip import ClipModel

            self.model = ClipModel.load(self.weights, device=self.device)

    def score_batch_sync(self, batch: list[ScoreInput]) -> list[tuple[str, dict[str, Any]]]:
        self.load()
        out: list[tuple[str, dict[str, Any]]] = []
        for inp in batch:
            if not _wants(inp, "reasoning"):
                out.append(_not_mine("reasoning"))
                continue
            tiles, black = generation_tiles(inp, self.grid)
            images = _decoded(tiles)
            cosines: list[float] = []
            if images:
                text = self.model.text_embeddings([str(inp.item.meta.get("answer", ""))])
                cosines = [float(c) for c in (self.model.image_embeddings(images) @ text.T)[:, 0]]
            out.append(("ok", {"tiles": cosines, "black_tiles": black}))
        return out
