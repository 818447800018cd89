"""The run directory: run.json (the spec, versions, git hash, seeds; never secrets) and its checks."""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from genlens import __version__
from genlens.errors import RunDirError, SpecError
from genlens.imageio import atomic_write_text
from genlens.redact import scrub_value

#: Bump when the on-disk layout changes incompatibly.
RUN_FORMAT = 1
RUN_JSON = "run.json"
DB_NAME = "genlens.sqlite"
RESULTS_JSON = "results.json"

_VERSIONED_PACKAGES = (
    "numpy", "pillow", "torch", "transformers", "diffusers", "openai", "google-genai",
    "opencv-python-headless", "scikit-image", "rapidocr", "mediapipe",
)


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "genlens": __version__}
    for name in _VERSIONED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def git_hash() -> str | None:
    """The genlens source checkout's commit, when it runs from one."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def redact_argv(argv: list[str]) -> list[str]:
    """The command line as recorded in run.json: ``key=value`` arguments with credential names masked."""
    from genlens.backends.base import is_secret_arg
    from genlens.redact import scrub

    out = [Path(argv[0]).name] if argv else []
    for arg in argv[1:]:
        key, sep, _value = arg.partition("=")
        out.append(f"{key}=***" if sep and is_secret_arg(key.lstrip("-")) else scrub(arg))
    return out


@dataclass
class RunSpec:
    """What defines a run: the same spec resumes, a different one is refused."""

    suite: str
    suite_version: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)  # public model args (secrets removed)
    samples: int = 1
    seed: int = 0
    limit: int | None = None
    mode: str = ""  # e.g. multi-round mode (native / reupload)
    suite_args: dict[str, Any] = field(default_factory=dict)
    #: Which prompts the model was given: ``original`` (the suite's), or what the user says (``rewritten``, an enhancer).
    prompt_variant: str = "original"

    def identity(self) -> dict[str, Any]:
        """The fields that must match for a run directory to be resumed."""
        return {
            "suite": self.suite, "suite_version": self.suite_version, "model": self.model,
            "params": self.params, "seed": self.seed, "mode": self.mode, "prompt_variant": self.prompt_variant,
        }


_VARIANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}")


def check_prompt_variant(name: object) -> str:
    """A prompt-variant name as recorded: 1–64 of letters, digits and ``._:+-``, starting with a letter or digit."""
    text = str(name).strip()
    if not _VARIANT.fullmatch(text):
        raise SpecError(f"--prompt-variant {text[:40]!r} is not a variant name",
                        fix="give original, rewritten or an enhancer's name (letters, digits, . _ : + -; up to 64)")
    return text


def write_run_json(run_dir: Path, spec: RunSpec, extra: dict[str, Any] | None = None) -> None:
    data = {
        "format": RUN_FORMAT,
        "genlens_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "spec": spec.__dict__,
        "versions": package_versions(),
        "git": git_hash(),
        "command": redact_argv(sys.argv),
    }
    previous = read_run_json(run_dir)
    if previous:
        data["created"] = previous.get("created", data["created"])
    data.update(extra or {})
    data = scrub_value(data)  # a URL's userinfo or a key's value never reaches run.json
    atomic_write_text(run_dir / RUN_JSON, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def read_run_json(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / RUN_JSON
    if not path.exists():
        return None
    if not path.is_file():
        raise RunDirError("run.json is not a file", path=path, fix="restore it from a copy of the run or start a new --out directory")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunDirError(f"run.json is not valid JSON ({exc})", path=path, fix="restore it or start a new --out directory") from None
    except OSError as exc:
        raise RunDirError(f"run.json cannot be read ({exc.strerror or exc})", path=path,
                          fix="fix its permissions, or start a new --out directory") from None
    spec = data.get("spec") if isinstance(data, dict) else None
    if not isinstance(spec, dict) or not all(isinstance(spec.get(k), str) for k in ("suite", "suite_version", "model")):
        raise RunDirError("run.json is not a genlens run description (no suite/model spec)", path=path,
                          fix="restore it from a copy of the run or use a new --out directory")
    for key, kind in (("params", dict), ("suite_args", dict)):
        if spec.get(key) is not None and not isinstance(spec[key], kind):
            raise RunDirError(f"run.json's spec.{key} is not a mapping", path=path,
                              fix="restore it from a copy of the run or use a new --out directory")
    return data


def check_format(run_dir: Path, data: dict[str, Any]) -> None:
    fmt = data.get("format")
    if fmt != RUN_FORMAT:
        raise RunDirError(
            f"run directory format {fmt} was written by genlens {data.get('genlens_version', '?')};"
            f" this genlens {__version__} reads format {RUN_FORMAT}",
            path=run_dir,
            fix="use the genlens version that made it, or start a new --out directory",
        )


def check_compatible(run_dir: Path, spec: RunSpec) -> None:
    """Refuse to resume a run directory made for another suite, model or genlens format."""
    data = read_run_json(run_dir)
    if data is None:  # a new run (or one killed before its first record: nothing to lose)
        return
    check_format(run_dir, data)
    old = data["spec"]
    mine = spec.identity()
    for key, value in mine.items():
        theirs = old.get(key)
        if key == "params":
            theirs = theirs or {}
        if key == "mode":
            theirs = theirs or ""
        if key == "prompt_variant":  # runs made before the field existed used the suite's own prompts
            theirs = theirs or "original"
        if theirs != value:
            raise RunDirError(
                f"was made with {key}={theirs!r}, this command asks for {key}={value!r}",
                path=run_dir,
                fix="re-run with the original options to resume, or give a new --out directory",
            )


def load_run(run_dir: Path) -> dict[str, Any]:
    """run.json of an existing run, or a one-line error saying why it is not one."""
    if not run_dir.is_dir():
        raise RunDirError("no such run directory", path=run_dir, fix="give the --out directory of a genlens run")
    data = read_run_json(run_dir)
    if data is None:
        raise RunDirError("not a genlens run directory (no run.json)", path=run_dir, fix="give the --out directory of a genlens run")
    check_format(run_dir, data)
    return data
