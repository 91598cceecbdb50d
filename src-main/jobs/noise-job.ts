/** Simulated noisy copies of real series (seeded), for evaluation and for researchers' test sets. */
import { addNoise, NoiseSpec } from '../noise/models.js';
import { Rng } from '../noise/rng.js';
import { keepOutside, outsideImage } from '../dicom/physical.js';
import { processSeriesFolder, type ProcessedFolder, type SeriesProgress } from './process-series.js';

export async function runNoiseJob(options: { input: string; outDir: string; noise: unknown; seed?: number;
  onProgress?: (p: SeriesProgress) => void; signal?: AbortSignal }): Promise<ProcessedFolder & { seconds: number }> {
  const parsed = NoiseSpec.safeParse(options.noise);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`noise: field '${issue.path.join('.') || 'kind'}': ${issue.message}`);
  }
  const spec = parsed.data;
  const seed = options.seed ?? 1;
  const started = performance.now();
  const result = await processSeriesFolder({
    input: options.input, outDir: options.outDir, inFlight: 1, onProgress: options.onProgress, signal: options.signal,
    derivationDescription: `Simulated noise: ${JSON.stringify(spec)}, seed ${seed}`, seriesDescriptionSuffix: ' [noisy]',
  }, async (slice) => {
    // Seeded per slice, so any one slice can be regenerated on its own.
    const out = addNoise(slice.values, slice.width, slice.height, spec, new Rng(seed * 100_003 + slice.index)).noisy;
    return keepOutside(out, slice.values, outsideImage(slice, slice.header.modality));
  });
  return { ...result, seconds: (performance.now() - started) / 1000 };
}
