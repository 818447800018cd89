"""transformers: tiny random-init Janus and Emu3 checkpoints saved to a folder and loaded as ``transformers:<dir>``."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import numpy as np
import pytest

from genlens.backends.base import make_backend
from genlens.backends.transformers_ar import filter_logits, left_pad, sample_rows
from genlens.errors import SpecError
from genlens.imageio import decode
from genlens.types import GenerationRequest

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    from genlens.testing.tiny_ar import save_tiny_emu3, save_tiny_janus

    root = tmp_path_factory.mktemp("tiny-ar")
    return {"janus": save_tiny_janus(root / "janus"), "emu3": save_tiny_emu3(root / "emu3")}


@pytest.fixture(scope="module")
def loaded(checkpoints):
    backends = {name: make_backend(f"transformers:{path}", {"batch_size": 3}) for name, path in checkpoints.items()}
    for backend in backends.values():
        backend.adapter()
    return backends


def sibling(backend, **params):
    """A backend with other model args that reuses an already loaded model."""
    other = make_backend(backend.spec, {**backend.params, **params})
    other._adapter, other.device, other.dtype, other.architecture = backend.adapter(), backend.device, backend.dtype, backend.architecture
    other.sampling = other._sampling(backend.architecture, backend.adapter().model)
    return other


def request(item: str, seed: int, prompt: str = "a red cube", **kw) -> GenerationRequest:
    return GenerationRequest(item_id=item, prompt=prompt, sample=0, seed=seed, **kw)


# -- sampling rules, worked by hand ----------------------------------------------------------------
def test_inverse_cdf_sampling_by_hand():
    import torch

    logits = torch.log(torch.tensor([[0.2, 0.5, 0.3]] * 4))  # cumulative 0.2, 0.7, 1.0
    uniforms = torch.tensor([0.1, 0.25, 0.75, 0.999])
    assert sample_rows(logits, uniforms, temperature=1.0, top_k=None, top_p=None).tolist() == [0, 1, 2, 2]
    assert sample_rows(logits, uniforms, temperature=0.0, top_k=None, top_p=None).tolist() == [1, 1, 1, 1]  # greedy
    assert sample_rows(logits, uniforms, temperature=1.0, top_k=1, top_p=None).tolist() == [1, 1, 1, 1]


def test_top_k_and_top_p_filters_by_hand():
    import torch

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2]]))
    kept = torch.isfinite(filter_logits(logits, temperature=1.0, top_k=2, top_p=None))
    assert kept.tolist() == [[True, True, False]]
    # nucleus 0.6: 0.5 alone is below 0.6, so 0.3 joins; the mass before 0.2 is 0.8 > 0.6, so it goes
    kept = torch.isfinite(filter_logits(logits, temperature=1.0, top_k=None, top_p=0.6))
    assert kept.tolist() == [[True, True, False]]
    kept = torch.isfinite(filter_logits(logits, temperature=1.0, top_k=None, top_p=0.4))
    assert kept.tolist() == [[True, False, False]]  # the top token always stays


def test_left_pad_right_aligns_rows():
    ids, mask = left_pad([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]


# -- generation through the production loading path ------------------------------------------------
@pytest.mark.parametrize("name", ["janus", "emu3"])
def test_batched_generation_is_seeded_per_request(loaded, name):
    backend = loaded[name]
    prompts = ["a red cube", "dog", "two blue cats on a wooden table"]
    requests = [request(f"i{i}", 100 + i, p) for i, p in enumerate(prompts)]
    batch = asyncio.run(backend.generate_batch(requests))
    alone = asyncio.run(backend.generate(requests[2]))
    assert alone.data == batch[2].data  # the longest prompt, padded differently in the batch: same tokens
    assert len({image.data for image in batch}) == 3
    again = asyncio.run(backend.generate(requests[0]))
    assert again.data == batch[0].data
    image = decode(batch[0].data)
    assert image.size == (32, 32) and image.mode == "RGB"
    assert np.asarray(image).std() > 0
    meta = batch[0].meta
    expected_class = {"janus": "JanusForConditionalGeneration", "emu3": "Emu3ForConditionalGeneration"}[name]
    assert (meta["model_class"], meta["device"], meta["dtype"], meta["batch"], meta["seed"]) == (expected_class, "cpu", "float32", 3, 100)
    assert meta["guidance"] == {"janus": 5.0, "emu3": 3.0}[name]  # from the checkpoint's generation config
    assert meta["image_tokens"] == {"janus": 16, "emu3": 4 * 5}[name]  # Emu3: 4 rows of 4 tokens + end-of-line
    assert backend.family_meta() == {"family": "vq-ar", "family_source": f"class {expected_class}"}


def test_janus_guidance_and_temperature_change_the_tokens(loaded):
    def tokens(backend, seed):
        return backend._decode_tokens(backend.adapter(), ["a red cube"], [seed], (32, 32))[0].tolist()

    sampled = tokens(loaded["janus"], 7)
    greedy = sibling(loaded["janus"], temperature=0)
    assert tokens(greedy, 7) != sampled
    assert tokens(greedy, 8) == tokens(greedy, 9)  # greedy: the seed does not matter
    no_cfg = sibling(loaded["janus"], temperature=0, guidance=1)
    assert tokens(no_cfg, 7) != tokens(greedy, 7)  # random-init logits are near-flat: CFG moves the argmax
    assert asyncio.run(no_cfg.generate(request("a", 7))).meta["guidance"] == 1.0


def test_emu3_size_is_any_multiple_of_its_token(loaded):
    wide = sibling(loaded["emu3"], size="48x24")
    result = asyncio.run(wide.generate(request("w", 3)))
    assert decode(result.data).size == (48, 24)
    assert result.meta["image_tokens"] == 3 * 7  # 3 rows of 6 tokens + end-of-line
    odd = asyncio.run(loaded["emu3"].generate(request("o", 3, size=(30, 34))))
    assert decode(odd.data).size == (32, 32) and odd.meta["requested_size"] == [30, 34]


def test_emu3_tokens_stay_on_the_image_grid(loaded):
    backend = loaded["emu3"]
    adapter = backend.adapter()
    tokens = backend._decode_tokens(adapter, ["a cat"], [1], (32, 32))
    visual = set(adapter.model.vocabulary_mapping.image_tokens)
    row = tokens[0].tolist()
    for step, token in enumerate(row):
        assert (token == adapter.eol_id) if (step + 1) % 5 == 0 else (token in visual)


def test_janus_refuses_a_size_it_cannot_make_and_edits(loaded):
    with pytest.raises(SpecError, match="only 32x32"):
        asyncio.run(sibling(loaded["janus"], size="64x64").generate(request("x", 1)))
    item_sized = asyncio.run(loaded["janus"].generate(request("y", 1, size=(512, 512))))
    assert decode(item_sized.data).size == (32, 32) and "only 32x32" in item_sized.meta["size_rule"]
    with pytest.raises(SpecError, match="cannot edit"):
        asyncio.run(loaded["janus"].edit(request("e", 1, kind="edit", images=[item_sized.data])))
    with pytest.raises(SpecError, match="multi-round"):
        loaded["janus"].session(request("s", 1, kind="multiturn"))


def test_emu3_refuses_a_size_beyond_its_positions(loaded):
    with pytest.raises(SpecError, match="positions"):
        asyncio.run(sibling(loaded["emu3"], size="1024x1024").generate(request("x", 1)))


def test_a_model_that_is_not_an_image_generator_is_refused(tmp_path):
    from genlens.testing.tiny_models import save_tiny_clip

    folder = save_tiny_clip(tmp_path / "clip")
    with pytest.raises(SpecError, match="not an image generator"):
        make_backend(f"transformers:{folder}").adapter()
    with pytest.raises(SpecError, match="cannot load"):
        make_backend(f"transformers:{tmp_path / 'missing'}").adapter()


def test_family_override_is_checked_and_recorded(checkpoints):
    backend = make_backend(f"transformers:{checkpoints['janus']}", {"family": "custom:my-ar"})
    assert backend.family_meta() == {"family": "custom:my-ar", "family_source": "model-arg"}
    with pytest.raises(SpecError, match="not a known family"):
        make_backend(f"transformers:{checkpoints['janus']}", {"family": "gan"})


def test_cli_run_records_the_family_and_resumes(cli, checkpoints, tmp_path):
    out = tmp_path / "run"
    args = ("generate", "geneval", "--model", f"transformers:{checkpoints['janus']}", "--model-arg", "batch_size=2",
            "--limit", "3", "--samples", "2", "--out", out, "--quiet")
    assert cli(*args).exit_code == 0
    with sqlite3.connect(out / "genlens.sqlite") as conn:
        rows = [json.loads(p) for (p,) in conn.execute("SELECT payload FROM generations WHERE status = 'ok'")]
    assert len(rows) == 6
    assert {(r["meta"]["family"], r["meta"]["model_class"]) for r in rows} == {("vq-ar", "JanusForConditionalGeneration")}
    assert cli(*args).exit_code == 0  # resume: nothing redone
    bad = cli("generate", "geneval", "--model", f"transformers:{checkpoints['janus']}", "--model-arg", "size=64x64",
              "--limit", "1", "--out", tmp_path / "bad", "--quiet")
    assert bad.exit_code == 2 and "only 32x32" in bad.output
