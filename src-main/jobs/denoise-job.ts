/**
 * Denoise every series of a folder into derived DICOM series: a worker pool runs the model or
 * filter (one backend per worker), the strength blends input and output, and values go back to
 * the source's stored type with clipped pixels counted.
 */
import type { BackendName } from '../model/backend.js';
import { applyStrength } from '../model/denoiser.js';
import { defaultWorkerCount, type SlicePool } from './workers/denoise-pool.js';
import { startSlicePool } from './workers/slice-pools.js';
import { methodForSeries, methodLabel, type MethodSpec } from './methods.js';
import { processSeriesFolder, type ProcessedFolder, type SeriesProgress } from './process-series.js';
import type { AssembledSeries } from '../dicom/series.js';
import { seriesContext, type SeriesContext } from './series-context.js';

export interface DenoiseJobOptions {
  input: string;
  outDir: string;
  /** A model folder or classical filter; 'default' or absent = the shipped default for each series' modality. */
  method?: MethodSpec | 'default';
  strength?: number;
  workers?: number;
  backend?: BackendName;
  seriesUids?: string[];
  /** The Series Number of each derived series (default: the source's + 1000) */
  seriesNumber?: (series: AssembledSeries) => number;
  onProgress?: (p: SeriesProgress) => void;
  signal?: AbortSignal;
}

export interface DenoiseJobResult extends ProcessedFolder {
  backend: string;
  model: string;
  seconds: number;
}

/**
 * What a risk-weighted model kept of its removal over a series, for its Derivation Description:
 * a reader of the derived series (and the study browser) sees that the model judged part of its
 * change to be anatomy rather than noise, and left it out.
 */
export function keptRemark(shares: number[]): string {
  if (shares.length === 0) return '';
  const pct = (v: number) => Math.round(100 * v);
  const mean = shares.reduce((a, v) => a + v, 0) / shares.length;
  const [lo, hi] = [Math.min(...shares), Math.max(...shares)];
  // ASCII only: the derived series keeps its source's character set, which may be the default one.
  return `, ${pct(mean)} % of its removal kept by its risk estimate${pct(lo) === pct(hi) ? '' : ` (slices ${pct(lo)} to ${pct(hi)} %)`}`;
}

export async function runDenoiseJob(options: DenoiseJobOptions): Promise<DenoiseJobResult> {
  const strength = options.strength ?? 1;
  if (!(strength >= 0 && strength <= 1)) throw new Error(`--strength must be between 0 and 1 (got ${options.strength})`);
  const started = performance.now();
  const pools = new Map<string, SlicePool>();
  let context: SeriesContext = {};
  // Risk-weighted models: the share of the removal kept on each slice of the current series.
  let kept: number[] = [];
  let current: { pool: SlicePool; method: MethodSpec } | undefined;
  const poolFor = async (method: MethodSpec) => {
    const key = JSON.stringify(method);
    let pool = pools.get(key);
    if (!pool) {
      pool = await startSlicePool(method, { workers: options.workers, backend: options.backend });
      pools.set(key, pool);
    }
    return pool;
  };
  try {
    const result = await processSeriesFolder({
      input: options.input, outDir: options.outDir, inFlight: Math.max(8, 2 * (options.workers ?? defaultWorkerCount())), // keeps every worker (and a GPU worker's two batches) busy
      derivationDescription: '',
      // Every run is its own series, told apart by what made it: method, strength and time.
      seriesDescriptionSuffix: () => ` [${current!.pool.name}, strength ${strength.toFixed(2)}, ${new Date().toTimeString().slice(0, 5)}]`,
      seriesNumber: options.seriesNumber,
      onProgress: options.onProgress, signal: options.signal, seriesUids: options.seriesUids,
      describe: () => {
        const m = current!.method;
        return `Denoised by ${current!.pool.name} (${m.kind === 'model' ? 'learned model' : 'classical filter'}), strength ${strength.toFixed(2)}`
          + (context.repeatNoise ? `, noise sigma ${context.repeatNoise.sigma.toPrecision(3)} measured against ${context.repeatNoise.against}` : '')
          + keptRemark(kept);
      },
    }, async (slice) => {
      const output = await current!.pool.denoise({ values: slice.values, width: slice.width, height: slice.height, mask: slice.padding, volumeParams: context.volumeParams, noiseSigma: context.repeatNoise?.sigma });
      if (output.keptShare !== undefined) kept.push(output.keptShare);
      return applyStrength(slice.values, output.values, strength);
    }, async (series, all) => {
      const method = methodForSeries(options.method, series.modality);
      current = { pool: await poolFor(method), method };
      context = await seriesContext(method, series, all);
      kept = [];
    });
    const first = pools.values().next().value;
    return {
      ...result, backend: first?.backend ?? 'none',
      model: options.method && options.method !== 'default' ? methodLabel(options.method) : [...pools.keys()].map((k) => methodLabel(JSON.parse(k) as MethodSpec)).join(', '),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
  }
}
