#!/usr/bin/env bash
# On a GPU machine (no Node needed): trains every candidate of a folder written here with
#   npm run train:defaults -- ct --engine torch --export <dir>/data   (+ one <dir>/<name>.json manifest per candidate)
# all at once on the one GPU (an 8×32 DnCNN uses a sliver of it), each for MINUTES on the clock.
#   bash models/recipes/torch-candidates.sh <dir> <minutes> <out>
# <out>/<name>/ gets weights.json, weights.bin, history.json and log for each candidate; bring it
# back and build each with: npm run train:defaults -- ct --engine torch --import <out>/<name> --out <model dir> (+ its --set).
set -u
dir=$1; minutes=$2; out=$3
mkdir -p "$out"
if [ -f "$dir/data/slices.bin.xz" ] && [ ! -f "$dir/data/slices.bin" ]; then
  "${PYTHON:-python3}" -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$dir/data/slices.bin.xz" "$dir/data/slices.bin"
fi
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
"${PYTHON:-python3}" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
pids=()
for m in "$dir"/*.json; do
  name=$(basename "$m" .json)
  init=(); [ -f "$dir/init-$name/weights.json" ] && init=(--init "$dir/init-$name")
  "${PYTHON:-python3}" "$(dirname "$0")/torch_train.py" --data "$dir/data" --manifest "$m" --out "$out/$name" --minutes "$minutes" "${init[@]}" > "$out/$name.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for m in "$dir"/*.json; do name=$(basename "$m" .json); echo "== $name"; tail -4 "$out/$name.log"; done
