#!/usr/bin/env bash
# On a GPU machine (no Node needed): trains every candidate of a folder written here with
#   npm run train:defaults -- ct --engine torch --export <dir>/data   (+ one <dir>/<name>.json manifest per candidate,
#   and <dir>/init-<name>/ weights where a candidate starts from a model)
# all at once on the one GPU (an 8×32 DnCNN uses a sliver of it), each for MINUTES on the clock.
#   bash models/recipes/torch-candidates.sh <dir> <minutes> <out.tgz>
# <out.tgz> holds <name>/{weights.json,weights.bin,history.json} and <name>.log per candidate, rewritten
# every minute (the device tool brings back only a few files: one archive, and a cut run still
# leaves its checkpoints). Here: tar xzf it, then per candidate
#   npm run train:defaults -- ct --engine torch --import <name> --out <model dir> (+ its --set).
set -u
dir=$1; minutes=$2; archive=$3
work=$(mktemp -d)
if [ -f "$dir/data/slices.bin.xz" ] && [ ! -f "$dir/data/slices.bin" ]; then
  "${PYTHON:-python3}" -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$dir/data/slices.bin.xz" "$dir/data/slices.bin"
fi
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'
"${PYTHON:-python3}" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
pack() { tar czf "$archive.part" -C "$work" . && mv "$archive.part" "$archive"; }
pids=()
for m in "$dir"/*.json; do
  name=$(basename "$m" .json)
  init=(); [ -f "$dir/init-$name/weights.json" ] && init=(--init "$dir/init-$name")
  "${PYTHON:-python3}" "$(dirname "$0")/torch_train.py" --data "$dir/data" --manifest "$m" --out "$work/$name" --minutes "$minutes" "${init[@]}" > "$work/$name.log" 2>&1 &
  pids+=($!)
done
while kill -0 "${pids[@]}" 2>/dev/null; do sleep 60; pack; done
for p in "${pids[@]}"; do wait "$p"; done
pack
for m in "$dir"/*.json; do name=$(basename "$m" .json); echo "== $name"; tail -3 "$work/$name.log"; done
