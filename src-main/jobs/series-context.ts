/**
 * What a model needs to know about a whole series before it denoises its slices — one place for
 * the denoise and evaluate jobs, so that an evaluation scores exactly what a denoise run writes:
 * - the volume statistics, when the card normalises per volume;
 * - the series' noise measured against its own repeat, where it has one: another stack of the same
 *   series with the same geometry whose acquisition differs only in time (fMRI time points,
 *   repeated b = 0 volumes). The model is then given that σ instead of reading it from each
 *   slice, where fine anatomy passes for noise (see preprocess/repeat-noise.ts).
 */
import { acquisitionTime, repeatKey, repeatKind } from '../dicom/header.js';
import { physicalFrame } from '../dicom/physical.js';
import { readDicomImage } from '../dicom/read.js';
import type { AssembledSeries } from '../dicom/series.js';
import { repeatNoiseSigma, type RepeatPair } from '../preprocess/repeat-noise.js';
import { readModelCard } from '../model/model-io.js';
import { fitNormalisation, normalisationScope, valueStats, volumeSample, type NormalisationParams } from '../preprocess/normalise.js';
import { invalidMask } from '../preprocess/impute.js';
import type { MethodSpec } from './methods.js';
import { readSeriesSlices } from './series-source.js';

export interface SeriesContext {
  volumeParams?: NormalisationParams;
  repeatNoise?: RepeatNoise;
}

/** The context of `series` (one of `all`, the series found with it) for `method`; empty for a classical filter. */
export async function seriesContext(method: MethodSpec, series: AssembledSeries, all: AssembledSeries[]): Promise<SeriesContext> {
  if (method.kind !== 'model') return {};
  const spec = (await readModelCard(method.folder)).preprocessing.normalisation;
  let volumeParams: NormalisationParams | undefined;
  if (normalisationScope(spec) === 'volume') {
    // One extra pass over the series for its statistics: slices are not kept.
    const stats: { values: Float32Array; mask: Uint8Array }[] = [];
    for await (const s of readSeriesSlices(series)) stats.push(volumeSample(s.values, invalidMask(s.values, s.padding)));
    volumeParams = fitNormalisation(spec, valueStats(stats));
  }
  // A series with repeats (time points) gives its own σ: better than any one slice's reading.
  return { volumeParams, repeatNoise: await noiseFromRepeat(series, all) };
}

export interface RepeatNoise {
  sigma: number;
  /** The repeat it was measured against, e.g. "time 2". */
  against: string;
}

/** Slice pairs read for the measurement: evenly spaced through the series, enough for a stable median. */
const MAX_PAIRS = 16;
const LOCATION_TOLERANCE_MM = 0.01;

/**
 * The stack of `all` that repeats `series` (nearest in time), if any. Stacks split by Acquisition
 * Number count as repeats in MR only (fMRI volumes, repeated averages): in CT, acquisitions at the
 * same positions in one series are contrast phases, whose difference is enhancement, not noise.
 */
export function repeatStackOf(series: AssembledSeries, all: AssembledSeries[]): AssembledSeries | undefined {
  if (acquisitionTime(series.acquisition) === undefined) return undefined;
  if (repeatKind(series.acquisition) === 'acquisition' && series.modality !== 'MR') return undefined;
  const t = acquisitionTime(series.acquisition)!;
  const candidates = all.filter((o) => o !== series
    && o.studyInstanceUid === series.studyInstanceUid && o.seriesInstanceUid === series.seriesInstanceUid
    && o.acquisition !== series.acquisition && acquisitionTime(o.acquisition) !== undefined
    && repeatKey(o.acquisition) === repeatKey(series.acquisition)
    && o.rows === series.rows && o.columns === series.columns && o.slices.length === series.slices.length
    && JSON.stringify(o.orientation) === JSON.stringify(series.orientation)
    && o.slices.every((s, i) => sameLocation(s.location, series.slices[i]!.location)));
  return candidates.sort((a, b) => Math.abs(acquisitionTime(a.acquisition)! - t) - Math.abs(acquisitionTime(b.acquisition)! - t))[0];
}

const sameLocation = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? a === b : Math.abs(a - b) <= LOCATION_TOLERANCE_MM;

/** σ of `series` against its repeat in `all`; undefined when it has none (or too little to compare). */
export async function noiseFromRepeat(series: AssembledSeries, all: AssembledSeries[]): Promise<RepeatNoise | undefined> {
  const repeat = repeatStackOf(series, all);
  if (!repeat) return undefined;
  const count = Math.min(MAX_PAIRS, series.slices.length);
  const indices = [...new Set(Array.from({ length: count }, (_, k) => Math.floor(((k + 0.5) * series.slices.length) / count)))];
  // Enhanced multi-frame objects hold every time point in one file: each file is decoded once.
  const images = new Map<string, ReturnType<typeof readDicomImage>>();
  const readSlice = async (stack: AssembledSeries, index: number) => {
    const ref = stack.slices[index]!;
    if (!images.has(ref.file)) images.set(ref.file, readDicomImage(ref.file));
    return physicalFrame(await images.get(ref.file)!, ref.frame);
  };
  const pairs: RepeatPair[] = [];
  try {
    for (const i of indices) {
      const a = await readSlice(series, i), b = await readSlice(repeat, i);
      const mask = a.padding || b.padding ? Uint8Array.from(a.values, (_, j) => (a.padding?.[j] || b.padding?.[j] ? 1 : 0)) : undefined;
      pairs.push({ first: a.values, second: b.values, mask });
    }
  } catch {
    // A slice of the repeat that cannot be decoded is the repeat's problem (its own run says so):
    // this series is denoised as any other, σ read from its slices.
    return undefined;
  }
  const sigma = repeatNoiseSigma(pairs, series.modality === 'CT' ? {} : { backgroundFraction: 0.1 });
  return sigma === undefined ? undefined : { sigma, against: repeat.acquisition ?? `stack ${repeat.stack}` };
}
