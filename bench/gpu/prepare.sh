#!/usr/bin/env bash
# Here, before a GPU session: bundles bench/gpu.bench.ts (with ../shared/gpu/prepare-carry.sh) and
# the denoising worker it starts for the volume run, into .gpu/ (git-ignored, carried to the device).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash ../shared/gpu/prepare-carry.sh bench/gpu.bench.ts
mkdir -p .gpu/workers
npx --no-install esbuild src-main/jobs/workers/denoise-worker.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --outfile=.gpu/workers/denoise-worker.js --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
xz -T2 -9 -f .gpu/workers/denoise-worker.js
du -sh .gpu | awk '{print "carry .gpu: " $1}'
