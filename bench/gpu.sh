#!/usr/bin/env bash
# GPU figures in one go (budget: 8 minutes on one H100): GenEval scoring, a diffusers pipeline and an
# AR generator, genlens vs the bare calls. Writes one JSON ($OUT/gpu_results.json, else ./gpu_results.json).
#   bench/gpu.sh                                   # on a GPU machine
#   bench/gpu.sh --device cpu --images 4 --tiny    # dry run of the plumbing on CPU (CI runs this)
# Wheels in .gpuwheels/ (pure-Python deps genlens needs that the GPU image lacks, e.g. diffusers,
# pydantic) are installed into .gpuwheels/site first: such machines reach no package index.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
extra=""
if compgen -G ".gpuwheels/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target .gpuwheels/site .gpuwheels/*.whl \
    >.gpuwheels/pip.log 2>&1 || { echo "gpu.sh: installing .gpuwheels failed (the machine's own packages run):"; tail -5 .gpuwheels/pip.log; }
  extra=".gpuwheels/site"
fi
export PYTHONPATH="src:bench${extra:+:$extra}${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
out="${OUT:-.}/gpu_results.json"
exec timeout 480 "$PY" bench/gpu_bench.py --out "$out" "$@"
