"""diffusers: tiny random-init pipelines saved to a folder and loaded as ``diffusers:<dir>``."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import torch

from genlens.backends.base import make_backend
from genlens.backends.diffusers import BATCH_PIXEL_TOLERANCE
from genlens.errors import SpecError
from genlens.imageio import decode
from genlens.types import GenerationRequest

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning", "ignore::UserWarning")


@pytest.fixture(scope="module")
def loaded(tiny_pipelines):
    """Each tiny pipeline loaded once through the production path (loading is the slow part here)."""
    t2i = make_backend(f"diffusers:{tiny_pipelines['text2image']}", {"steps": 2, "size": 32})
    p2p = make_backend(f"diffusers:{tiny_pipelines['pix2pix']}", {"steps": 2})
    t2i.pipeline(), p2p.pipeline()
    return {"t2i": t2i, "p2p": p2p, "source": asyncio.run(t2i.generate(request("s", 1))).data}


def _record_latents(pipe):
    """Wrap ``pipe.prepare_latents`` (on the instance) to keep a copy of every call's initial latents."""
    seen = []
    original = pipe.prepare_latents

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out.clone())
        return out

    pipe.prepare_latents = recording
    return seen


def sibling(backend, **params):
    """A backend with other model args that reuses an already loaded pipeline."""
    other = make_backend(backend.spec, {**backend.params, **params})
    other._pipe, other.device, other.dtype = backend.pipeline(), backend.device, backend.dtype
    return other


def request(item: str, seed: int, prompt: str = "a red apple", **kw) -> GenerationRequest:
    return GenerationRequest(item_id=item, prompt=prompt, sample=0, seed=seed, **kw)


def test_batched_generation_is_seeded_per_request(loaded):
    b = sibling(loaded["t2i"], batch_size=3, size=None)
    assert b.batch_size == 3
    requests = [request(f"i{i}", 100 + i, f"prompt {i}", size=(40, 32)) for i in range(3)]
    latents = _record_latents(b.pipeline())
    try:
        batch = asyncio.run(b.generate_batch(requests))
        alone = asyncio.run(b.generate(requests[1]))
    finally:
        del b.pipeline().prepare_latents  # back to the class's method
    # The guarantee: one generator per request, so the starting noise of an image is bit-identical
    # whatever batch it runs in ...
    assert len(latents) == 2 and latents[0].shape[0] == 3 and latents[1].shape[0] == 1
    assert torch.equal(latents[0][1], latents[1][0])
    assert not torch.equal(latents[0][0], latents[0][1])
    # ... and the pixels agree within BATCH_PIXEL_TOLERANCE levels (batched BLAS kernels sum in another
    # order; measured on this CPU: 1 level on 1 pixel), never a different picture.
    batched, single = (np.asarray(decode(x.data), dtype=int) for x in (batch[1], alone))
    assert np.abs(batched - single).max() <= BATCH_PIXEL_TOLERANCE == 2
    assert batch[0].data != batch[1].data
    image = decode(batch[0].data)
    assert image.size == (32, 32)  # 40 rounded down to a multiple of 16
    meta = batch[0].meta
    assert meta["requested_size"] == [40, 32] and "multiple of 16" in meta["size_rule"]
    assert (meta["pipeline"], meta["device"], meta["dtype"], meta["batch"]) == ("StableDiffusionPipeline", "cpu", "float32", 3)
    assert meta["num_inference_steps"] == 2 and meta["seed"] == 100


def test_pix2pix_edits_natively_and_cannot_generate(loaded):
    b, source = sibling(loaded["p2p"], image_guidance=1.5), loaded["source"]
    edited = asyncio.run(b.edit(request("e", 5, "make it blue", kind="edit", images=[source])))
    assert edited.meta["pipeline"] == "StableDiffusionInstructPix2PixPipeline" and edited.meta["mode"] == "native"
    assert edited.meta["image_guidance_scale"] == 1.5
    assert decode(edited.data).size == (32, 32)
    assert "mask_ignored" not in edited.meta
    masked = request("e", 5, "make it blue", kind="edit", images=[source])
    masked.mask = source
    assert "takes no mask" in asyncio.run(b.edit(masked)).meta["mask_ignored"]  # recorded, never silent
    with pytest.raises(SpecError, match="needs an input image"):
        asyncio.run(b.generate(request("g", 1)))


def test_call_passthrough_and_unknown_argument(loaded):
    b = sibling(loaded["t2i"], **{"call.eta": 0.5})
    image = asyncio.run(b.generate(request("c", 3)))
    assert decode(image.data).size == (32, 32)
    with pytest.raises(SpecError, match="takes no argument"):
        asyncio.run(sibling(loaded["t2i"], **{"call.no_such_arg": 1}).generate(request("c", 3)))


def test_text2image_pipeline_edits_via_img2img(loaded):
    b, source = sibling(loaded["t2i"], steps=4, strength=0.5), loaded["source"]
    edited = asyncio.run(b.edit(request("e", 2, "make it blue", kind="edit", images=[source])))
    assert edited.meta["mode"] == "img2img" and edited.meta["strength"] == 0.5
    assert edited.meta["pipeline"] == "StableDiffusionImg2ImgPipeline"


def test_session_chains_edits(loaded):
    b, source = loaded["p2p"], loaded["source"]

    async def go():
        session = b.session(request("m", 9, "", kind="multiturn", images=[source]))
        return await session.send("one", source), await session.send("two")

    first, second = asyncio.run(go())
    assert first.meta["seed"] == 9 and second.meta["seed"] == 10
    assert first.data != second.data


def test_missing_pipeline_is_a_one_line_error(tmp_path):
    b = make_backend(f"diffusers:{tmp_path / 'nope'}", {})
    with pytest.raises(SpecError, match="cannot load diffusers pipeline"):
        asyncio.run(b.generate(request("i", 1)))
