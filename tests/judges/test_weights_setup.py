"""Untrusted weights: a pickle-only checkpoint is refused (never loaded), broken weights are one setup error."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
from pathlib import Path

import pytest

from genlens.errors import SpecError
from genlens.testing.tiny_vlm import save_tiny_qwen_vl
from tests.judges.wise_fixture import write_verified_data


class _Payload:
    """A pickle that, if anything ever unpickled it, would create ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def pickle_only(folder: Path, marker: Path) -> None:
    """Replace every safetensors file of ``folder`` by a ``.bin`` pickle that would touch ``marker``."""
    found = list(folder.glob("*.safetensors"))
    assert found
    for weights in found:
        weights.unlink()
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(marker)))


@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory):
    return save_tiny_qwen_vl(tmp_path_factory.mktemp("qwen") / "model", answer="Score: 1")


def _run_wise(cli, tmp_path: Path, judge_dir: Path):
    data = write_verified_data(tmp_path / "data")
    return cli("run", "wise-verified", "--model", f"folder:{tmp_path / 'verified_images'}", "--judge", f"local:{judge_dir}",
               "--data-dir", data, "--out", tmp_path / "run", "--scorer-arg", "max_new_tokens=2", "--quiet")


def _score_rows(run: Path) -> int:
    with sqlite3.connect(run / "genlens.sqlite") as conn:
        return conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0]


def test_a_pickle_only_local_judge_is_refused_in_one_line(cli, tmp_path: Path, tiny_judge: Path) -> None:
    judge = tmp_path / "judge"
    shutil.copytree(tiny_judge, judge)
    marker = tmp_path / "pwned"
    pickle_only(judge, marker)
    result = _run_wise(cli, tmp_path, judge)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "only pickle weights (pytorch_model.bin)" in lines[0] and "never loads pickles" in lines[0]
    assert "save_pretrained" in lines[0]  # says how to convert it
    assert not marker.exists()
    assert _score_rows(tmp_path / "run") == 0


def test_a_local_judge_whose_weights_fail_to_load_is_one_setup_error(cli, tmp_path: Path, tiny_judge: Path) -> None:
    judge = tmp_path / "judge"
    shutil.copytree(tiny_judge, judge)
    weights = next(judge.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated download
    result = _run_wise(cli, tmp_path, judge)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot load judge" in lines[0] and "weights do not load" in lines[0], lines
    assert _score_rows(tmp_path / "run") == 0  # before any item: no per-image error records


def test_refuse_pickle_only_looks_at_pipeline_components(tmp_path: Path) -> None:
    from genlens.weights import refuse_pickle_only

    (tmp_path / "unet").mkdir()
    (tmp_path / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"x")
    (tmp_path / "vae").mkdir()
    (tmp_path / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"x")
    (tmp_path / "vae" / "diffusion_pytorch_model.bin").write_bytes(b"x")  # beside safetensors: fine
    refuse_pickle_only(tmp_path, what="m", library="transformers")  # the root has no weights at all
    with pytest.raises(SpecError, match=r"only pickle weights \(diffusion_pytorch_model\.bin\).*safe_serialization=True"):
        refuse_pickle_only(tmp_path, what="m", library="diffusers", components=True)


def test_a_pickle_only_diffusers_pipeline_is_refused(cli, tmp_path: Path) -> None:
    pytest.importorskip("diffusers")
    from genlens.testing.tiny_diffusers import build_text2image

    pipe = build_text2image(tmp_path / "sd")
    marker = tmp_path / "pwned"
    pickle_only(pipe / "unet", marker)
    result = cli("generate", "geneval", "--model", f"diffusers:{pipe}", "--limit", "1", "--samples", "1",
                 "--model-arg", "steps=1", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "only pickle weights" in lines[0] and "safe_serialization=True" in lines[0], lines
    assert not marker.exists()


def test_every_from_pretrained_of_weights_asks_for_safetensors() -> None:
    """A source check: model classes are loaded with use_safetensors=True everywhere in genlens."""
    import re

    src = Path(__file__).resolve().parents[2] / "src" / "genlens"
    calls = []
    for path in src.rglob("*.py"):
        if "testing" in path.parts or path.name == "weights.py":  # weights.py names it in a message
            continue
        for match in re.finditer(r"(\w+)\)?\.from_pretrained\(([^\n]*)", path.read_text(encoding="utf-8")):
            name, args = match.groups()
            if re.search(r"processor|tokenizer|config", name + args.split(",")[0], re.IGNORECASE):
                continue  # JSON/text files only
            calls.append((path.name, name, "use_safetensors=True" in args))
    assert calls and all(ok for _file, _name, ok in calls), [c for c in calls if not c[2]]


def test_a_pickle_only_hf_detector_is_refused(tmp_path: Path) -> None:
    from genlens.forensics.detectors import make_detector

    folder = tmp_path / "det"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    marker = tmp_path / "pwned"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(marker)))
    detector = make_detector(f"hf:{folder}")
    with pytest.raises(SpecError, match=r"only pickle weights \(pytorch_model\.bin\)"):
        detector.load()
    assert not marker.exists()


def test_a_pickle_only_transformers_generator_is_refused(tmp_path: Path) -> None:
    from genlens.backends.transformers_ar import TransformersARBackend
    from genlens.testing.tiny_ar import save_tiny_janus

    folder = save_tiny_janus(tmp_path / "janus")
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    marker = tmp_path / "pwned"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(marker)))
    backend = TransformersARBackend(str(folder), {})
    with pytest.raises(SpecError, match=r"only pickle weights \(pytorch_model\.bin\)"):
        backend._load()
    assert not marker.exists()
