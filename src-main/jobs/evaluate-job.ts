/**
 * Image quality of a series against a reference series, slice by slice: PSNR (with the data range
 * stated), SSIM, MSE, MAE of the input and, when a method is given, of the denoised input.
 */
import type { BackendName } from '../model/backend.js';
import { applyStrength } from '../model/denoiser.js';
import { mae, mse, psnr, ssim } from '../model/metrics.js';
import type { AssembledSeries } from '../dicom/series.js';
import type { EvaluateResult, Quality } from '../api/contract.js';

export type { EvaluateResult, Quality } from '../api/contract.js';
import { startSlicePool } from './workers/slice-pools.js';
import type { MethodSpec } from './methods.js';
import { findSeries, readSeriesSlices, seriesLabel } from './series-source.js';
import { seriesContext } from './series-context.js';


function pairSeries(reference: AssembledSeries[], input: AssembledSeries[]): [AssembledSeries, AssembledSeries][] {
  const key = (s: AssembledSeries) => `${s.rows}x${s.columns}x${s.slices.length}`;
  const pool = [...input];
  const pairs: [AssembledSeries, AssembledSeries][] = [];
  for (const r of reference) {
    // Prefer the input series derived from this one (same study), else the same geometry.
    const i = pool.findIndex((s) => key(s) === key(r) && s.studyInstanceUid === r.studyInstanceUid);
    const j = i >= 0 ? i : pool.findIndex((s) => key(s) === key(r));
    if (j >= 0) pairs.push([r, pool.splice(j, 1)[0]!]);
  }
  if (pairs.length === 0) {
    throw new Error(`no input series matches a reference series in size and slice count (reference: ${reference.map(seriesLabel).join('; ')}; input: ${input.map(seriesLabel).join('; ')})`);
  }
  return pairs;
}

function mean(values: Quality[]): Quality {
  const n = values.length;
  const finite = (k: keyof Quality) => values.map((v) => v[k]).filter(Number.isFinite);
  const avg = (k: keyof Quality) => { const f = finite(k); return f.length ? f.reduce((a, b) => a + b, 0) / f.length : Infinity; };
  return n ? { psnr: avg('psnr'), ssim: avg('ssim'), mse: avg('mse'), mae: avg('mae') } : { psnr: NaN, ssim: NaN, mse: NaN, mae: NaN };
}

function quality(ref: Float32Array, test: Float32Array, w: number, h: number, range: number): Quality {
  return { psnr: psnr(ref, test, range), ssim: ssim(ref, test, w, h, { dataRange: range }), mse: mse(ref, test), mae: mae(ref, test) };
}

export async function runEvaluateJob(options: {
  reference: string; input: string; seriesUids?: string[]; method?: MethodSpec; strength?: number; dataRange?: number;
  workers?: number; backend?: BackendName; onProgress?: (done: number, total: number) => void;
}): Promise<EvaluateResult> {
  const [ref, inp] = await Promise.all([findSeries(options.reference), findSeries(options.input)]);
  const chosen = options.seriesUids ? inp.series.filter((s) => options.seriesUids!.includes(s.seriesInstanceUid)) : inp.series;
  if (chosen.length === 0) throw new Error(`series: none of ${options.seriesUids!.join(', ')} is in ${options.input}`);
  const pairs = pairSeries(ref.series, chosen);
  const pool = options.method ? await startSlicePool(options.method, { workers: options.workers, backend: options.backend }) : undefined;
  const total = pairs.reduce((a, [r]) => a + r.slices.length, 0);
  let done = 0;
  try {
    const out: EvaluateResult['pairs'] = [];
    for (const [r, i] of pairs) {
      let range = options.dataRange;
      if (range === undefined) {
        let lo = Infinity, hi = -Infinity;
        for await (const s of readSeriesSlices(r)) for (const v of s.values) { if (v < lo) lo = v; if (v > hi) hi = v; }
        range = hi > lo ? hi - lo : 1;
      }
      const inputQ: Quality[] = [], denoisedQ: Quality[] = [];
      // What a denoise run of this series would tell the model: the scores are of what it writes.
      const context = options.method ? await seriesContext(options.method, i, inp.series) : {};
      const inputs = readSeriesSlices(i);
      for await (const rs of readSeriesSlices(r)) {
        const is = (await inputs.next()).value!;
        if (is.width !== rs.width || is.height !== rs.height) throw new Error(`slice ${rs.index + 1}: sizes differ`);
        inputQ.push(quality(rs.values, is.values, rs.width, rs.height, range));
        if (pool) {
          const den = applyStrength(is.values, (await pool.denoise({ values: is.values, width: is.width, height: is.height, mask: is.padding, volumeParams: context.volumeParams, noiseSigma: context.repeatNoise?.sigma })).values, options.strength ?? 1);
          denoisedQ.push(quality(rs.values, den, rs.width, rs.height, range));
        }
        options.onProgress?.(++done, total);
      }
      out.push({
        reference: seriesLabel(r), input: seriesLabel(i), slices: r.slices.length, dataRange: range,
        inputQuality: mean(inputQ), denoisedQuality: pool ? mean(denoisedQ) : undefined,
      });
    }
    return {
      dataRange: options.dataRange ?? 'per-series reference range', pairs: out,
      backend: pool?.backend, method: pool?.name,
    };
  } finally {
    await pool?.close();
  }
}
