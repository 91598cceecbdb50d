#!/usr/bin/env bash
# On the GPU machine, from the project root (device tool: carry [".gpu"]):
#   bash bench/gpu/run.sh | tee $OUT/gpu-bench.log
# Puts the bundled denoising worker beside the bundled bench (the job starts it from there), then
# runs the bench, which calls .gpu/torch_reference.py with CUDA itself for the ratios.
set -u
W=/tmp/gpu-run; mkdir -p "$W"
unxz_to() { if command -v xz >/dev/null; then xz -dc "$1" > "$2"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2"; fi; }
unxz_to .gpu/workers/denoise-worker.js.xz "$W/denoise-worker.js"
echo '{"type":"module"}' > "$W/package.json"
bash .gpu/on-device.sh "$@"
