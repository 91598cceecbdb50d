/**
 * Intensity normalisation: the specification (recorded in the model card) and its fitted,
 * invertible form. Values are physical (HU after rescale for CT, signal for MR).
 *
 * Every method reduces to an affine map with optional clipping, x' = (clip(x) − offset) / scale,
 * so inference can apply exactly what training used and invert it; pixels that clipping changed
 * are restored from the input afterwards (see `restoreClipped`), so a CT window never erases bone.
 */
import { z } from 'zod';

const Scope = z.enum(['slice', 'volume', 'dataset']).default('slice');

export const NormalisationSpec = z.discriminatedUnion('kind', [
  /** Clip to a display window and scale it to [0, 1]: the usual choice for CT in HU. */
  /**
   * `clip: false` keeps the linear map but not the clipping: everything from air to metal stays
   * in, while the width still sets the scale the network works at (CT noise of 25 HU is 0.05 at
   * width 500 but only 0.006 at width 4000, too small a signal for training to resolve well).
   */
  z.object({ kind: z.literal('window'), center: z.number(), width: z.number().positive(), clip: z.boolean().default(true) }),
  z.object({ kind: z.literal('minmax'), scope: Scope }),
  z.object({ kind: z.literal('zscore'), scope: Scope }),
  /** Clip to the given percentiles, then scale that range to [0, 1] (robust min–max). */
  z.object({
    kind: z.literal('percentile'), scope: Scope,
    low: z.number().min(0).max(50).default(0.5), high: z.number().min(50).max(100).default(99.5),
  }),
]);
export type NormalisationSpec = z.input<typeof NormalisationSpec>;
type ParsedSpec = z.output<typeof NormalisationSpec>;

/** The fitted map. Stored in the model card when the scope is 'dataset'. */
export interface NormalisationParams {
  offset: number;
  scale: number;
  clipLow: number;
  clipHigh: number;
}

export interface ValueStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Sorted sample used for percentiles (at most `sampleLimit` values). */
  sample: Float32Array;
}

/** Statistics over the valid pixels (mask value 0) of one or more slices. */
export function valueStats(slices: { values: Float32Array; mask?: Uint8Array }[], sampleLimit = 1 << 20): ValueStats {
  let count = 0, min = Infinity, max = -Infinity, mean = 0, m2 = 0;
  let total = 0;
  for (const s of slices) total += s.values.length;
  const stride = Math.max(1, Math.floor(total / sampleLimit));
  const sample: number[] = [];
  let seen = 0;
  for (const { values, mask } of slices) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if ((mask && mask[i]) || !Number.isFinite(v)) continue;
      count++;
      if (v < min) min = v;
      if (v > max) max = v;
      const d = v - mean; // Welford: stable for large volumes
      mean += d / count;
      m2 += d * (v - mean);
      if (seen++ % stride === 0) sample.push(v);
    }
  }
  if (count === 0) throw new Error('normalisation: no valid pixels to compute statistics from');
  const sorted = Float32Array.from(sample).sort();
  return { count, min, max, mean, std: Math.sqrt(m2 / count), sample: sorted };
}

export function percentile(sorted: Float32Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Fits the spec to statistics (ignored for 'window', which needs none). */
export function fitNormalisation(spec: NormalisationSpec, stats?: ValueStats): NormalisationParams {
  const parsed: ParsedSpec = NormalisationSpec.parse(spec);
  if (parsed.kind === 'window') {
    const low = parsed.center - parsed.width / 2;
    return parsed.clip
      ? { offset: low, scale: parsed.width, clipLow: low, clipHigh: low + parsed.width }
      : { offset: low, scale: parsed.width, clipLow: -Infinity, clipHigh: Infinity };
  }
  if (!stats) throw new Error(`normalisation '${parsed.kind}' needs pixel statistics`);
  const safe = (s: number) => (s > 1e-12 ? s : 1);
  switch (parsed.kind) {
    case 'minmax':
      return { offset: stats.min, scale: safe(stats.max - stats.min), clipLow: -Infinity, clipHigh: Infinity };
    case 'zscore':
      return { offset: stats.mean, scale: safe(stats.std), clipLow: -Infinity, clipHigh: Infinity };
    case 'percentile': {
      const lo = percentile(stats.sample, parsed.low);
      const hi = percentile(stats.sample, parsed.high);
      return { offset: lo, scale: safe(hi - lo), clipLow: lo, clipHigh: hi };
    }
  }
}

/** The scope a spec fits over ('window' is fixed and behaves as 'dataset'). */
/** Pixels per slice that volume-scope statistics look at (evenly strided). */
export const VOLUME_SAMPLE_PIXELS = 65536;

/**
 * One slice's share of volume-scope statistics: every step-th pixel (≤ 65 536 per slice) with its
 * mask. Training, inference and the Settings preview all fit a volume's normalisation from these
 * samples of every slice, so a model sees at inference exactly the map it was trained with.
 */
export function volumeSample(values: Float32Array, mask: Uint8Array): { values: Float32Array; mask: Uint8Array } {
  const step = Math.max(1, Math.floor(values.length / VOLUME_SAMPLE_PIXELS));
  if (step === 1) return { values, mask };
  return { values: values.filter((_, i) => i % step === 0), mask: mask.filter((_, i) => i % step === 0) };
}

export function normalisationScope(spec: NormalisationSpec): 'slice' | 'volume' | 'dataset' {
  const parsed = NormalisationSpec.parse(spec);
  return parsed.kind === 'window' ? 'dataset' : parsed.scope;
}

export function normalise(values: Float32Array, p: NormalisationParams, out = new Float32Array(values.length)): Float32Array {
  const inv = 1 / p.scale;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = ((v < p.clipLow ? p.clipLow : v > p.clipHigh ? p.clipHigh : v) - p.offset) * inv;
  }
  return out;
}

export function denormalise(values: Float32Array, p: NormalisationParams, out = new Float32Array(values.length)): Float32Array {
  for (let i = 0; i < values.length; i++) out[i] = values[i]! * p.scale + p.offset;
  return out;
}

/**
 * Where the input lay outside the clip range the model saw only the clip value, so its output
 * there means nothing: keep the input. Returns how many pixels were restored.
 */
export function restoreClipped(input: Float32Array, output: Float32Array, p: NormalisationParams): number {
  let restored = 0;
  if (p.clipLow === -Infinity && p.clipHigh === Infinity) return 0;
  for (let i = 0; i < input.length; i++) {
    const v = input[i]!;
    if (v < p.clipLow || v > p.clipHigh) {
      output[i] = v;
      restored++;
    }
  }
  return restored;
}
