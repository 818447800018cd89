"""Run options from the command line and ``--config run.yaml`` (the command line wins)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from genlens.errors import SpecError

CONFIG_KEYS = {
    "suite", "model", "out", "samples", "limit", "seed", "concurrency", "model_args", "suite_args", "prompt_variant",
    "scorer_args", "judge", "judge_prompt", "detector", "clip", "data_dir", "shard", "quiet",
    "executor", "ray_address", "workers", "gpus_per_worker",
}
_POSITIVE_INTS = ("samples", "limit", "concurrency", "workers")
_STRINGS = ("suite", "model", "out", "judge", "judge_prompt", "detector", "clip", "data_dir", "shard", "executor",
            "ray_address", "prompt_variant")
_MAPPINGS = ("model_args", "suite_args", "scorer_args")


def _check_types(data: dict[str, Any], path: Path) -> None:
    """Each config value has the type its option takes (a wrong one is one line, not a traceback)."""
    for key, value in data.items():
        if key in _POSITIVE_INTS and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise SpecError(f"config {key}: {value!r} is not a whole number >= 1", path=path, fix=f"e.g. {key}: 4")
        if key == "seed" and (isinstance(value, bool) or not isinstance(value, int)):
            raise SpecError(f"config seed: {value!r} is not a whole number", path=path, fix="e.g. seed: 0")
        if key in _STRINGS and not isinstance(value, (str, int, float)):
            raise SpecError(f"config {key}: {value!r} is not a single value", path=path, fix=f"e.g. {key}: <text>")
        if key in _MAPPINGS and not isinstance(value, dict):
            raise SpecError(f"config {key} must be a mapping of name: value", path=path, fix=f"e.g. {key}: {{size: 1024x1024}}")
        if key == "gpus_per_worker" and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise SpecError(f"config gpus_per_worker: {value!r} is not a number >= 0", path=path, fix="e.g. gpus_per_worker: 1")
        if key == "quiet" and not isinstance(value, bool):
            raise SpecError(f"config quiet: {value!r} is not true/false", path=path, fix="e.g. quiet: true")


def load_config(path: Path | None) -> dict[str, Any]:
    """Read a YAML config; unknown keys are an error (a typo must not be silently ignored)."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SpecError("config file not found", path=path, fix="check the --config path") from None
    except IsADirectoryError:
        raise SpecError("config is a directory, not a YAML file", path=path, fix="give the YAML file itself") from None
    except UnicodeDecodeError:
        raise SpecError("config is not a UTF-8 text (YAML) file", path=path, fix="give a YAML file") from None
    except OSError as exc:
        raise SpecError(f"cannot read the config ({exc.strerror or exc})", path=path, fix="check the --config path") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"config is not valid YAML ({str(exc).splitlines()[0]})", path=path, fix="fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise SpecError("config must be a mapping of option: value", path=path, fix="see README 'Config files'")
    normalised = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(set(normalised) - CONFIG_KEYS)
    if unknown:
        raise SpecError(f"unknown config key(s): {', '.join(unknown)}", path=path, fix=f"use only: {', '.join(sorted(CONFIG_KEYS))}")
    _check_types(normalised, path)
    return {k: str(v) if k in _STRINGS else v for k, v in normalised.items()}


def parse_scalar(text: str) -> Any:
    """``3`` -> 3, ``0.5`` -> 0.5, ``true`` -> True, anything else stays a string."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, bool)) or value is None else text


def parse_kv(pairs: list[str] | None, option: str) -> dict[str, Any]:
    """``key=value`` arguments; ``a=1,b=2`` is two of them (a comma splits only before ``name=``,
    outside quotes), and a quoted value is taken as written: ``note='a,b=c'``."""
    from genlens.args import split_pairs, unquote

    out: dict[str, Any] = {}
    for given in pairs or []:
        for pair in split_pairs(given):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise SpecError(f"{option} {pair!r} is not key=value", fix=f"write it as {option} name=value")
            value = value.strip()
            quoted = unquote(value)
            out[key.strip()] = quoted if quoted != value else parse_scalar(value)
    return out


def merge_kv(config_value: dict[str, Any] | None, cli_pairs: list[str] | None, option: str) -> dict[str, Any]:
    """A config file's mapping (already type-checked) updated by the command line's key=value pairs."""
    base = dict(config_value or {})
    base.update(parse_kv(cli_pairs, option))
    return base


_SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    match = _SHARD.match(text.strip())
    if not match or not 0 <= int(match.group(1)) < int(match.group(2)):
        raise SpecError(f"--shard {text!r} is not i/n with 0 <= i < n", fix="e.g. --shard 0/4 for the first of four shards")
    return int(match.group(1)), int(match.group(2))


def pick(cli_value: Any, config: dict[str, Any], key: str, default: Any = None) -> Any:
    if cli_value is not None:
        return cli_value
    return config.get(key, default)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "run"
