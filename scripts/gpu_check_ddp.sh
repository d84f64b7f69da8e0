#!/usr/bin/env bash
# Data-parallel LoRA check for a GPU machine (docs/fleet-multigpu.md): with 2+ GPUs the
# torchrun tests run on 2 of them over nccl (fp32 equivalence with one GPU, then bf16);
# with 1 GPU only the single-GPU path and the CPU (gloo) test can run. Writes a log
# and the environment to $OUT (default: a temporary folder). Usage, from the repo root:
#   bash scripts/gpu_check_ddp.sh            # PYTHON=... to choose the interpreter
set -uo pipefail
PY=${PYTHON:-python}
OUT=${OUT:-$(mktemp -d)}
export PYTHONPATH=${PYTHONPATH:-$PWD}
mkdir -p "$OUT"
N=$("$PY" -c "import torch; print(min(2, torch.cuda.device_count()))")
{ nvidia-smi -L; "$PY" -c "import torch, transformers, peft; print(torch.__version__, torch.version.cuda,
transformers.__version__, peft.__version__, 'nccl', torch.cuda.nccl.version())"; } > "$OUT/env.txt" 2>&1
echo "GPUs used: $N" | tee -a "$OUT/env.txt"
if [ "$N" -ge 2 ]; then
  # the tiny spec on 2 GPUs vs 1 (fp32, then bf16), and the missed-gate exit code
  timeout 500 "$PY" -m pytest tests/training/test_lora_ddp.py -m "slow or not slow" -v --durations=0 \
    2>&1 | tee "$OUT/pytest_ddp.log"
  rc=${PIPESTATUS[0]}
elif [ "$N" -eq 1 ]; then
  # nccl needs one GPU per rank: check the single-GPU path, and the 2-process path on the CPU
  timeout 300 "$PY" -m pytest tests/training/test_lora.py -q -k "pipeline_trains or missed_gate" \
    2>&1 | tee "$OUT/pytest_single_gpu.log"
  rc=${PIPESTATUS[0]}
  CUDA_VISIBLE_DEVICES="" timeout 200 "$PY" -m pytest tests/training/test_lora_ddp.py -q \
    2>&1 | tee "$OUT/pytest_cpu_gloo.log"
  rc=$(( rc || PIPESTATUS[0] ))
else
  echo "no CUDA device" | tee -a "$OUT/env.txt"; rc=1
fi
echo "exit $rc; logs in $OUT" | tee -a "$OUT/env.txt"
exit "$rc"
