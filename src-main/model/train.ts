/**
 * The training loop: patches → noise → normalisation → masked loss → optimiser, with
 * schedules, validation PSNR/SSIM, early stopping, a checkpoint each epoch and resume.
 * It only emits progress events; whoever listens (CLI, worker, UI) never drives the loop.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { addNoise, type NoiseSpec } from '../noise/models.js';
import { Rng } from '../noise/rng.js';
import {
  fitNormalisation, normalisationScope, normalise, valueStats, volumeSample, type NormalisationParams,
} from '../preprocess/normalise.js';
import { imputePixels, invalidMask } from '../preprocess/impute.js';
import { cropTransformed, samplePatch, splitBySeries, type TrainingSlice } from '../preprocess/patches.js';
import { estimateNoiseSpectrum, type NoiseSpectrum } from '../preprocess/noise-spectrum.js';
import { filteredNoise } from '../shared/fft2d.js';
import { buildModel, fixPixelShuffles, isPixelShuffleWeight, kernelWeights, noiseMapOf, noiseMapScales, usesBatchNorm, withNoiseLevelInput, type Architecture } from './architectures.js';
import { noiseSigmaByScale } from '../preprocess/noise-level.js';
import { levelsFromReadings, noiseLevelMaps, noiseLevelsOf } from './noise-level-input.js';
import { psnr, ssim } from './metrics.js';
import type { EpochPreview, EpochRecord } from '../api/contract.js';
import type { ModelCardInput } from './model-card.js';
import { loadModelFolder, saveModelFolder } from './model-io.js';
import { learningRateAt, parseTrainConfig, warmupFactor, type TrainConfig, type TrainConfigInput } from './train-config.js';
import type { LoadedModel } from './model-artifacts.js';
import { cardParams } from './model-denoiser.js';

/** One series of physical values (HU for CT), slices in order along the normal. */
export interface TrainingVolume {
  seriesId: string;
  modality: string;
  slices: { values: Float32Array; width: number; height: number; padding?: Uint8Array; imputed?: boolean }[];
  source?: string;
  /** Relative sampling weight of this series' slices (default 1), e.g. to favour scarce real data. */
  weight?: number;
}

export type TrainProgress =
  | { type: 'batch'; epoch: number; epochs: number; batch: number; batches: number; loss: number; etaSeconds: number }
  | { type: 'epoch'; record: EpochRecord; epochs: number; etaSeconds: number; best: boolean; preview?: EpochPreview }
  | { type: 'message'; text: string };

export interface TrainOptions {
  onProgress?: (event: TrainProgress) => void;
  signal?: AbortSignal;
  /** Folder for per-epoch checkpoints; with `resume`, training continues from it. */
  checkpointDir?: string;
  resume?: boolean;
  backend?: string;
  /** Threads that compute part of every batch (see GradientHelper). */
  gradientHelpers?: GradientHelper[];
  /**
   * Fine-tuning: start from this model (its weights, architecture and preprocessing, including
   * its dataset normalisation) instead of a fresh network. The training run owns it from here.
   */
  init?: LoadedModel;
}

export interface TrainResult {
  model: tf.LayersModel;
  card: ModelCardInput;
  history: EpochRecord[];
  stoppedBy: 'completed' | 'early-stopping' | 'cancelled';
  config: TrainConfig;
  /** The epoch whose weights the model holds (the best one when restoreBest brought it back) */
  savedEpoch: number;
  /** Series validated on (held out of training) */
  validationSeries: string[];
  /** Fine-tuning: the starting model's score on this run's validation patches, before any step. */
  baseline?: { loss: number | null; psnr: number | null; ssim: number | null };
}

interface PreparedSlice extends TrainingSlice {
  physical: Float32Array;
  params: NormalisationParams;
  range: number;
  /** Excluded from training targets: a slice that was itself imputed. */
  imputedSlice: boolean;
  weight: number;
}

/**
 * Air, in a slice's normalised units: below −900 HU for CT, else the bottom 2 % of the slice's
 * range — fixed in physical terms, so the same patches count as empty whatever the normalisation.
 */
function airLevelOf(modality: string, params: NormalisationParams, lo: number, hi: number): number {
  const physical = modality === 'CT' ? -900 : lo + 0.02 * (hi - lo);
  return (physical - params.offset) / params.scale;
}

interface Batch {
  x: Float32Array; y: Float32Array; w: Float32Array; n: number;
  /** Noise-level models (architecture.noiseMap): each patch's readings, `n` × scales, in network units × gain. */
  levels?: Float32Array;
  /** Per patch: how normalised values map back to data units, and the slice's data range there. */
  units?: { offset: number; scale: number; range: number }[];
}

/** Normalisation fitted at the card's scope; the dataset statistics go into the card. */
export function prepare(volumes: TrainingVolume[], config: TrainConfig, fixed?: NormalisationParams) {
  const spec = config.preprocessing.normalisation;
  const scope = normalisationScope(spec);
  const masked = volumes.map((v) => v.slices.map((s) => {
    const mask = invalidMask(s.values, s.padding);
    const imputed = imputePixels(s.values, s.width, s.height, mask, config.preprocessing.imputation);
    return { ...s, values: imputed.values, mask };
  }));
  const datasetParams = scope === 'dataset'
    ? fixed ?? fitNormalisation(spec, spec.kind === 'window' ? undefined : valueStats(masked.flat()))
    : undefined;
  const slices: PreparedSlice[] = [];
  volumes.forEach((volume, vi) => {
    const volumeParams = scope === 'volume' ? fitNormalisation(spec, valueStats(masked[vi]!.map((s) => volumeSample(s.values, s.mask)))) : undefined;
    masked[vi]!.forEach((s, si) => {
      const params = datasetParams ?? volumeParams ?? fitNormalisation(spec, valueStats([s]));
      let lo = Infinity, hi = -Infinity;
      for (const v of s.values) { if (v < lo) lo = v; if (v > hi) hi = v; }
      slices.push({
        values: normalise(s.values, params), physical: s.values, width: s.width, height: s.height, mask: s.mask,
        seriesId: volume.seriesId, sliceIndex: si, params, range: hi > lo ? hi - lo : 1, imputedSlice: Boolean(s.imputed),
        airLevel: airLevelOf(volume.modality, params, lo, hi), weight: Math.max(1, Math.round(volume.weight ?? 1)),
      });
    });
  });
  return { slices, datasetParams };
}

/** Percent-of-range noise is relative to the whole slice, not to the patch. */
function absoluteNoise(spec: NoiseSpec, range: number): NoiseSpec {
  if (!('units' in spec) || spec.units !== 'percent') return spec;
  const scale = (l: typeof spec.sigma) => typeof l === 'number' ? (l / 100) * range : { ...l, min: (l.min / 100) * range, max: (l.max / 100) * range };
  return { ...spec, units: 'absolute', sigma: scale(spec.sigma) } as NoiseSpec;
}

/** Where tissue starts, for the noise measurement: −500 HU in CT; elsewhere the series' mean value. */
function tissueFloor(modality: string, slices: { values: Float32Array }[]): number {
  if (modality === 'CT') return -500;
  let sum = 0, n = 0;
  for (const s of slices) for (const v of s.values) { sum += v; n++; }
  return n ? sum / n : -Infinity;
}

/** Slices of one series used to measure its noise spectrum: evenly spaced, enough for ~hundreds of regions. */
const SPECTRUM_SLICES = 24;

class PatchFactory {
  private readonly bySeries = new Map<string, PreparedSlice[]>();
  /** Recorrupted mode: each series' measured noise spectrum. */
  private readonly spectra = new Map<string, NoiseSpectrum>();
  /** Noise-level models, self-supervised modes: each slice's own levels, read as the denoiser reads them. */
  private readonly sliceLevels = new WeakMap<PreparedSlice, Float32Array>();
  private readonly scales: number;
  constructor(private readonly config: TrainConfig, private readonly size: number) {
    this.scales = noiseMapScales(config.architecture);
  }

  /**
   * What the model's noise-level input reads for a patch, as the denoiser will compute it on a
   * whole slice (ModelDenoiser): with added noise, that noise's readings (the field alone: a
   * 64² patch's structure would bias them more than a slice's does); otherwise the slice's own
   * (self-supervised modes: the input is the noisy slice).
   */
  private levelsOf(slice: PreparedSlice, addedNoise: Float32Array | undefined, patchMask: Uint8Array, out: Float32Array): void {
    const spec = noiseMapOf(this.config.architecture)!;
    if (!addedNoise) {
      const levels = this.sliceLevels.get(slice) ?? noiseLevelsOf(slice.physical, slice.width, slice.height, slice.mask, slice.params, spec);
      this.sliceLevels.set(slice, levels);
      // Recorrupted pairs: the input holds the slice's noise plus α times as much again, drawn
      // from the same spectrum — independent, so its level is √(1 + α²) times the slice's.
      const boost = this.config.mode === 'recorrupted' ? Math.hypot(1, this.config.recorrupted.alpha) : 1;
      levels.forEach((v, j) => { out[j] = v * boost; });
      return;
    }
    out.set(levelsFromReadings(noiseSigmaByScale(addedNoise, this.size, this.size, patchMask, this.scales), slice.params, spec));
  }

  index(slices: PreparedSlice[]): void {
    for (const s of slices) {
      const list = this.bySeries.get(s.seriesId) ?? [];
      list[s.sliceIndex] = s;
      this.bySeries.set(s.seriesId, list);
    }
  }

  /** Recorrupted mode: measures every series' noise spectrum once (physical units); returns their σ. */
  measureSpectra(): Map<string, NoiseSpectrum> {
    for (const [seriesId, list] of this.bySeries) {
      const usable = list.filter((s) => s && !s.imputedSlice);
      const step = Math.max(1, Math.floor(usable.length / SPECTRUM_SLICES));
      const chosen = usable.filter((_, i) => i % step === 0).map((s) => ({ values: s.physical, width: s.width, height: s.height, mask: s.mask }));
      this.spectra.set(seriesId, estimateNoiseSpectrum(chosen, this.size, tissueFloor(this.config.modality, chosen)));
    }
    return this.spectra;
  }

  make(pool: PreparedSlice[], count: number, rng: Rng): Batch {
    const P = this.size, area = P * P;
    const batch: Batch = { x: new Float32Array(count * area), y: new Float32Array(count * area), w: new Float32Array(count * area), n: count, units: [] };
    const L = this.scales;
    if (L) batch.levels = new Float32Array(count * L);
    const usable = pool.filter((s) => !s.imputedSlice);
    const eligible = this.config.mode === 'noise2noise' ? usable.filter((s) => this.neighbour(s, rng, true)) : usable;
    const candidates = eligible.flatMap((s) => (s.weight > 1 ? Array<PreparedSlice>(s.weight).fill(s) : [s]));
    if (candidates.length === 0) {
      throw new Error(this.config.mode === 'noise2noise'
        ? 'noise2noise needs series with at least two neighbouring slices'
        : 'no usable training slices');
    }
    for (let k = 0; k < count; k++) {
      const patch = samplePatch(candidates, {
        size: P, augment: this.config.augment, maxEmptyFraction: this.config.maxEmptyFraction, airLevel: 0.02,
      }, rng);
      const slice = patch.slice as PreparedSlice;
      batch.units!.push({ offset: slice.params.offset, scale: slice.params.scale, range: slice.range });
      const crop = (src: Float32Array) => cropTransformed(src, slice.width, patch.x, patch.y, P, patch.transform, new Float32Array(area));
      const weights = batch.w.subarray(k * area, (k + 1) * area);
      const x = batch.x.subarray(k * area, (k + 1) * area), y = batch.y.subarray(k * area, (k + 1) * area);
      for (let i = 0; i < area; i++) weights[i] = patch.mask[i] ? 0 : 1;
      const physical = crop(slice.physical);
      switch (this.config.mode) {
        case 'supervised': {
          const spec = this.config.noise[rng.int(this.config.noise.length)]!;
          const { noisy } = addNoise(physical, P, P, absoluteNoise(spec, slice.range), rng);
          x.set(normalise(noisy, slice.params));
          y.set(normalise(physical, slice.params));
          if (L) this.levelsOf(slice, noisy.map((v, i) => v - physical[i]!), patch.mask, batch.levels!.subarray(k * L, (k + 1) * L));
          if (this.config.lossWeighting !== 'uniform') weighByNoisePower(weights, x, y, this.config.lossWeighting === 'noise-level' ? 1 : 0.5);
          break;
        }
        case 'noise2void': {
          const noisy = normalise(physical, slice.params);
          y.set(noisy);
          x.set(noisy);
          this.blindSpots(x, noisy, weights, P, rng);
          break;
        }
        case 'recorrupted': {
          const spectrum = this.spectra.get(slice.seriesId);
          if (!spectrum) throw new Error(`recorrupted: no noise spectrum measured for series ${slice.seriesId}`);
          const { alpha } = this.config.recorrupted;
          const n = filteredNoise(spectrum.amplitude, spectrum.size, P, P, () => rng.normal(), false);
          x.set(normalise(physical.map((v, i) => v + alpha * n[i]!), slice.params));
          y.set(normalise(physical.map((v, i) => v - n[i]! / alpha), slice.params));
          break;
        }
        case 'noise2noise': {
          const other = this.neighbour(slice, rng, false)!;
          x.set(normalise(physical, slice.params));
          y.set(normalise(crop(other.physical), slice.params));
          const otherMask = cropTransformed(other.mask, slice.width, patch.x, patch.y, P, patch.transform, new Uint8Array(area));
          for (let i = 0; i < area; i++) if (otherMask[i]) weights[i] = 0;
          break;
        }
      }
      if (L && this.config.mode !== 'supervised') this.levelsOf(slice, undefined, patch.mask, batch.levels!.subarray(k * L, (k + 1) * L));
    }
    return batch;
  }

  /** Noise2Void: hide a few pixels behind a random neighbour's value; only they count in the loss. */
  private blindSpots(x: Float32Array, noisy: Float32Array, weights: Float32Array, P: number, rng: Rng): void {
    const { maskFraction, radius, structRadius } = this.config.noise2void;
    const chosen = new Uint8Array(P * P);
    const n = Math.max(1, Math.round(maskFraction * P * P));
    for (let k = 0; k < n; k++) {
      const px = rng.int(P), py = rng.int(P);
      let dx = 0, dy = 0;
      while (dx === 0 && dy === 0) { dx = rng.int(2 * radius + 1) - radius; dy = rng.int(2 * radius + 1) - radius; }
      const sx = Math.min(P - 1, Math.max(0, px + dx)), sy = Math.min(P - 1, Math.max(0, py + dy));
      // With correlated noise a neighbour's value would leak the spot's noise: any patch value then.
      x[py * P + px] = structRadius > 0 ? noisy[rng.int(P * P)]! : noisy[sy * P + sx]!;
      chosen[py * P + px] = 1;
      // structN2V: the blind spot's neighbours carry noise correlated with its own (CT's noise is
      // correlated in every direction): hide the square around it too, behind random patch values.
      for (let qy = Math.max(0, py - structRadius); qy <= Math.min(P - 1, py + structRadius); qy++) {
        for (let qx = Math.max(0, px - structRadius); qx <= Math.min(P - 1, px + structRadius); qx++) {
          if (qx !== px || qy !== py) x[qy * P + qx] = noisy[rng.int(P * P)]!;
        }
      }
    }
    for (let i = 0; i < weights.length; i++) weights[i] = chosen[i] ? weights[i]! : 0;
  }

  private neighbour(s: PreparedSlice, rng: Rng, any: boolean): PreparedSlice | undefined {
    const list = this.bySeries.get(s.seriesId) ?? [];
    const options = [list[s.sliceIndex - 1], list[s.sliceIndex + 1]].filter(
      (n): n is PreparedSlice => Boolean(n && !n.imputedSlice && n.width === s.width && n.height === s.height));
    if (options.length === 0) return undefined;
    return any ? options[0] : options[rng.int(options.length)];
  }
}

function makeOptimizer(config: TrainConfig): tf.Optimizer {
  const { kind, learningRate, momentum } = config.optimizer;
  switch (kind) {
    case 'adam': return tf.train.adam(learningRate);
    case 'sgd': return tf.train.momentum(learningRate, momentum);
    case 'rmsprop': return tf.train.rmsprop(learningRate, 0.9, momentum > 0 ? momentum : 0);
  }
}

function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  // SGD/momentum cache −rate as a tensor and expose setLearningRate; Adam and RMSprop read the field.
  const o = optimizer as unknown as { setLearningRate?: (r: number) => void; learningRate: number };
  if (o.setLearningRate) o.setLearningRate(rate);
  else o.learningRate = rate;
}

/**
 * Scales a patch's loss weights by 1 / (the power of the noise it was given)^`exponent` — 1: by
 * its power, 0.5: by its standard deviation — measured on the patch itself in network units (so
 * any noise model works) and relative to a 1 % noise (power 1e-4) so the loss keeps its usual
 * size. Padding stays at weight 0.
 */
export function weighByNoisePower(weights: Float32Array, noisy: Float32Array, clean: Float32Array, exponent = 1): void {
  let sum = 0, n = 0;
  for (let i = 0; i < weights.length; i++) if (weights[i]) { sum += (noisy[i]! - clean[i]!) ** 2; n++; }
  if (n === 0) return;
  const scale = (1e-4 / Math.max(sum / n, 1e-10)) ** exponent;
  for (let i = 0; i < weights.length; i++) weights[i]! *= scale;
}

/** Σ w·(prediction − target)² over a batch: the masked loss before dividing by Σ w. */
function weightedSquaredError(model: tf.LayersModel, batch: { x: tf.Tensor4D | tf.Tensor4D[]; y: tf.Tensor4D; w: tf.Tensor4D }, training: boolean): tf.Scalar {
  const pred = model.apply(batch.x, { training }) as tf.Tensor;
  return tf.sum(tf.mul(batch.w, tf.square(tf.sub(pred, batch.y))));
}

/** L1/L2 penalties on convolution and dense kernels, as the architecture asks. */
function regularisation(model: tf.LayersModel, config: TrainConfig): tf.Scalar | undefined {
  const arch = config.architecture; // parsed once with the config: this runs every step
  if (arch.l1 <= 0 && arch.l2 <= 0) return undefined;
  let total: tf.Scalar = tf.scalar(0);
  for (const k of kernelWeights(model)) {
    const v = k.read();
    if (arch.l1 > 0) total = tf.add(total, tf.mul(arch.l1, tf.sum(tf.abs(v))));
    if (arch.l2 > 0) total = tf.add(total, tf.mul(arch.l2, tf.sum(tf.square(v))));
  }
  return total;
}

/** The model's input: the images, and for a noise-level model its maps beside them. */
function modelInput(b: Pick<Batch, 'x' | 'n' | 'levels'>, P: number): tf.Tensor4D | tf.Tensor4D[] {
  const x = tf.tensor4d(b.x, [b.n, P, P, 1]);
  return b.levels ? [x, noiseLevelMaps(b.levels, b.n, P, P)] : x;
}

function batchTensors(b: Batch, P: number) {
  return { x: modelInput(b, P), y: tf.tensor4d(b.y, [b.n, P, P, 1]), w: tf.tensor4d(b.w, [b.n, P, P, 1]) };
}

function sliceBatch(b: Batch, from: number, to: number, P: number): Batch {
  const area = P * P, L = b.levels ? b.levels.length / b.n : 0;
  return {
    x: b.x.subarray(from * area, to * area), y: b.y.subarray(from * area, to * area), w: b.w.subarray(from * area, to * area), n: to - from,
    ...(b.levels ? { levels: b.levels.subarray(from * L, to * L) } : {}),
  };
}

/**
 * Another thread that computes gradients for part of every batch (data parallelism on CPU
 * backends, where one tfjs backend uses one core). The thread plumbing lives in jobs/; the maths
 * is `ShardGradients` below, so both sides compute exactly the same thing.
 */
export interface GradientHelper {
  init(modelTopology: string): Promise<void>;
  compute(weights: Float32Array[], shard: Batch & { size: number }): Promise<{ grads: Float32Array[]; lossSum: number }>;
  dispose(): Promise<void>;
}

/** The helper side: a replica of the model that returns ∇ Σ w·e² for the weights it is given. */
export class ShardGradients {
  private constructor(private readonly model: tf.LayersModel) {}

  static async fromTopology(modelTopology: string): Promise<ShardGradients> {
    const model = await tf.models.modelFromJSON({ modelTopology: JSON.parse(modelTopology) as tf.io.ModelJSON['modelTopology'] }) as tf.LayersModel;
    fixPixelShuffles(model); // fixed kernels the topology does not hold; only trainable weights are sent
    return new ShardGradients(model);
  }

  compute(weights: Float32Array[], shard: Batch & { size: number }): { grads: Float32Array[]; lossSum: number } {
    const vars = this.model.trainableWeights;
    if (weights.length !== vars.length) throw new Error(`gradient helper: got ${weights.length} weight arrays for ${vars.length} variables`);
    // write() shares the new tensor's data; tidy releases our handle on it (no leak per step).
    tf.tidy(() => vars.forEach((v, i) => v.write(tf.tensor(weights[i]!, v.shape as number[]))));
    const out = tf.tidy(() => {
      const t = batchTensors(shard, shard.size);
      const { value, grads } = tf.variableGrads(() => weightedSquaredError(this.model, t, true), vars.map((v) => v.read() as tf.Variable));
      return { value, grads: vars.map((v) => grads[(v.read() as tf.Variable).name]!) };
    });
    const result = { grads: out.grads.map((g) => g.dataSync() as Float32Array), lossSum: out.value.dataSync()[0]! };
    tf.dispose([out.value, ...out.grads]);
    return result;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * One optimiser step: the local thread takes the first shard, helpers the rest, concurrently;
 * gradients are summed and divided by the batch's total mask weight, so the result equals the
 * single-thread masked loss gradient.
 */
async function trainStep(model: tf.LayersModel, vars: tf.Variable[], optimizer: tf.Optimizer, batch: Batch, P: number,
  config: TrainConfig, helpers: GradientHelper[]): Promise<number> {
  let weightSum = 0;
  for (const v of batch.w) weightSum += v;
  const W = Math.max(weightSum, 1);
  const shards = Math.min(helpers.length + 1, batch.n);
  if (shards === 1) {
    const loss = tf.tidy(() => {
      const t = batchTensors(batch, P);
      return optimizer.minimize(() => {
        const data = tf.div(weightedSquaredError(model, t, true), W) as tf.Scalar;
        const reg = regularisation(model, config);
        return reg ? tf.add(data, reg) : data;
      }, true, vars)!;
    });
    const value = (await loss.data())[0]!;
    loss.dispose();
    return value;
  }
  const bounds = Array.from({ length: shards + 1 }, (_, k) => Math.round((k * batch.n) / shards));
  const weights = vars.map((v) => v.dataSync() as Float32Array);
  const remote = helpers.slice(0, shards - 1).map((h, k) =>
    h.compute(weights.map((w) => w.slice()), { ...sliceBatch(batch, bounds[k + 1]!, bounds[k + 2]!, P), size: P }));
  const local = tf.tidy(() => {
    const t = batchTensors(sliceBatch(batch, 0, bounds[1]!, P), P);
    const { value, grads } = tf.variableGrads(() => {
      const data = tf.div(weightedSquaredError(model, t, true), W) as tf.Scalar;
      const reg = regularisation(model, config);
      return reg ? tf.add(data, reg) : data;
    }, vars);
    return { value, grads };
  });
  const results = await Promise.all(remote);
  const lossValue = (await local.value.data())[0]! + results.reduce((a, r) => a + r.lossSum, 0) / W;
  const combined = tf.tidy(() => {
    const map: Record<string, tf.Tensor> = {};
    vars.forEach((v, i) => {
      let g = local.grads[v.name]!;
      for (const r of results) g = tf.add(g, tf.div(tf.tensor(r.grads[i]!, v.shape), W));
      map[v.name] = g;
    });
    return map;
  });
  optimizer.applyGradients(combined);
  tf.dispose([local.value, ...Object.values(local.grads), ...Object.values(combined)]);
  return lossValue;
}

interface CheckpointState {
  epoch: number;
  history: EpochRecord[];
  bestLoss: number;
  /** The epoch whose weights are in the checkpoint's best/ folder (0: none yet) */
  bestEpoch: number;
  /** Hash of the parsed config: resume refuses a different one */
  configHash: string;
  wait: number;
  plateauRate: number;
  sinceImprovement: number;
  config: TrainConfig;
}

async function saveCheckpoint(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer, state: CheckpointState, card: ModelCardInput,
  improved: boolean): Promise<void> {
  await mkdir(dir, { recursive: true });
  await saveModelFolder(model, card, path.join(dir, 'model'), { overwrite: true });
  // The best epoch's weights, kept with its number, so restore-best works after a resume too.
  if (improved) await saveModelFolder(model, card, path.join(dir, 'best'), { overwrite: true });
  const weights = await optimizer.getWeights();
  const encoded = await tf.io.encodeWeights(weights);
  await writeFile(path.join(dir, 'optimizer.bin'), new Uint8Array(tf.io.CompositeArrayBuffer.join(encoded.data)));
  await writeFile(path.join(dir, 'optimizer.json'), JSON.stringify(encoded.specs));
  await writeFile(path.join(dir, 'state.json'), JSON.stringify(state));
}

export function configHash(config: TrainConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}

async function loadCheckpoint(dir: string, optimizer: tf.Optimizer, config: TrainConfig) {
  const state = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as CheckpointState;
  if (state.configHash !== configHash(config)) {
    throw new Error(`resume: the configuration differs from the one the checkpoint in ${dir} was trained with (hash ${state.configHash}, now ${configHash(config)}); start a new run instead`);
  }
  const { model } = await loadModelFolder(path.join(dir, 'model'));
  const specs = JSON.parse(await readFile(path.join(dir, 'optimizer.json'), 'utf8')) as tf.io.WeightsManifestEntry[];
  const data = await readFile(path.join(dir, 'optimizer.bin'));
  const decoded = tf.io.decodeWeights(new Uint8Array(data).buffer, specs);
  await optimizer.setWeights(specs.map((s) => ({ name: s.name, tensor: decoded[s.name]! })));
  const best = state.bestEpoch > 0 ? (await loadModelFolder(path.join(dir, 'best'))).model : undefined;
  const bestWeights = best?.getWeights().map((w) => w.clone());
  best?.dispose();
  return { state, model, bestWeights };
}

/** The data range validation PSNR/SSIM use: data units, so runs with other normalisations compare. */
export const VALIDATION_DATA_RANGE = 'data units (HU for CT); data range = each validation slice\'s max − min';

export function cardFor(config: TrainConfig, history: EpochRecord[], datasetParams: NormalisationParams | undefined,
  volumes: TrainingVolume[], heldOut: string[], backend: string | undefined, seconds: number, parameters: number, savedEpoch: number,
  lineage?: { architecture: ModelCardInput['architecture']; parent: ModelCardInput['parent'] }): ModelCardInput {
  // The metrics of the weights actually saved: the restored best epoch, else the last.
  const last = history.find((h) => h.epoch === savedEpoch) ?? history.at(-1);
  return {
    name: config.name, version: config.version,
    task: { modality: config.modality, noise: config.mode === 'supervised' ? config.noise : undefined, mode: config.mode },
    architecture: lineage?.architecture ?? config.architecture,
    ...(lineage?.parent ? { parent: lineage.parent } : {}),
    preprocessing: {
      ...config.preprocessing,
      normalisationParams: datasetParams && {
        offset: datasetParams.offset, scale: datasetParams.scale,
        clipLow: Number.isFinite(datasetParams.clipLow) ? datasetParams.clipLow : null,
        clipHigh: Number.isFinite(datasetParams.clipHigh) ? datasetParams.clipHigh : null,
      },
    },
    training: { config: config as unknown as Record<string, unknown>, epochs: history.length, history, seconds, parameters },
    data: {
      series: volumes.length, slices: volumes.reduce((a, v) => a + v.slices.length, 0),
      modalities: [...new Set(volumes.map((v) => v.modality))],
      sources: [...new Set(volumes.map((v) => v.source).filter((s): s is string => Boolean(s)))].map((name) => ({ name })),
      heldOut,
    },
    metrics: last ? { validation: { epoch: last.epoch, loss: last.valLoss, psnr: last.valPsnr, ssim: last.valSsim, dataRange: VALIDATION_DATA_RANGE } } : undefined,
    backend, created: new Date().toISOString(),
  };
}

/**
 * The run's config with the starting model's architecture and preprocessing (its stored statistics
 * aside) — and the config's noise-level input when it asks for one the blind starting model lacks
 * (trainModel then widens the network: withNoiseLevelInput).
 */
function inheritFrom(config: TrainConfig, init: LoadedModel): TrainConfig {
  const { normalisationParams: _fitted, ...preprocessing } = init.card.preprocessing;
  const inherited = init.card.architecture;
  const wanted = config.architecture;
  const architecture = inherited.kind === 'imported' ? wanted
    : noiseMapScales(wanted) && !noiseMapScales(inherited) && wanted.kind === inherited.kind
      ? { ...inherited, noiseMap: noiseMapOf(wanted) } as Architecture
      : inherited;
  return { ...config, architecture, preprocessing };
}

/** Freezes the first `count` layers that have weights; returns how many were frozen. */
function freezeFirstLayers(model: tf.LayersModel, count: number): number {
  const weighted = model.layers.filter((l) => l.getWeights().length > 0);
  if (count > weighted.length) throw new Error(`fineTune.freezeLayers: ${count} asked, but the model has only ${weighted.length} layers with weights`);
  for (const layer of weighted.slice(0, count)) layer.trainable = false;
  return count;
}

export async function trainModel(configInput: TrainConfigInput | TrainConfig, volumes: TrainingVolume[], options: TrainOptions = {}): Promise<TrainResult> {
  const init = options.init;
  // Fine-tuning keeps the starting model's network and preprocessing: the data must reach it
  // scaled exactly as it was trained (its dataset normalisation statistics included).
  const config = init ? inheritFrom(parseTrainConfig(configInput), init) : parseTrainConfig(configInput);
  const arch = config.architecture;
  const fixedInput = init?.model.inputs[0]?.shape[1];
  const P = arch.kind === 'dense' ? arch.patchSize : init?.card.architecture.kind === 'imported' && fixedInput ? fixedInput : config.patchSize;
  const emit = options.onProgress ?? (() => {});
  if (volumes.length === 0 || volumes.every((v) => v.slices.length === 0)) throw new Error('training: no slices given');
  const { slices, datasetParams } = prepare(volumes, config, init ? cardParams(init.card) : undefined);
  if (!slices.some((s) => s.width >= P && s.height >= P)) throw new Error(`training: every slice is smaller than the ${P}×${P} patch`);

  // Validation by series; with a single series, by slice range (the last slices), never by patches.
  const split = splitBySeries(volumes.map((v) => v.seriesId), config.validation.fraction, new Rng(config.seed));
  let trainSlices = slices.filter((s) => split.train.has(s.seriesId));
  let valSlices = slices.filter((s) => split.validation.has(s.seriesId));
  if (valSlices.length === 0 && config.validation.fraction > 0 && config.validation.patches > 0) {
    const ordered = [...trainSlices];
    const nVal = Math.floor(ordered.length * config.validation.fraction);
    if (nVal >= 1 && ordered.length - nVal >= 1) {
      valSlices = ordered.slice(ordered.length - nVal);
      trainSlices = ordered.slice(0, ordered.length - nVal);
      emit({ type: 'message', text: `one series only: validating on its last ${nVal} of ${ordered.length} slices` });
    }
  }
  const factory = new PatchFactory(config, P);
  factory.index(slices);
  if (config.mode === 'recorrupted') {
    const spectra = factory.measureSpectra();
    const sigmas = [...spectra.values()].map((s) => s.sigma.toPrecision(3));
    emit({ type: 'message', text: `noise measured in ${spectra.size} series (σ ${sigmas.slice(0, 6).join(', ')}${sigmas.length > 6 ? ', …' : ''}): recorrupted pairs drawn from each series' own noise spectrum` });
  }
  const valBatch = valSlices.length && config.validation.patches ? factory.make(valSlices, config.validation.patches, new Rng(config.seed + 7919)) : undefined;

  const optimizer = makeOptimizer(config);
  let model: tf.LayersModel;
  let state: CheckpointState = {
    epoch: 0, history: [], bestLoss: Infinity, bestEpoch: 0, configHash: configHash(config), wait: 0,
    plateauRate: config.optimizer.learningRate, sinceImprovement: 0, config,
  };
  let best: tf.Tensor[] | undefined;
  if (options.resume && options.checkpointDir) {
    const loaded = await loadCheckpoint(options.checkpointDir, optimizer, config);
    model = loaded.model;
    state = loaded.state;
    best = loaded.bestWeights;
    emit({ type: 'message', text: `resumed after epoch ${state.epoch}${state.bestEpoch ? ` (best so far: epoch ${state.bestEpoch})` : ''}` });
    init?.model.dispose();
  } else if (init) {
    model = init.model;
    if (noiseMapScales(config.architecture) && model.inputs.length === 1) {
      model = withNoiseLevelInput(init.model, config.architecture, { seed: config.seed });
      init.model.dispose();
      emit({ type: 'message', text: `${init.card.name} ${init.card.version} given a noise-level input (${noiseMapScales(config.architecture)} scales): it starts out denoising as before` });
    }
    const frozen = freezeFirstLayers(model, config.fineTune.freezeLayers);
    emit({ type: 'message', text: `fine-tuning ${init.card.name} ${init.card.version}${frozen ? `, its first ${frozen} weighted layers frozen` : ''}` });
  } else {
    model = buildModel(config.architecture, { name: config.name.replace(/\W+/g, '_'), seed: config.seed });
  }
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const helpers = options.gradientHelpers ?? [];
  // Helpers rebuild the network from its topology and receive only the trainable weights each step
  // (batch-norm statistics and pixel shuffles they rebuild themselves; frozen layers they could not).
  if (helpers.length && model.nonTrainableWeights.some((w) => !w.name.includes('moving_') && !isPixelShuffleWeight(w))) {
    throw new Error('training: data-parallel helpers cannot train a model with frozen layers; train it on one thread');
  }
  const baseline = init && valBatch && !options.resume ? await validate(model, valBatch, P, config) : undefined;
  if (baseline) emit({ type: 'message', text: `${init!.card.name} before fine-tuning: validation PSNR ${baseline.psnr?.toFixed(2) ?? '—'} dB, loss ${baseline.loss.toExponential(3)}` });
  const lineage = init ? {
    // An imported network keeps its summary; otherwise the architecture trained (widened, it may be).
    architecture: init.card.architecture.kind === 'imported' ? init.card.architecture : config.architecture,
    parent: { name: init.card.name, version: init.card.version, folder: init.folder, validation: baseline && { loss: baseline.loss, psnr: baseline.psnr, ssim: baseline.ssim } },
  } : undefined;
  // Batch norm normalises by each thread's own shard statistics: data-parallel would silently
  // train a different model, so it is refused rather than approximated.
  if (helpers.length && usesBatchNorm(config.architecture)) {
    throw new Error('training: data-parallel helpers cannot train a batch-norm model correctly (per-shard statistics); train it on one thread');
  }
  if (helpers.length) {
    const topology = JSON.stringify(model.toJSON(null, false));
    await Promise.all(helpers.map((h) => h.init(topology)));
    emit({ type: 'message', text: `data-parallel training: ${helpers.length + 1} threads share each batch` });
  }
  const started = performance.now();
  let stepsDone = 0;
  let stoppedBy: TrainResult['stoppedBy'] = 'completed';
  let savedEpoch = state.epoch;
  const totalSteps = (config.epochs - state.epoch) * config.stepsPerEpoch;

  try {
    for (let epoch = state.epoch; epoch < config.epochs; epoch++) {
      const epochStart = performance.now();
      const lr = learningRateAt(config.schedule, config.optimizer.learningRate, epoch, config.epochs, state.plateauRate);
      setLearningRate(optimizer, lr);
      const rng = new Rng(config.seed * 1_000_003 + epoch);
      let lossSum = 0;
      let batch = factory.make(trainSlices, config.batchSize, rng);
      for (let b = 0; b < config.stepsPerEpoch; b++) {
        if (options.signal?.aborted) { stoppedBy = 'cancelled'; break; }
        // The step is submitted (a GPU works on it; helpers work in their threads) before its loss
        // is awaited: the next batch's patches and noise are made meanwhile, in the same order.
        if (config.fineTune.warmupSteps) setLearningRate(optimizer, lr * warmupFactor(epoch * config.stepsPerEpoch + b, config.fineTune.warmupSteps));
        const step = trainStep(model, vars, optimizer, batch, P, config, helpers);
        let next: typeof batch | undefined;
        try {
          next = b + 1 < config.stepsPerEpoch ? factory.make(trainSlices, config.batchSize, rng) : undefined;
        } catch (error) { step.catch(() => undefined); throw error; }
        const value = await step;
        if (next) batch = next;
        if (!Number.isFinite(value)) throw new Error(`training diverged at epoch ${epoch + 1} (loss ${value}); lower the learning rate`);
        lossSum += value;
        stepsDone++;
        const perStep = (performance.now() - started) / 1000 / stepsDone;
        emit({ type: 'batch', epoch: epoch + 1, epochs: config.epochs, batch: b + 1, batches: config.stepsPerEpoch, loss: value, etaSeconds: perStep * (totalSteps - stepsDone) });
        await new Promise((r) => setImmediate(r)); // lets cancel messages in
      }
      if (stoppedBy === 'cancelled') break;
      const val = valBatch ? await validate(model, valBatch, P, config) : undefined;
      const preview = val?.preview;
      const record: EpochRecord = {
        epoch: epoch + 1, trainLoss: lossSum / config.stepsPerEpoch, valLoss: val?.loss ?? null,
        valPsnr: val?.psnr ?? null, valSsim: val?.ssim ?? null, learningRate: lr, seconds: (performance.now() - epochStart) / 1000,
      };
      state.history.push(record);
      const monitored = record.valLoss ?? record.trainLoss;
      const improved = monitored < state.bestLoss - (config.earlyStopping?.minDelta ?? 0);
      if (improved) {
        state.bestLoss = monitored;
        state.bestEpoch = epoch + 1;
        state.wait = 0;
        state.sinceImprovement = 0;
        if (config.earlyStopping?.restoreBest) {
          best?.forEach((t) => t.dispose());
          best = model.getWeights().map((w) => w.clone());
        }
      } else {
        state.wait++;
        state.sinceImprovement++;
        if (config.schedule.kind === 'plateau' && state.sinceImprovement >= config.schedule.patience) {
          state.plateauRate = Math.max(config.schedule.minRate, state.plateauRate * config.schedule.factor);
          state.sinceImprovement = 0;
        }
      }
      state.epoch = epoch + 1;
      const perStep = (performance.now() - started) / 1000 / Math.max(1, stepsDone);
      emit({ type: 'epoch', record, epochs: config.epochs, etaSeconds: perStep * (totalSteps - stepsDone), best: improved, ...(preview ? { preview } : {}) });
      if (options.checkpointDir) {
        await saveCheckpoint(options.checkpointDir, model, optimizer, state,
          cardFor(config, state.history, datasetParams, volumes, [...split.validation], options.backend, 0, model.countParams(), epoch + 1, lineage), improved);
      }
      if (config.earlyStopping && state.wait >= config.earlyStopping.patience) { stoppedBy = 'early-stopping'; break; }
    }
    if (best && config.earlyStopping?.restoreBest && stoppedBy !== 'cancelled') {
      model.setWeights(best);
      savedEpoch = state.bestEpoch;
    } else {
      savedEpoch = state.epoch;
    }
  } finally {
    best?.forEach((t) => t.dispose());
    optimizer.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  const card = cardFor(config, state.history, datasetParams, volumes, [...split.validation], options.backend, seconds, model.countParams(), savedEpoch, lineage);
  return {
    model, card, history: state.history, stoppedBy, config, savedEpoch, validationSeries: [...split.validation],
    ...(baseline ? { baseline: { loss: baseline.loss, psnr: baseline.psnr, ssim: baseline.ssim } } : {}),
  };
}

async function validate(model: tf.LayersModel, batch: Batch, P: number, config: TrainConfig) {
  const pred = tf.tidy(() => model.predict(modelInput(batch, P)) as tf.Tensor);
  const out = await pred.data() as Float32Array;
  pred.dispose();
  let err = 0, weight = 0;
  for (let i = 0; i < out.length; i++) { const d = out[i]! - batch.y[i]!; err += batch.w[i]! * d * d; weight += batch.w[i]!; }
  const loss = err / Math.max(1, weight);
  const preview = previewOf(batch, out, P);
  if (config.mode !== 'supervised') return { loss, psnr: null, ssim: null, preview };
  const q = qualityInDataUnits(batch, out, P);
  return { loss, ...q, preview };
}

/**
 * What one validation patch looks like this epoch, as 8-bit grey: input | output | target side by
 * side, all three on the target's range — so a researcher sees blur, artefacts or residual noise.
 */
function previewOf(batch: Batch, out: Float32Array, P: number): EpochPreview {
  const area = P * P;
  const target = batch.y.subarray(0, area);
  let lo = Infinity, hi = -Infinity;
  for (const v of target) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi > lo ? hi - lo : 1;
  const pixels = new Uint8Array(3 * area);
  const panels = [batch.x.subarray(0, area), out.subarray(0, area), target];
  for (let y = 0; y < P; y++) {
    for (let k = 0; k < 3; k++) {
      for (let x = 0; x < P; x++) pixels[y * 3 * P + k * P + x] = Math.max(0, Math.min(255, Math.round(((panels[k]![y * P + x]! - lo) / span) * 255)));
    }
  }
  return { width: 3 * P, height: P, pixels };
}

/**
 * Mean PSNR/SSIM of a batch's predictions in the data's own units (HU for CT): each patch is
 * mapped back through its slice's normalisation and scored against that slice's data range, so
 * runs with different normalisations compare fairly.
 */
export function qualityInDataUnits(batch: Pick<Batch, 'y' | 'n' | 'units'>, out: Float32Array, P: number): { psnr: number | null; ssim: number | null } {
  let psnrSum = 0, ssimSum = 0, n = 0;
  const area = P * P;
  const toData = (v: Float32Array, u: { offset: number; scale: number }) => v.map((x) => x * u.scale + u.offset);
  for (let k = 0; k < batch.n; k++) {
    const u = batch.units?.[k] ?? { offset: 0, scale: 1, range: 1 };
    const ref = toData(batch.y.subarray(k * area, (k + 1) * area), u), test = toData(out.subarray(k * area, (k + 1) * area), u);
    const p = psnr(ref, test, u.range);
    if (!Number.isFinite(p)) continue;
    psnrSum += p;
    if (P >= 11) ssimSum += ssim(ref, test, P, P, { dataRange: u.range });
    n++;
  }
  return { psnr: n ? psnrSum / n : null, ssim: n && P >= 11 ? ssimSum / n : null };
}

/** Removes a checkpoint folder once its model has been saved for good. */
export async function removeCheckpoint(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
