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
import { guardRemoval } from './noise-guard.js';
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
}

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
    const prepared = inputs.map((input) => {
      const { width, height } = input;
      if (input.values.length !== width * height) throw new Error(`denoise: expected ${width * height} values, got ${input.values.length}`);
      const mask = invalidMask(input.values, input.mask);
      const imputed = imputePixels(input.values, width, height, mask, this.loaded.card.preprocessing.imputation);
      const params = this.paramsFor(imputed.values, mask, input.volumeParams);
      // The level is read from the slice as it came (imputed padding would read as noise-free).
      const levels = this.noiseMap && noiseLevelsOf(input.values, width, height, mask, params, this.noiseMap);
      return { input, mask, params, levels, normalised: normalise(imputed.values, params) };
    });
    const outputs: Float32Array[] = new Array<Float32Array>(inputs.length);
    const sizes = new Map<string, number[]>();
    prepared.forEach((p, i) => {
      const key = `${p.input.width}x${p.input.height}`;
      sizes.set(key, [...(sizes.get(key) ?? []), i]);
    });
    for (const indices of sizes.values()) {
      const { width, height } = prepared[indices[0]!]!.input;
      const predicted = await predictTiledMany(this.loaded.model, indices.map((i) => prepared[i]!.normalised), width, height, {
        ...this.tiling, tile: this.options.tile ?? 512, batch: this.options.batch,
        ...(this.noiseMap ? { levels: indices.map((i) => prepared[i]!.levels!) } : {}),
      });
      indices.forEach((i, k) => {
        const { input, mask, params } = prepared[i]!;
        const out = denormalise(predicted[k]!, params);
        restoreClipped(input.values, out, params);
        const { noiseGuard, noiseGuardScales, noiseGuardLocal } = this.loaded.card.inference;
        guardRemoval(input.values, out, input.width, input.height, mask, { factor: noiseGuard, scales: noiseGuardScales, local: noiseGuardLocal });
        for (let j = 0; j < out.length; j++) if (mask[j]) out[j] = input.values[j]!;
        outputs[i] = out;
      });
    }
    return outputs;
  }

  dispose(): void {
    this.loaded.model.dispose();
  }
}
