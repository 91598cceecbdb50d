/**
 * Systematic exploration: a base training config and a grid of dotted paths → values. Every
 * combination is validated first, then trained in worker threads (`parallel` at a time, one
 * core each on the CPU backends), and the results table is written as JSON and CSV.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { BackendName } from '../model/backend.js';
import { parseTrainConfig } from '../model/train-config.js';
import type { TrainProgress } from '../model/train.js';
import type { SweepResult, TrainResult as TrainSummary } from '../api/contract.js';
import { runTrainJob } from './train-job.js';
import type { DatasetSource } from './training-data.js';

export const SweepSpec = z.object({
  /** The dataset: catalogued series and/or folders (the service resolves both to series) */
  series: z.array(z.string().regex(/^[0-9.]{1,64}$/, 'must be a DICOM UID')).optional(),
  data: z.array(z.string().min(1)).optional(),
  base: z.record(z.string(), z.unknown()).default({}),
  grid: z.record(z.string().regex(/^[A-Za-z0-9_.]+$/, 'grid keys are dotted paths like optimizer.learningRate'), z.array(z.unknown()).min(1)),
  parallel: z.number().int().min(1).max(16).default(2),
});
export type SweepSpec = z.input<typeof SweepSpec>;

export type SweepRun = SweepResult['runs'][number];

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

export function expandGrid(spec: SweepSpec): { run: string; params: Record<string, unknown>; config: Record<string, unknown> }[] {
  const parsed = SweepSpec.parse(spec);
  const keys = Object.keys(parsed.grid);
  let combos: Record<string, unknown>[] = [{}];
  for (const key of keys) combos = combos.flatMap((c) => parsed.grid[key]!.map((v) => ({ ...c, [key]: v })));
  return combos.map((params, i) => {
    // Grid values apply on top of the base with its defaults filled in, so 'architecture.width'
    // works even when the base names no architecture.
    const config = structuredClone(parseTrainConfig(parsed.base, 'sweep base')) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(params)) setPath(config, k, v);
    const run = `run-${String(i + 1).padStart(2, '0')}`;
    config.name = `${String(config.name ?? 'sweep')}-${run}`;
    try {
      parseTrainConfig(config, `sweep ${run} (${JSON.stringify(params)})`);
    } catch (error) {
      throw new Error((error as Error).message);
    }
    return { run, params, config };
  });
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Trains every grid point on exactly the given series; ranking by the saved weights' metrics. */
export async function runSweep(spec: SweepSpec, options: {
  outDir: string; sources: DatasetSource[]; backend?: BackendName; signal?: AbortSignal;
  onProgress?: (run: string, event: TrainProgress | { type: 'finished'; summary?: TrainSummary; error?: string }) => void;
}): Promise<SweepResult> {
  const parsed = SweepSpec.parse(spec);
  if (!options.sources.length) throw new Error('sweep: no training series');
  const runs = expandGrid(spec);
  const outDir = path.resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  const results: SweepRun[] = runs.map((r) => ({ run: r.run, params: r.params }));
  let next = 0;
  const worker = async () => {
    while (next < runs.length && !options.signal?.aborted) {
      const i = next++;
      const r = runs[i]!;
      try {
        results[i]!.summary = await runTrainJob({ sources: options.sources, config: r.config, outDir: path.join(outDir, r.run), backend: options.backend,
          // Runs in parallel already fill the cores: no data-parallel helpers on top.
          helpers: parsed.parallel > 1 ? 0 : undefined, command: `denoise-studio sweep (run ${r.run} of ${outDir})` },
          { onProgress: (e) => options.onProgress?.(r.run, e), signal: options.signal });
      } catch (error) {
        results[i]!.error = (error as Error).message;
      }
      options.onProgress?.(r.run, { type: 'finished', summary: results[i]!.summary, error: results[i]!.error });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parsed.parallel, runs.length) }, worker));
  // Ranked by what each saved model actually scores (its restored best epoch, else its last).
  const score = (r: SweepRun) => r.summary?.savedValPsnr ?? (r.summary?.savedValLoss != null ? -r.summary.savedValLoss : -Infinity);
  const ranking = results.filter((r) => r.summary).sort((a, b) => score(b) - score(a)).map((r) => r.run);
  const keys = Object.keys(parsed.grid);
  const header = ['run', ...keys, 'saved_epoch', 'val_psnr', 'val_ssim', 'val_loss', 'epochs', 'stopped_by', 'seconds', 'parameters', 'error'];
  const rows = results.map((r) => [r.run, ...keys.map((k) => r.params[k]), r.summary?.savedEpoch, r.summary?.savedValPsnr, r.summary?.savedValSsim,
    r.summary?.savedValLoss, r.summary?.epochs, r.summary?.stoppedBy, r.summary?.seconds, r.summary?.parameters, r.error]);
  await writeFile(path.join(outDir, 'results.csv'), [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n');
  const result: SweepResult = { outDir, runs: results, ranking };
  await writeFile(path.join(outDir, 'results.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
