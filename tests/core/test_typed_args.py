"""Typed arguments: one declaration per backend, judge, scorer and suite drives parsing, one-line
errors (argument, expected type, example), did-you-mean, bounds and the `genlens models` listing."""

from __future__ import annotations

import json

import pytest

from genlens.args import Arg, check_args, split_pairs
from genlens.errors import SpecError


def _line(result) -> str:
    assert "Traceback" not in result.output and "╭" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize(("args", "expected"), [
    (["--model-arg", "delay=abc"], "delay='abc' for backend synthetic: is not a duration"),
    (["--model-arg", "delay=inf"], "must be finite"),
    (["--model-arg", "delay=1e9"], "between 0 and 3600 s"),
    (["--model-arg", "fail_every=abc"], "fail_every='abc' for backend synthetic: is not a whole number"),
    (["--model-arg", "dealy=1"], "did you mean 'delay'?"),
    (["--model-arg", "delay=0,fail_every=abc"], "fail_every='abc'"),  # split on the comma, not merged
    (["--model-arg", "format=tiff"], "is not one of png, jpg, jpeg"),
    (["--judge", "openai:gpt-4o"], "suite image-props does not use --judge"),
    (["--detector", "x"], "does not use --detector"),
    (["--clip", "x"], "does not use --clip"),
    (["--scorer-arg", "device=cpu"], "takes no argument 'device'"),
    (["--suite-arg", "mode=native"], "suite image-props takes no argument 'mode'"),
])
def test_bad_arguments_are_one_line(cli, tmp_path, args, expected):
    result = cli("run", "image-props", "--model", "synthetic:gradient", *args, "--limit", "1", "--out", tmp_path / "r", "--quiet")
    assert result.exit_code == 2
    assert expected in _line(result)
    assert not (tmp_path / "r").exists()  # refused before anything was written


@pytest.mark.parametrize(("args", "expected"), [
    (["--suite-arg", "sources=bogus"], "sources='bogus' for suite multiturn-edit is not one of gedit"),
    (["--suite-arg", "judge_max_side=abc"], "judge_max_side='abc'"),
    (["--suite-arg", "mode=sideways"], "mode='sideways'"),
    (["--scorer-arg", "temprature=0"], "did you mean 'temperature'?"),
    (["--detector", "x"], "does not use --detector"),
])
def test_suite_and_scorer_arguments_are_checked(cli, tmp_path, args, expected):
    result = cli("run", "multiturn-edit", "--model", "synthetic:gradient", *args, "--limit", "1", "--out", tmp_path / "r", "--quiet")
    assert result.exit_code == 2
    assert expected in _line(result)


@pytest.mark.parametrize("arg", ["partial_images=abc", "timeout=abc", "rate=abc", "n=abc", "timeout=inf", "base_url=not a url"])
def test_api_backend_arguments(cli, tmp_path, monkeypatch, arg):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    result = cli("run", "image-props", "--model", "openai:gpt-image-1", "--model-arg", arg, "--out", tmp_path / "r", "--quiet")
    assert result.exit_code == 2
    assert arg.split("=")[0] in _line(result)


@pytest.mark.parametrize(("yaml_text", "expected"), [
    ("model_args: {delay: [1, 2]}\n", "delay=[1, 2]"),
    ("model_args: {fail_every: null}\n", "fail_every=None"),
    ("model_args: {fail_every: two}\n", "fail_every='two'"),
    ("suite_args: {judge_max_side: big}\n", "judge_max_side='big'"),
])
def test_config_values_of_the_wrong_type(cli, tmp_path, yaml_text, expected):
    config = tmp_path / "run.yaml"
    config.write_text("suite: multiturn-edit\nmodel: synthetic:gradient\n" + yaml_text)
    result = cli("run", "multiturn-edit", "--config", config, "--limit", "1", "--out", tmp_path / "r", "--quiet")
    assert result.exit_code == 2 and expected in _line(result)


def test_config_that_is_a_directory_or_binary(cli, tmp_path):
    result = cli("run", "image-props", "--config", tmp_path, "--out", tmp_path / "r")
    assert result.exit_code == 2 and "is a directory" in _line(result)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    result = cli("run", "image-props", "--config", binary, "--out", tmp_path / "r")
    assert result.exit_code == 2 and "not a UTF-8" in _line(result)


@pytest.mark.parametrize(("args", "expected"), [
    (["--limit", "-1"], "--limit"), (["--samples", "0"], "--samples"), (["--seed", "abc"], "--seed"),
    (["--concurrency", "0"], "--concurrency"), (["--limt", "3"], "--limt"),
])
def test_usage_errors_read_like_genlens_errors(cli, tmp_path, args, expected):
    result = cli("run", "image-props", "--model", "synthetic:gradient", *args, "--out", tmp_path / "r")
    assert result.exit_code == 2
    line = _line(result)
    assert expected in line and "— see `" in line


def test_typed_values_and_good_arguments_run(cli, tmp_path):
    run = tmp_path / "r"
    result = cli("run", "image-props", "--model", "synthetic:gradient", "--model-arg", "delay=0,format=png",
                 "--limit", "1", "--out", run, "--quiet")
    assert result.exit_code == 0, result.output
    params = json.loads((run / "run.json").read_text())["backend"]["params"]
    assert params == {"delay": 0, "format": "png"}


def test_split_pairs_keeps_quoted_and_list_values():
    assert split_pairs("a=1,b=2") == ["a=1", "b=2"]
    assert split_pairs("sources=a,b") == ["sources=a,b"]
    assert split_pairs("note='x,y=1',b=2") == ["note='x,y=1'", "b=2"]


def test_declaration_bounds_and_families():
    decls = (Arg("steps", "int", None, "", "28", minimum=1, maximum=100), Arg("call.*", "any"))
    assert check_args(decls, {"steps": "5", "call.eta": 0.1}, option="--model-arg", owner="x") == {"steps": 5, "call.eta": 0.1}
    with pytest.raises(SpecError, match="<= 100"):
        check_args(decls, {"steps": 1000}, option="--model-arg", owner="x")
    with pytest.raises(SpecError, match="whole number"):
        check_args(decls, {"steps": True}, option="--model-arg", owner="x")
    assert check_args(None, {"anything": 1}, option="--model-arg", owner="plugin") == {"anything": 1}


def test_models_lists_the_arguments(cli):
    result = cli("models", "--json")
    data = json.loads(result.output)
    synthetic = next(row for row in data["backends"] if row["scheme"] == "synthetic")
    delay = next(a for a in synthetic["args"] if a["name"] == "delay")
    assert delay["type"] == "duration" and delay["max"] == 3600
    suites = json.loads(cli("suites", "--json").output)
    multiturn = next(row for row in suites if row["name"] == "multiturn-edit")
    assert multiturn["uses"] == ["judge"] and any(a.startswith("mode (one of native/reupload") for a in multiturn["suite_args"])
