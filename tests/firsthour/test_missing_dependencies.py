"""A missing optional dependency is one line naming the extra; doctor checks every extra (simulated removals)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import write_png


def hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make ``import <module>`` fail as on a core install (None in sys.modules halts the import)."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_doctor_lists_each_extra_once_with_its_real_name_and_torch_once(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    hide(monkeypatch, "rapidocr")
    r = cli("doctor", "--json")
    assert r.exit_code == 0, r.output
    rows = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert [name for name in rows if "torch" in name] == ["torch"]
    assert rows["extra [ocr]"]["ok"] is False and "pip install 'genlens[ocr]'" in rows["extra [ocr]"]["detail"]
    assert rows["extra [diag]"]["ok"] is True and "scikit-learn" in rows["extra [diag]"]["detail"]
    assert rows["suite diag-text"]["ok"] is False and "rapidocr" in rows["suite diag-text"]["detail"]
    assert "facebook/mask2former" in rows["suite geneval"]["detail"]
    plain = cli("doctor").stdout
    assert "genlens[ocr]" in plain.replace("\n", "") or "genlens[ocr" in plain  # Rich markup escaped, not eaten
    assert "extra [ocr]" in plain


def test_detect_without_scikit_learn_is_one_line_naming_the_extra(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    assert cli("run", "image-props", "-m", "synthetic:noise", "-o", run, "--limit", "6", "-q").exit_code == 0
    for i in range(6):
        write_png(tmp_path / "real" / f"{i}.png", size=(96, 96), seed=i)
    for name in [m for m in list(sys.modules) if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    hide(monkeypatch, "sklearn")
    r = cli("detect", run, "--real", tmp_path / "real")
    assert r.exit_code == 2
    line = one_error_line(r.output)
    assert "scikit-learn is not installed" in line and "genlens[diag]" in line


def test_geneval_without_torch_is_refused_before_generation_and_score_is_one_line(
        cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("det", "clip"):  # local weight dirs (content never read: the import fails first)
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(b"not read")
    hide(monkeypatch, "torch", "transformers")
    run = tmp_path / "run"
    r = cli("run", "geneval", "-m", "synthetic:gradient", "-o", run, "--limit", "1",
            "--detector", tmp_path / "det", "--clip", tmp_path / "clip")
    assert r.exit_code == 2
    line = one_error_line(r.output)
    assert "scoring needs torch (Python package)" in line and "genlens[local]" in line
    assert not (run / "images").exists()
    assert cli("run", "geneval", "-m", "synthetic:gradient", "-o", run, "--limit", "1", "--generate-only").exit_code == 0
    r = cli("score", run, "--detector", tmp_path / "det", "--clip", tmp_path / "clip")
    assert r.exit_code == 2
    line = one_error_line(r.output)
    assert "is not installed" in line and "genlens[local]" in line


def test_diagnose_without_opencv_is_one_line(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_png(tmp_path / "a.png", size=(96, 96))
    for name in [m for m in list(sys.modules) if m == "cv2" or m.startswith("cv2.")]:
        monkeypatch.delitem(sys.modules, name)
    hide(monkeypatch, "cv2", "scipy")
    r = cli("diagnose", tmp_path / "a.png")
    assert r.exit_code == 2
    line = one_error_line(r.output)
    assert "genlens[diag]" in line
