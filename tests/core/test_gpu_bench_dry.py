"""bench/gpu.sh stays runnable: its CPU dry run (tiny models) completes and writes every section's figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_bench_dry_run_on_cpu_writes_every_section(tmp_path):
    env = {**subprocess_env(), "OUT": str(tmp_path), "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(ROOT / "bench" / "gpu.sh"), "--device", "cpu", "--images", "2", "--tiny", "--rounds", "1",
         "--gen-images", "2", "--batch", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    results = json.loads((tmp_path / "gpu_results.json").read_text())
    assert results["device"] == "cpu" and "machine_end" in results
    geneval = results["geneval"]
    assert geneval["images"] == 2 and set(geneval["seconds"]) == {"genlens", "limit", "naive"}
    assert geneval["genlens_over_limit"] > 0
    diffusers = results["diffusers"]
    assert diffusers["images"] == 2 and diffusers["genlens_over_bare_batched"] > 0
    assert set(diffusers["seconds"]) == {"genlens", "bare_batched", "bare_new_thread", "one_at_a_time"}
    assert diffusers["diagnosis"]["pipeline_calls"] == 1 and diffusers["diagnosis"]["pipeline_call_seconds"] > 0
    assert set(results["versions"]) == {"transformers", "diffusers", "pydantic", "tokenizers", "regex"}
    assert "ar" in results and "error" not in results["ar"]
