"""Every generation records its architecture family: one tiny pipeline per family through the production path."""

from __future__ import annotations

import asyncio

import pytest

from genlens.backends.base import make_backend
from genlens.backends.families import CLASS_FAMILY, FAMILIES, family_of_class, family_record
from genlens.errors import SpecError
from genlens.imageio import decode
from genlens.types import GenerationRequest

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


def request(item: str, seed: int, prompt: str = "a red apple") -> GenerationRequest:
    return GenerationRequest(item_id=item, prompt=prompt, sample=0, seed=seed)


def test_family_table_and_defaults():
    assert set(CLASS_FAMILY.values()) <= set(FAMILIES)
    assert family_of_class("GlmImagePipeline", library="diffusers") == "ar+diffusion"
    assert family_of_class("AmusedPipeline", library="diffusers") == "masked"
    assert family_of_class("SomeNewPipeline", library="diffusers") == "diffusion/flow"  # diffusers default
    assert family_of_class("SomeNewModel") == "unknown"
    assert family_record({}, scheme="openai") == {"family": "api:unknown", "family_source": "backend openai"}
    assert family_record({"family": "masked"}, class_name="FluxPipeline")["family"] == "masked"
    with pytest.raises(SpecError):
        family_record({"family": "gan"})


def test_api_backends_record_api_unknown(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    assert make_backend("openai:gpt-image-1").family_meta()["family"] == "api:unknown"


def test_amused_is_masked_and_keeps_per_item_seeds(tmp_path):
    from genlens.testing.tiny_ar import save_tiny_amused

    backend = make_backend(f"diffusers:{save_tiny_amused(tmp_path / 'amused')}", {"steps": 2, "size": "32x32"})
    batch = asyncio.run(backend.generate_batch([request("a", 1), request("b", 2, "a dog")]))
    alone = asyncio.run(backend.generate(request("b", 2, "a dog")))
    assert alone.data == batch[1].data and batch[0].data != batch[1].data  # one call per image: one generator each
    assert decode(batch[0].data).size == (32, 32)
    assert batch[0].meta["pipeline"] == "AmusedPipeline" and batch[0].meta["batch"] == 1
    assert backend.family_meta() == {"family": "masked", "family_source": "class AmusedPipeline"}


def test_flux_is_diffusion_flow(tmp_path):
    from genlens.testing.tiny_ar import save_tiny_flux

    backend = make_backend(f"diffusers:{save_tiny_flux(tmp_path / 'flux')}",
                           {"steps": 2, "size": "32x32", "call.max_sequence_length": 16})
    batch = asyncio.run(backend.generate_batch([request("a", 1), request("b", 2)]))
    assert decode(batch[0].data).size == (32, 32) and batch[0].meta["pipeline"] == "FluxPipeline"
    assert backend.family_meta() == {"family": "diffusion/flow", "family_source": "class FluxPipeline"}


def test_stable_diffusion_is_diffusion_flow(tiny_pipelines):
    backend = make_backend(f"diffusers:{tiny_pipelines['text2image']}", {"steps": 2, "size": "32x32"})
    asyncio.run(backend.generate(request("a", 1)))
    assert backend.family_meta()["family"] == "diffusion/flow"


def test_glm_image_gets_one_generator_per_call():
    from genlens.backends.diffusers import takes_generator_list

    class GlmImagePipeline:  # the class name is what counts; its call signature says it takes a list
        def __call__(self, prompt=None, generator: list | None = None):
            return None

    class AmusedPipeline:
        def __call__(self, prompt=None, generator: int | None = None):
            return None

    class FluxPipeline:
        def __call__(self, prompt=None, generator: int | list[int] | None = None):
            return None

    assert takes_generator_list(GlmImagePipeline()) is False
    assert takes_generator_list(AmusedPipeline()) is False
    assert takes_generator_list(FluxPipeline()) is True
