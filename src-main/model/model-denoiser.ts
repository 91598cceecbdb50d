/**
 * A learned model behind the SliceDenoiser interface: applies exactly the card's preprocessing
 * (imputation of padding/invalid pixels, normalisation), runs the tiled model, and inverts it —
 * pixels the normalisation clipped and pixels that were padding keep their input values.
 */
import * as tf from '@tensorflow/tfjs';
import {
  fitNormalisation, normalisationScope, normalise, denormalise, restoreClipped, valueStats,
  type NormalisationParams,
} from '../preprocess/normalise.js';
import { imputePixels, invalidMask } from '../preprocess/impute.js';
import { guardRemoval, keepLowFrequencies, lowPassScale } from './noise-guard.js';
import {
  cropWindow, innerPixels, innerPixelsOfCrops, keepShareOfRemoval, probeWindows, riskMinimisingWeight, riskSigma, unmeasuredForRisk, type RiskEstimate,
} from './risk-estimate.js';
import { Rng } from '../noise/rng.js';
import { estimateNoiseSpectrum, type NoiseSpectrum } from '../preprocess/noise-spectrum.js';
import { filteredNoise } from '../shared/fft2d.js';
import { noiseMapOf, parseArchitecture, tilingNeeds, type TilingNeeds } from './architectures.js';
import { noiseLevelsOf, type NoiseMapSpec } from './noise-level-input.js';
import type { SliceDenoiser, SliceInput } from './denoiser.js';
import type { ModelCard } from './model-card.js';
import type { LoadedModel } from './model-artifacts.js';
import { predictTiledMany } from './tiling.js';

export interface ModelDenoiserOptions {
  /** Largest tile side (default 512: a typical slice runs in one pass). */
  tile?: number;
  batch?: number;
}

export interface ModelSliceInput extends SliceInput {
  /** Volume statistics, when the card's normalisation scope is 'volume'. */
  volumeParams?: NormalisationParams;
  /**
   * The white-noise σ of this slice when it is known from outside the image — measured between
   * repeat acquisitions of the series (jobs/series-context.ts). Otherwise the risk estimate and the guard
   * read σ from the slice itself, which fine anatomy can inflate.
   */
  noiseSigma?: number;
}

/** Relative size of the probe that reads the network's divergence (× σ): small, yet far above float32 rounding. */
const PROBE_SCALE = 0.1;
/** Magnitude images: below this many σ the noise is too far from Gaussian for the risk estimate (Rician). */
const MAGNITUDE_FLOOR = 3;

/** Fitted parameters from the card (stored nulls mean "no clipping"). */
export function cardParams(card: ModelCard): NormalisationParams | undefined {
  const spec = card.preprocessing.normalisation;
  if (spec.kind === 'window') return fitNormalisation(spec);
  const p = card.preprocessing.normalisationParams;
  return p && { offset: p.offset, scale: p.scale, clipLow: p.clipLow ?? -Infinity, clipHigh: p.clipHigh ?? Infinity };
}

function modelTiling(loaded: LoadedModel): TilingNeeds {
  const arch = loaded.card.architecture;
  if (arch.kind !== 'imported') return tilingNeeds(parseArchitecture(arch));
  const shape = loaded.model.inputs[0]!.shape;
  if (shape[1] && shape[2]) return { margin: 0, align: 1, fixedSize: shape[1] };
  return { margin: 32, align: 16 }; // unknown network: a generous margin, pooling up to 4 levels
}

export class ModelDenoiser implements SliceDenoiser {
  readonly kind = 'model';
  readonly name: string;
  private readonly tiling: TilingNeeds;
  /** A noise-level model: how it reads each slice's noise (undefined: a blind model). */
  private readonly noiseMap?: NoiseMapSpec;

  private constructor(private readonly loaded: LoadedModel, private readonly options: ModelDenoiserOptions) {
    this.name = `${loaded.card.name} ${loaded.card.version}`;
    this.tiling = modelTiling(loaded);
    const arch = loaded.card.architecture;
    this.noiseMap = noiseMapOf(arch.kind === 'imported' ? arch : parseArchitecture(arch));
  }

  static fromLoaded(loaded: LoadedModel, options: ModelDenoiserOptions = {}): ModelDenoiser {
    return new ModelDenoiser(loaded, options);
  }

  get card(): ModelCard {
    return this.loaded.card;
  }

  get model(): tf.LayersModel {
    return this.loaded.model;
  }

  /** The normalisation for one slice, by the card's scope. */
  paramsFor(values: Float32Array, mask: Uint8Array, volumeParams?: NormalisationParams): NormalisationParams {
    const spec = this.loaded.card.preprocessing.normalisation;
    switch (normalisationScope(spec)) {
      case 'dataset': {
        const p = cardParams(this.loaded.card);
        if (!p) throw new Error(`${this.loaded.folder}: model card lacks preprocessing.normalisationParams for its dataset-scope normalisation`);
        return p;
      }
      case 'volume':
        if (volumeParams) return volumeParams;
        return fitNormalisation(spec, valueStats([{ values, mask }]));
      case 'slice':
        return fitNormalisation(spec, valueStats([{ values, mask }]));
    }
  }

  async denoise(input: ModelSliceInput): Promise<Float32Array> {
    return (await this.denoiseMany([input]))[0]!;
  }

  /**
   * Several slices at once: slices of one size share the model's batches (what a GPU needs to be
   * busy); each slice keeps its own imputation, normalisation and restored pixels.
   */
  async denoiseMany(inputs: ModelSliceInput[]): Promise<Float32Array[]> {
    const weighByRisk = this.loaded.card.inference.riskWeighting;
    const prepared = inputs.map((input) => {
      const { width, height } = input;
      if (input.values.length !== width * height) throw new Error(`denoise: expected ${width * height} values, got ${input.values.length}`);
      const mask = invalidMask(input.values, input.mask);
      const imputed = imputePixels(input.values, width, height, mask, this.loaded.card.preprocessing.imputation);
      const params = this.paramsFor(imputed.values, mask, input.volumeParams);
      // The level is read from the slice as it came (imputed padding would read as noise-free).
      const levels = this.noiseMap && noiseLevelsOf(input.values, width, height, mask, params, this.noiseMap);
      const normalised = normalise(imputed.values, params);
      const risk = weighByRisk ? riskProbe(input, imputed.values, mask, params, this.loaded.card.task.modality, this.loaded.card.inference.riskNoise, this.tiling.margin) : undefined;
      return { input, mask, params, levels, normalised, risk };
    });
    const outputs: Float32Array[] = new Array<Float32Array>(inputs.length);
    const sizes = new Map<string, number[]>();
    prepared.forEach((p, i) => {
      const key = `${p.input.width}x${p.input.height}`;
      sizes.set(key, [...(sizes.get(key) ?? []), i]);
    });
    const predict = (images: Float32Array[], width: number, height: number, levels: (Float32Array | undefined)[]) => predictTiledMany(this.loaded.model, images, width, height, {
      ...this.tiling, tile: this.options.tile ?? 512, batch: this.options.batch,
      ...(this.noiseMap ? { levels: levels.map((l) => l!) } : {}),
    });
    for (const indices of sizes.values()) {
      const { width, height } = prepared[indices[0]!]!.input;
      const predicted = await predict(indices.map((i) => prepared[i]!.normalised), width, height, indices.map((i) => prepared[i]!.levels));
      // The risk estimate's second pass: the probed windows of these slices, in batches of their own.
      const probed = await this.predictWindows(indices.map((i) => prepared[i]!), predict);
      indices.forEach((i, k) => {
        const { input, mask, params, risk } = prepared[i]!;
        const out = denormalise(predicted[k]!, params);
        restoreClipped(input.values, out, params);
        if (risk) {
          const perturbedOutput = innerPixelsOfCrops(probed[k]!.map((c) => denormalise(c, params)), risk.windows);
          this.lastRisk = riskMinimisingWeight({ ...risk.inner, output: innerPixels(out, input.width, risk.windows), perturbedOutput, epsilon: risk.epsilon, sigma: risk.sigma });
          keepShareOfRemoval(input.values, out, mask, this.lastRisk.weight, risk.dark);
          this.kept.set(out, this.lastRisk.weight);
        }
        const { noiseGuard, noiseGuardScales, noiseGuardLocal, keepLowFrequencies: lowPass } = this.loaded.card.inference;
        guardRemoval(input.values, out, input.width, input.height, mask, { factor: noiseGuard, scales: noiseGuardScales, local: noiseGuardLocal, sigma: input.noiseSigma });
        if (lowPass !== null) {
          // At a scale where this slice's own noise has as little power as white noise has at the card's.
          const spectrum = sliceNoiseSpectrum(input, mask, this.loaded.card.task.modality, LOW_PASS_SPECTRUM_SIDE);
          this.lastLowPass = spectrum ? lowPassScale(spectrum.amplitude, spectrum.size, lowPass) : lowPass;
          keepLowFrequencies(input.values, out, input.width, input.height, mask, this.lastLowPass);
        }
        for (let j = 0; j < out.length; j++) if (mask[j]) out[j] = input.values[j]!;
        outputs[i] = out;
      });
    }
    return outputs;
  }

  /** The network's output on each slice's probed windows (empty for slices without a risk probe). */
  private async predictWindows(slices: { risk?: RiskProbe; levels?: Float32Array }[],
    predict: (images: Float32Array[], width: number, height: number, levels: (Float32Array | undefined)[]) => Promise<Float32Array[]>): Promise<Float32Array[][]> {
    const out = slices.map(() => [] as Float32Array[]);
    // Windows of one size share batches (all windows of same-sized slices have the same size).
    const bySize = new Map<string, { slice: number; crop: Float32Array; width: number; height: number }[]>();
    slices.forEach((s, slice) => s.risk?.windows.forEach((w, k) => {
      const key = `${w.width}x${w.height}`;
      bySize.set(key, [...(bySize.get(key) ?? []), { slice, crop: s.risk!.crops[k]!, width: w.width, height: w.height }]);
    }));
    for (const group of bySize.values()) {
      const predicted = await predict(group.map((g) => g.crop), group[0]!.width, group[0]!.height, group.map((g) => slices[g.slice]!.levels));
      group.forEach((g, k) => out[g.slice]!.push(predicted[k]!));
    }
    return out;
  }

  /** The risk estimate of the last slice denoised (cards with `inference.riskWeighting`), for benchmarks and logs. */
  lastRisk?: RiskEstimate;
  /** The scale (px) the last slice's removal had its low frequencies put back at (cards with `inference.keepLowFrequencies`). */
  lastLowPass?: number;

  /** Each output's kept share (risk-weighted cards only), looked up by the output itself. */
  private readonly kept = new WeakMap<Float32Array, number>();

  keptShare(output: Float32Array): number | undefined {
    return this.kept.get(output);
  }

  dispose(): void {
    this.loaded.model.dispose();
  }
}

type RiskProbe = ReturnType<typeof riskProbe>;

/**
 * The noise spectrum of one slice, read from its flattest tissue (above −500 HU in CT: lung and
 * air hold other noise), at an FFT size covering a probe window; undefined where no region of
 * tissue can be read (a slice of air) — white noise is assumed there.
 */
function sliceNoiseSpectrum(input: ModelSliceInput, mask: Uint8Array, modality: string, side: number): NoiseSpectrum | undefined {
  try {
    return estimateNoiseSpectrum([{ values: input.values, width: input.width, height: input.height, mask }], side, modality === 'CT' ? CT_TISSUE_FLOOR : -Infinity);
  } catch {
    return undefined;
  }
}

/** CT values below this (HU) are air or lung, whose noise is not the body's. */
const CT_TISSUE_FLOOR = -500;

/** FFT side of the spectrum lowPassScale reads (64×64 regions resolve correlations of a few pixels). */
const LOW_PASS_SPECTRUM_SIDE = 64;

/**
 * What the risk estimate needs besides the network's output: σ (given; or the total power of the
 * noise spectrum read from the slice's flattest tissue, for correlated noise; or read from the
 * slice's finest scale — white noise; in magnitude images over the signal, not the Rician
 * background, and no higher than its flattest tissue or its air reads),
 * the windows it reads the divergence in, their probed crops (normalised, for the network) and
 * the input, probe and unmeasured pixels of their inner boxes.
 */
function riskProbe(input: ModelSliceInput, imputed: Float32Array, mask: Uint8Array, params: NormalisationParams, modality: string, noise: 'white' | 'spectrum', margin: number) {
  const { width, height } = input;
  const magnitude = modality === 'MR';
  const windows = probeWindows(width, height, margin);
  const spectrum = noise === 'spectrum' ? sliceNoiseSpectrum(input, mask, modality, Math.max(...windows.map((w) => Math.max(w.width, w.height)))) : undefined;
  const sigma = input.noiseSigma ?? spectrum?.sigma ?? riskSigma(input.values, width, height, mask, params, magnitude);
  const epsilon = PROBE_SCALE * (sigma > 0 ? sigma : params.scale * 1e-3);
  // One seed for every slice: a slice's result never depends on which batch it rode in.
  const rng = new Rng(0x5eed);
  // The probe only where the second pass looks (the windows' crops do not overlap): white, or
  // with the noise's own correlation at unit variance — then bᵀ(f(y + εb) − f(y))/ε reads
  // tr(J·C)/σ², the divergence the coloured-noise estimate needs.
  const probes = windows.map((w) => (spectrum
    ? filteredNoise(spectrum.amplitude, spectrum.size, w.width, w.height, () => rng.normal())
    : Float32Array.from({ length: w.width * w.height }, () => rng.normal())));
  const unmeasured = unmeasuredForRisk(input.values, width, height, mask, params, magnitude ? MAGNITUDE_FLOOR * sigma : -Infinity);
  return {
    sigma, epsilon, windows,
    crops: windows.map((w, k) => normalise(cropWindow(imputed, width, w).map((v, j) => v + epsilon * probes[k]![j]!), params)),
    inner: { input: innerPixels(input.values, width, windows), probe: innerPixelsOfCrops(probes, windows), mask: innerPixels(unmeasured, width, windows) },
    dark: magnitude ? { full: (MAGNITUDE_FLOOR - 1) * sigma, weighted: (MAGNITUDE_FLOOR + 1) * sigma } : undefined,
  };
}
