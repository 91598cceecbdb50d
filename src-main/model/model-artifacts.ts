/**
 * A model in memory: topology, weights and card, as read from a model folder or received by a
 * compute context (a Chromium worker has no file system). Building and checking the network
 * happens here, so a folder and a message are held to the same rules. Browser-safe: no Node APIs.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelCard } from './model-card.js';
import { fuseConvActivations } from './fuse-activations.js';
import { fixPixelShuffles, noiseMapScales } from './architectures.js';

export class ModelFolderError extends Error {
  constructor(readonly folder: string, reason: string) {
    super(`${folder}: ${reason}`);
    this.name = 'ModelFolderError';
  }
}

export interface LoadedModel {
  model: tf.LayersModel;
  card: ModelCard;
  folder: string;
}

/** What a model folder holds, in memory. */
export interface ModelArtifacts {
  modelTopology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  card: ModelCard;
}

/**
 * Checks the model maps a one-channel image to a one-channel image of the same size — and takes
 * the noise-level maps beside it exactly when its card's architecture says so (noiseMap).
 */
export function checkImageToImage(model: tf.LayersModel, folder: string, noiseMaps = 0): void {
  const inShape = model.inputs[0]?.shape, outShape = model.outputs[0]?.shape;
  const show = (shape: (number | null)[]) => `[${shape.map((d) => d ?? 'null').join(', ')}]`;
  if (model.inputs.length !== (noiseMaps ? 2 : 1) || model.outputs.length !== 1 || !inShape || !outShape) {
    throw new ModelFolderError(folder, noiseMaps
      ? `the card's architecture takes ${noiseMaps} noise-level maps: the model must have two inputs (image, noise_level) and one output`
      : 'the model must have exactly one input and one output');
  }
  if (inShape.length !== 4 || inShape[3] !== 1) {
    throw new ModelFolderError(folder, `input shape ${show(inShape)} is not an image of one channel [batch, height, width, 1]`);
  }
  const levelShape = model.inputs[1]?.shape;
  if (noiseMaps && (levelShape?.length !== 4 || levelShape[3] !== noiseMaps)) {
    throw new ModelFolderError(folder, `noise_level input shape ${show(levelShape ?? [])} does not hold the card's ${noiseMaps} maps [batch, height, width, ${noiseMaps}]`);
  }
  if (outShape.length !== 4 || outShape[3] !== 1 || outShape[1] !== inShape[1] || outShape[2] !== inShape[2]) {
    throw new ModelFolderError(folder, `output shape ${show(outShape)} does not match the input ${show(inShape)}`);
  }
}

export interface BuildOptions {
  /**
   * Only to denoise: activations folded into their convolutions (fuse-activations.ts). Training
   * keeps the topology it saved, so a resumed run repeats an uninterrupted one bit for bit.
   */
  forInference?: boolean;
}

/** Builds the network from its artifacts and checks it maps an image to an image. */
export async function modelFromArtifacts(artifacts: ModelArtifacts, folder: string, options: BuildOptions = {}): Promise<LoadedModel> {
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: options.forInference ? fuseConvActivations(artifacts.modelTopology) : artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData,
    }));
  } catch (error) {
    throw new ModelFolderError(folder, `model.json could not be built: ${(error as Error).message}`);
  }
  fixPixelShuffles(model); // their variables out of training (the kernels came with the weights)
  try {
    checkImageToImage(model, folder, noiseMapScales(artifacts.card.architecture));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, card: artifacts.card, folder };
}
