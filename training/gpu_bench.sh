#!/usr/bin/env bash
# GPU benchmark of our JAX train step against the official CycleGAN step in PyTorch, for a machine
# with JAX (CUDA) and PyTorch but neither TensorFlow nor Keras (this workplace's device machines:
# Python 3.12, jax 0.11 with CUDA 13, torch 2.11; nothing can be downloaded there).
#
#   bash training/gpu_bench.sh --prepare   # here, once: Keras and its two missing needs -> .whl/
#   bash training/gpu_bench.sh             # there, from the repository root, .whl carried along;
#                                          # results in $OUT (default gpu_bench_out/), and one
#                                          # Markdown table on stdout (and in $OUT/table.md)
#   bash training/gpu_bench.sh --dry_run   # anywhere: prints the commands, runs nothing
#
# Runs, most important first, each limited to $LIMIT seconds (default 150) and all together to
# $BUDGET (default 530, inside the device tool's 600 s per command; later runs are skipped, and each
# result is in $OUT as soon as its run ends): Vanilla at 256 px batch 1
# and 128 px batch 8, float32 then bfloat16 (Keras mixed_bfloat16 in JAX, torch.autocast in the
# reference), then Long M = N = 2 at 256 px batch 1, then SwapGAN full (I,II,III) at 128 px batch 8,
# which needs TensorFlow (there is no JAX step of SwapGAN): without TensorFlow its row says so.
# float32 convolutions may use TF32 in both
# frameworks (their defaults: XLA and cudnn.allow_tf32), so the float32 rows compare like with like.
# The first run also checks, on the GPU, that the reference holding our weights computes our images.
set -uo pipefail
cd "$(dirname "$0")/.."

WHEELS="keras==3.15.1 optree==0.20.0 namex==0.1.0"  # keras's other needs are on the device image
if [[ "${1:-}" == "--prepare" ]]; then
    exclude=$(git rev-parse --git-path info/exclude)  # .whl/ travels with the tree but is never committed
    grep -qxF "/.whl/" "$exclude" 2>/dev/null || echo "/.whl/" >> "$exclude"
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl $WHEELS
    exit
fi

DRY=; [[ "${1:-}" == "--dry_run" ]] && DRY=1

OUT=${OUT:-gpu_bench_out}
LIMIT=${LIMIT:-150}
BUDGET=${BUDGET:-530}
mkdir -p "$OUT"
if [[ -z $DRY ]] && ! python3 -c "import keras" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || { echo "no Keras wheels in .whl/: run --prepare first"; exit 1; }
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2

if [[ -z $DRY ]]; then
    {
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
        python3 -c "import sys, jax, keras, torch; print(sys.version.split()[0], 'jax', jax.__version__, jax.devices(), 'keras', keras.__version__, 'torch', torch.__version__)"
    } > "$OUT/env.txt" 2>&1
    cat "$OUT/env.txt"
fi

limited() {  # name, command...: runs it within $LIMIT and what is left of $BUDGET, log in $OUT
    local name=$1; shift
    local left=$((BUDGET - SECONDS)) limit=$LIMIT
    if [[ -n $DRY ]]; then echo "$*"; return; fi
    if (( left < 45 )); then echo "=== $name: skipped, ${left} s left" | tee -a "$OUT/all.log"; return; fi
    (( left < limit )) && limit=$left
    echo "=== $name: $*" | tee -a "$OUT/all.log"
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    grep -v -e "^[IWE][0-9]" -e "^WARNING" "$OUT/$name.log" | tail -n 12 | tee -a "$OUT/all.log"
    [[ $rc == 0 ]] || echo "    (exit $rc$([[ $rc == 124 ]] && echo ": over ${limit} s"))" | tee -a "$OUT/all.log"
}

run() {  # name, benchmark flags...
    local name=$1; shift
    limited "$name" python3 -m training.benchmark --backend=jax --reference=torch --steps=20 --warmup=3 \
        --repeats=3 "$@"
}

swapgan() {  # SwapGAN full at 128 px batch 8: the TF trainer on synthetic persons (TF only)
    if [[ -z $DRY ]] && ! python3 -c "import tensorflow" 2>/dev/null; then
        echo "=== swapgan_128_b8: not run: no TensorFlow here, and SwapGAN has no JAX step" \
            | tee -a "$OUT/all.log" "$OUT/swapgan_128_b8.log"
        return
    fi
    rm -rf "$OUT/swapgan_run"
    KERAS_BACKEND=tensorflow limited swapgan_128_b8 python3 -m training.swapgan --dataset=synthetic \
        --generators=I,II,III --image_size=128 --batch_size=8 --max_steps=30 --log_every=10 \
        --checkpoint_every=1000 --sample_every=1000 --workdir="$OUT/swapgan_run"
}

run vanilla_256_b1_f32 --variant=vanilla --image_size=256 --batch_size=1 --verify_reference
run vanilla_128_b8_f32 --variant=vanilla --image_size=128 --batch_size=8
run vanilla_256_b1_bf16 --variant=vanilla --image_size=256 --batch_size=1 --precision=mixed_bfloat16
run vanilla_128_b8_bf16 --variant=vanilla --image_size=128 --batch_size=8 --precision=mixed_bfloat16
run long2_256_b1_f32 --variant=long --M=2 --N=2 --image_size=256 --batch_size=1
swapgan
[[ -n $DRY ]] && exit 0

# One Markdown table of every run, for the docs (docs/performance.md).
python3 - "$OUT" <<'PY' | tee "$OUT/table.md"
import json, os, re, sys

out = sys.argv[1]
env = open(os.path.join(out, "env.txt")).read().splitlines()
print(f"GPU: {env[0] if env else '?'}\n")
print("| run | ours images/s | PyTorch images/s | ours / PyTorch |")
print("|---|---|---|---|")
for name in ("vanilla_256_b1_f32", "vanilla_128_b8_f32", "vanilla_256_b1_bf16", "vanilla_128_b8_bf16",
             "long2_256_b1_f32"):
    path = os.path.join(out, f"{name}.log")
    text = open(path).read() if os.path.exists(path) else ""
    ours = [f"{p or 'fp32'} {v}" for p, v in
            re.findall(r"JAX jit(?:, (\w+))?:\s+([\d.]+) images/s", text)]
    ref = [f"{'bf16' if p else 'fp32'} {v}" for p, v in
           re.findall(r"torch eager(, autocast)?[^:]*:\s+([\d.]+) images/s", text)]
    ratio = re.findall(r"ours / reference, (\w+) \(images/s\): JAX jit(?:, \w+)? ([\d.]+x)", text)
    cells = (", ".join(ours) or "not run", ", ".join(ref) or "-",
             ", ".join(f"{p} {r}" for p, r in ratio) or "-")
    print(f"| {name} | " + " | ".join(cells) + " |")
path = os.path.join(out, "swapgan_run", "metrics.jsonl")
rates = [json.loads(l)["images_per_second"] for l in open(path)][1:] if os.path.exists(path) else []
note = open(os.path.join(out, "swapgan_128_b8.log")).read().strip().splitlines()[-1:] if \
    os.path.exists(os.path.join(out, "swapgan_128_b8.log")) else ["not run"]
cell = (f"{sorted(rates)[len(rates) // 2]:.2f} (TF, median of logged intervals)" if rates
        else note[0].lstrip("= "))
print(f"| swapgan_full_128_b8 | {cell} | - (no PyTorch SwapGAN) | - |")
PY
