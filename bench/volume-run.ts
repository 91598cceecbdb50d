/**
 * One volume-denoising run in its own process, so its peak RSS (threads included) is its own:
 * `node --import tsx bench/volume-run.ts <series folder> <model folder> <workers>` → one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runDenoiseJob } from '../src-main/jobs/denoise-job.js';

const [input, model, workers] = process.argv.slice(2);
const out = mkdtempSync(path.join(os.tmpdir(), 'ds-bench-out-'));
try {
  const started = performance.now();
  const result = await runDenoiseJob({ input: input!, outDir: path.join(out, 'den'), method: { kind: 'model', folder: model! }, workers: Number(workers) });
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ slices: result.series[0]!.slices, seconds, backend: result.backend, peakRssMB: process.resourceUsage().maxRSS / 1024 }));
} finally {
  rmSync(out, { recursive: true, force: true });
}
