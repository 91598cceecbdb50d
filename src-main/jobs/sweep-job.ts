/**
 * Systematic exploration: a base training config and either a grid of dotted paths → values or
 * a seeded random search over a space (choices, ranges, log ranges). Every point is validated
 * before anything trains; runs share the machine (two at a time on CPU cores, one queue on a
 * GPU); a budget caps the runs and the minutes; successive halving stops runs that are clearly
 * losing at its rungs. The results table (JSON and CSV) ranks runs by the objective.
 * Re-running the same spec into the same folder resumes: a run whose model folder exists is done.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { gpuBackendPossible, type BackendName } from '../model/backend.js';
import { configHash, type TrainProgress } from '../model/train.js';
import { parseTrainConfig } from '../model/train-config.js';
import { Rng } from '../noise/rng.js';
import type { DatasetSeries, SweepResult, TrainResult as TrainSummary } from '../api/contract.js';
import { runTrainJob, type RunTracker } from './train-job.js';
import type { DatasetSource } from './training-data.js';

const DottedPath = z.string().regex(/^[A-Za-z0-9_.]+$/, 'keys are dotted paths like optimizer.learningRate');
const Range = z.object({ min: z.number(), max: z.number(), log: z.boolean().default(false), integer: z.boolean().default(false) })
  .refine((r) => r.max > r.min, 'max must be above min').refine((r) => !r.log || r.min > 0, 'a log range needs min > 0');

export const SweepSpec = z.object({
  /** The dataset: catalogued series and/or folders (the service resolves both to series) */
  series: z.array(z.string().regex(/^[0-9.]{1,64}$/, 'must be a DICOM UID')).optional(),
  data: z.array(z.string().min(1)).optional(),
  base: z.record(z.string(), z.unknown()).default({}),
  grid: z.record(DottedPath, z.array(z.unknown()).min(1)).optional(),
  random: z.object({
    runs: z.number().int().min(1).max(1000),
    seed: z.number().int().min(0).default(1),
    space: z.record(DottedPath, z.union([z.array(z.unknown()).min(1), Range])),
  }).optional(),
  budget: z.object({ maxRuns: z.number().int().min(1).optional(), maxMinutes: z.number().positive().optional() }).default({}),
  objective: z.enum(['valPsnr', 'valSsim', 'valLoss']).default('valPsnr'),
  /**
   * Successive halving: at epochs minEpochs, minEpochs·eta, minEpochs·eta², … a run continues
   * only if it is in the best 1/eta of the runs that reached that epoch so far.
   */
  halving: z.object({ minEpochs: z.number().int().min(1).default(2), eta: z.number().int().min(2).max(8).default(3) }).optional(),
  /** Runs at once (default: 2 on CPU, 1 where a GPU backend may load: one queue on the GPU). */
  parallel: z.number().int().min(1).max(16).optional(),
}).refine((s) => Boolean(s.grid) !== Boolean(s.random), { message: 'give either "grid" or "random"', path: ['grid'] });
export type SweepSpec = z.input<typeof SweepSpec>;
type ParsedSpec = z.output<typeof SweepSpec>;

export type SweepRun = SweepResult['runs'][number];
/** The spec, as given, beside the runs: what "resume" reads back. */
export const SWEEP_SPEC_FILE = 'spec.json';
export interface SweepPoint { run: string; params: Record<string, unknown>; config: Record<string, unknown> }

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

function parseSpec(spec: SweepSpec): ParsedSpec {
  const result = SweepSpec.safeParse(spec);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`sweep spec: field '${issue.path.join('.') || '(root)'}': ${issue.message}`);
  }
  return result.data;
}

/** The parameter sets: every grid combination, or `runs` seeded draws from the space. */
function parameterSets(parsed: ParsedSpec): Record<string, unknown>[] {
  if (parsed.grid) {
    let combos: Record<string, unknown>[] = [{}];
    for (const [key, values] of Object.entries(parsed.grid)) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
    return combos;
  }
  const { runs, seed, space } = parsed.random!;
  const rng = new Rng(seed);
  return Array.from({ length: runs }, () => Object.fromEntries(Object.entries(space).map(([key, dim]) => {
    if (Array.isArray(dim)) return [key, dim[rng.int(dim.length)]];
    let v = dim.log ? Math.exp(rng.uniform(Math.log(dim.min), Math.log(dim.max))) : rng.uniform(dim.min, dim.max);
    v = dim.integer ? Math.round(v) : Number(v.toPrecision(4));
    return [key, v];
  })));
}

/** Every point of the sweep, validated (the first bad one is named), before anything trains. */
export function expandSweep(spec: SweepSpec): SweepPoint[] {
  const parsed = parseSpec(spec);
  const sets = parameterSets(parsed).slice(0, parsed.budget.maxRuns ?? Infinity);
  return sets.map((params, i) => {
    // Values apply on top of the base with its defaults filled in, so 'architecture.width'
    // works even when the base names no architecture.
    const config = structuredClone(parseTrainConfig(parsed.base, 'sweep base')) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(params)) setPath(config, k, v);
    const run = `run-${String(i + 1).padStart(2, '0')}`;
    config.name = `${String(config.name ?? 'sweep')}-${run}`;
    parseTrainConfig(config, `sweep ${run} (${JSON.stringify(params)})`);
    return { run, params, config };
  });
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Higher is better, for ranking; undefined when the run has no value for it. */
function objectiveScore(objective: ParsedSpec['objective'], m: { valPsnr: number | null; valSsim: number | null; valLoss: number | null }): number | undefined {
  const v = objective === 'valPsnr' ? m.valPsnr : objective === 'valSsim' ? m.valSsim : m.valLoss;
  return v === null || v === undefined ? undefined : objective === 'valLoss' ? -v : v;
}

/**
 * A finished run of an earlier, interrupted sweep: its model folder exists (written atomically
 * at the end of a run) and its card holds the same config. A different config is an error.
 */
async function finishedRun(dir: string, point: SweepPoint): Promise<TrainSummary | undefined> {
  const cardFile = path.join(dir, 'model-card.json');
  if (!existsSync(cardFile)) return undefined;
  const card = JSON.parse(await readFile(cardFile, 'utf8')) as {
    training?: { config?: Record<string, unknown>; history?: { epoch: number; valLoss: number | null; valPsnr: number | null; valSsim: number | null }[]; seconds?: number; parameters?: number };
    metrics?: { validation?: { epoch: number; loss: number | null; psnr: number | null; ssim: number | null } };
    data?: { slices?: number }; backend?: string;
  };
  const wanted = configHash(parseTrainConfig(point.config));
  if (!card.training?.config || configHash(parseTrainConfig(card.training.config)) !== wanted) {
    throw new Error(`sweep: ${dir} holds a run of a different spec; resume with the same spec, or choose another --out`);
  }
  const history = card.training.history ?? [];
  const v = card.metrics?.validation;
  const losses = history.map((h) => h.valLoss).filter((x): x is number => x !== null);
  return {
    outDir: dir, stoppedBy: 'completed', epochs: history.length, savedEpoch: v?.epoch ?? null,
    savedValLoss: v?.loss ?? null, savedValPsnr: v?.psnr ?? null, savedValSsim: v?.ssim ?? null,
    bestValLoss: losses.length ? Math.min(...losses) : null, seconds: card.training.seconds ?? 0, parameters: card.training.parameters ?? 0,
    backend: card.backend ?? '', series: [] as DatasetSeries[], slices: card.data?.slices ?? 0, skipped: [], unreadable: 0,
  };
}

/** Asynchronous successive halving: who is still worth training at each rung epoch. */
export class Halving {
  private readonly rungs = new Map<number, number[]>();
  constructor(private readonly minEpochs: number, private readonly eta: number) {}

  /** Records a run's score at `epoch`; false when it falls outside the best 1/eta seen at this rung. */
  keep(epoch: number, score: number | undefined): boolean {
    let rung = this.minEpochs;
    while (rung < epoch) rung *= this.eta;
    if (rung !== epoch || score === undefined) return true;
    const seen = this.rungs.get(rung) ?? [];
    seen.push(score);
    this.rungs.set(rung, seen);
    if (seen.length < this.eta) return true; // too few runs to judge
    const sorted = [...seen].sort((a, b) => b - a);
    const cutoff = sorted[Math.max(0, Math.ceil(seen.length / this.eta) - 1)]!;
    return score >= cutoff;
  }
}

/** Trains every point on exactly the given series; ranks by what each saved model scores. */
export async function runSweep(spec: SweepSpec, options: {
  outDir: string; sources: DatasetSource[]; backend?: BackendName; signal?: AbortSignal; tracker?: RunTracker;
  onProgress?: (run: string, event: TrainProgress | { type: 'finished'; summary?: TrainSummary; error?: string }) => void;
}): Promise<SweepResult> {
  const parsed = parseSpec(spec);
  if (!options.sources.length) throw new Error('sweep: no training series');
  const points = expandSweep(spec);
  const outDir = path.resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, SWEEP_SPEC_FILE), JSON.stringify(spec, null, 2) + '\n');
  const parallel = parsed.parallel ?? (gpuBackendPossible(options.backend) ? 1 : 2);
  const deadline = parsed.budget.maxMinutes ? performance.now() + parsed.budget.maxMinutes * 60_000 : Infinity;
  const halving = parsed.halving && new Halving(parsed.halving.minEpochs, parsed.halving.eta);
  const results: SweepRun[] = points.map((p) => ({ run: p.run, params: p.params }));
  // Resume: runs already finished in this folder are read back, not trained again.
  const done = await Promise.all(points.map((p) => finishedRun(path.join(outDir, p.run), p)));
  done.forEach((summary, i) => { if (summary) results[i]!.summary = summary; });
  const todo = points.map((_, i) => i).filter((i) => !done[i]);
  if (todo.length < points.length) options.onProgress?.('sweep', { type: 'message', text: `resuming: ${points.length - todo.length} of ${points.length} runs already finished` });
  let next = 0;
  const worker = async () => {
    while (next < todo.length && !options.signal?.aborted) {
      if (performance.now() > deadline) {
        for (const i of todo.slice(next)) results[i]!.error = `not started: the sweep's ${parsed.budget.maxMinutes}-minute budget was spent`;
        next = todo.length;
        break;
      }
      const i = todo[next++]!;
      const p = points[i]!;
      // Each run can be stopped alone (halving) or with the sweep (cancel).
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let halvedAt: number | undefined;
      try {
        const summary = await runTrainJob({ sources: options.sources, config: p.config, outDir: path.join(outDir, p.run), backend: options.backend,
          // Runs in parallel already fill the cores: no data-parallel helpers on top.
          helpers: parallel > 1 ? 0 : undefined, command: `denoise-studio sweep (run ${p.run} of ${outDir})` },
        {
          signal: stop.signal, tracker: options.tracker, sweep: { dir: outDir, run: p.run },
          onProgress: (e) => {
            if (e.type === 'epoch' && halving && !stop.signal.aborted
              && !halving.keep(e.record.epoch, objectiveScore(parsed.objective, e.record))) {
              halvedAt = e.record.epoch;
              stop.abort();
            }
            options.onProgress?.(p.run, e);
          },
        });
        if (halvedAt !== undefined) results[i]!.error = `stopped by successive halving at epoch ${halvedAt}: not in the best 1/${parsed.halving!.eta} there`;
        else results[i]!.summary = summary;
      } catch (error) {
        results[i]!.error = (error as Error).message;
      } finally {
        options.signal?.removeEventListener('abort', onAbort);
      }
      options.onProgress?.(p.run, { type: 'finished', summary: results[i]!.summary, error: results[i]!.error });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, Math.max(1, todo.length)) }, worker));
  const score = (r: SweepRun) => (r.summary && objectiveScore(parsed.objective, { valPsnr: r.summary.savedValPsnr, valSsim: r.summary.savedValSsim, valLoss: r.summary.savedValLoss })) ?? -Infinity;
  const ranking = results.filter((r) => r.summary && r.summary.stoppedBy !== 'cancelled').sort((a, b) => score(b) - score(a)).map((r) => r.run);
  const keys = [...new Set(points.flatMap((p) => Object.keys(p.params)))];
  const header = ['run', ...keys, 'saved_epoch', 'val_psnr', 'val_ssim', 'val_loss', 'epochs', 'stopped_by', 'seconds', 'parameters', 'error'];
  const rows = results.map((r) => [r.run, ...keys.map((k) => r.params[k]), r.summary?.savedEpoch, r.summary?.savedValPsnr, r.summary?.savedValSsim,
    r.summary?.savedValLoss, r.summary?.epochs, r.summary?.stoppedBy, r.summary?.seconds, r.summary?.parameters, r.error]);
  await writeFile(path.join(outDir, 'results.csv'), [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n');
  const result: SweepResult = { outDir, runs: results, ranking, objective: parsed.objective };
  await writeFile(path.join(outDir, 'results.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
