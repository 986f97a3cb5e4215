#!/usr/bin/env bash
# Checks on a GPU, through the same CLI the rules call: inference of the paper-size network
# (synchronised seconds, peak GPU memory), then train -> evaluate runs on the embedded hci
# stacks with --device cuda: the default compact setting (to compare with the CPU run), longer
# trainings the CPU budget cannot afford, and the paper-size network. Prints figures; asserts nothing.
#
# Needs results/stacks/hci/{train_10,val_10}.h5: snakemake --cores 8 results/stacks/hci/val_10.h5
# results/stacks/hci/train_10.h5. Besides the 4 val scenes it evaluates on 24 held-out scenes
# synthesized with another seed (built on first use). Usage: benchmarks/gpu_check.sh [OUT_DIR]
# DEVICE=cpu STEPS_DIVISOR=100 runs the same steps briefly on the CPU (a smoke test of the script).
set -euo pipefail
out=${1:-results/gpu_check}
device=${DEVICE:-cuda}
divisor=${STEPS_DIVISOR:-1}
mkdir -p "$out"
aifdepth() { python -m aifdepth.cli "$@"; }
stacks=results/stacks/hci
heldout=results/gpu_check/heldout_10.h5
if [[ ! -f $heldout ]]; then
  aifdepth synthesize hci "$out/heldout_scenes" --scenes 28 --size 128 128 --seed 21
  aifdepth build-stack hci "$out/heldout_scenes" --split train --out "$heldout" --source synthetic --slices 10 \
    --focus-range -2.5 2.5
fi
tests=("$stacks/val_10.h5" "$heldout")

if command -v nvidia-smi > /dev/null; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; fi
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
python benchmarks/bench_inference.py --device "$device" --repeats $((10 / divisor + 1))

run() {  # name, steps, then more `aifdepth train` options
  local name=$1 steps=$(($2 / divisor)); shift 2
  local start end
  start=$(date +%s.%N)
  aifdepth --threads 4 train "$stacks/train_10.h5" --out "$out/$name/model.pt" --log "$out/$name/log.csv" \
    --device "$device" --steps "$steps" --checkpoint-every 100000 --supervised 1 "$@" > "$out/$name/train.log" 2>&1 || { tail "$out/$name/train.log"; return 1; }
  end=$(date +%s.%N)
  for test in "${tests[@]}"; do
    aifdepth evaluate --model "$out/$name/model.pt" --stacks "$test" --device "$device" \
      --out "$out/$name/$(basename "$test" .h5).json" 2> /dev/null
  done
  python - "$out/$name" "$start" "$end" <<'PY'
import json, pathlib, sys
folder, start, end = pathlib.Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
parts = [f"{folder.name:28s} train {end - start:6.1f} s"]
for result in sorted(folder.glob("*.json")):
    r = json.loads(result.read_text())
    parts.append(f"{result.stem} MAE {r['metrics']['mae']:.3f} ({r['runtime']['seconds_per_stack'] * 1000:.1f} ms/stack)")
print("   ".join(parts), flush=True)
PY
}
mkdir -p "$out"/{compact_200,compact_2000,compact_noatt_2000,compact_unsup_2000,paper_1000}
# The default config's hci/sup_3d_att, on the GPU instead of the CPU.
run compact_200 200 --batch-size 3 --crop 64
run paper_1000 1000 --width paper --batch-size 4 --crop 128
run compact_2000 2000 --batch-size 3 --crop 64
run compact_noatt_2000 2000 --no-attention --batch-size 3 --crop 64
run compact_unsup_2000 2000 --batch-size 3 --crop 64 --supervised 0 --unsupervised 1
