#!/usr/bin/env bash
# GPU benchmark of our JAX train step against the official CycleGAN step in PyTorch, for a machine
# with JAX (CUDA) and PyTorch but neither TensorFlow nor Keras (this workplace's device machines:
# Python 3.12, jax 0.11 with CUDA 13, torch 2.11; nothing can be downloaded there).
#
#   bash training/gpu_bench.sh --prepare   # here, once: Keras and its two missing needs -> .whl/
#   bash training/gpu_bench.sh             # there, from the repository root, .whl carried along;
#                                          # results in $OUT (default gpu_bench_out/)
#
# Runs, most important first, each limited to $LIMIT seconds (default 150) and all together to
# $BUDGET (default 530, inside the device tool's 600 s per command; later runs are skipped, and each
# result is in $OUT as soon as its run ends): Vanilla at 256 px batch 1
# and 128 px batch 8, float32 then bfloat16 (Keras mixed_bfloat16 in JAX, torch.autocast in the
# reference), then Long M = N = 2 at 256 px batch 1. float32 convolutions may use TF32 in both
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

OUT=${OUT:-gpu_bench_out}
LIMIT=${LIMIT:-150}
BUDGET=${BUDGET:-530}
mkdir -p "$OUT"
if ! python3 -c "import keras" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || { echo "no Keras wheels in .whl/: run --prepare first"; exit 1; }
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2

{
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    python3 -c "import sys, jax, keras, torch; print(sys.version.split()[0], 'jax', jax.__version__, jax.devices(), 'keras', keras.__version__, 'torch', torch.__version__)"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

run() {  # name, benchmark flags...
    local name=$1; shift
    local left=$((BUDGET - SECONDS)) limit=$LIMIT
    if (( left < 45 )); then echo "=== $name: skipped, ${left} s left" | tee -a "$OUT/all.log"; return; fi
    (( left < limit )) && limit=$left
    echo "=== $name: $*" | tee -a "$OUT/all.log"
    timeout "$limit" python3 -m training.benchmark --backend=jax --reference=torch --steps=20 --warmup=3 "$@" \
        > "$OUT/$name.log" 2>&1
    local rc=$?
    grep -v -e "^[IWE][0-9]" -e "^WARNING" "$OUT/$name.log" | tail -n 12 | tee -a "$OUT/all.log"
    [[ $rc == 0 ]] || echo "    (exit $rc$([[ $rc == 124 ]] && echo ": over ${limit} s"))" | tee -a "$OUT/all.log"
}

run vanilla_256_b1_f32 --variant=vanilla --image_size=256 --batch_size=1 --verify_reference
run vanilla_128_b8_f32 --variant=vanilla --image_size=128 --batch_size=8
run vanilla_256_b1_bf16 --variant=vanilla --image_size=256 --batch_size=1 --precision=mixed_bfloat16
run vanilla_128_b8_bf16 --variant=vanilla --image_size=128 --batch_size=8 --precision=mixed_bfloat16
run long2_256_b1_f32 --variant=long --M=2 --N=2 --image_size=256 --batch_size=1
