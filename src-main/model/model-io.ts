/**
 * Model folders: `model.json` + weight shards in the tfjs layers format (so models converted from
 * Keras with the tensorflowjs converter load too) and `model-card.json`. Reading and writing go
 * through tfjs' in-memory IO handlers: no file:// handler needed, so it works on every backend.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from '../shared/fs-paths.js';
import * as tf from '@tensorflow/tfjs';
import { parseModelCard, type ModelCard, type ModelCardInput } from './model-card.js';
import { checkImageToImage, modelFromArtifacts, ModelFolderError, type BuildOptions, type LoadedModel, type ModelArtifacts } from './model-artifacts.js';
import { ModelDenoiser, type ModelDenoiserOptions } from './model-denoiser.js';

// Callers of this module (and its tests) know these names from here.
export { checkImageToImage, ModelFolderError, type LoadedModel };

export const MODEL_JSON = 'model.json';
export const MODEL_CARD = 'model-card.json';
const WEIGHTS_FILE = 'weights.bin';

/** Writes a model folder atomically (staging folder, then rename); refuses an existing folder. */
export async function saveModelFolder(model: tf.LayersModel, card: ModelCardInput, folder: string,
  options: { overwrite?: boolean } = {}): Promise<void> {
  const target = path.resolve(folder);
  const parsedCard = parseModelCard(card, path.join(target, MODEL_CARD));
  if (!options.overwrite && await exists(target)) throw new ModelFolderError(target, 'already exists; choose a new folder');
  const staging = `${target}.partial-${process.pid}-${Date.now()}`;
  await mkdir(staging, { recursive: true });
  try {
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : new ArrayBuffer(0);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(path.join(staging, MODEL_JSON), JSON.stringify(modelJson));
      await writeFile(path.join(staging, WEIGHTS_FILE), new Uint8Array(weightData));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }));
    await writeFile(path.join(staging, MODEL_CARD), JSON.stringify(parsedCard, null, 2) + '\n');
    if (options.overwrite) await rm(target, { recursive: true, force: true });
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

async function readJson(file: string, folder: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelFolderError(folder, code === 'ENOENT' ? `${what} is missing` : `cannot read ${what} (${code})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelFolderError(folder, `${what} is not valid JSON (${(error as Error).message})`);
  }
}

interface ModelJson {
  modelTopology?: unknown;
  format?: string;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** Reads weights named by the manifest, shard by shard, checking sizes against the specs. */
async function readWeights(folder: string, manifest: NonNullable<ModelJson['weightsManifest']>) {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of manifest) {
    for (const p of group.paths) {
      const file = path.resolve(folder, p);
      if (!isInside(folder, file)) throw new ModelFolderError(folder, `weight path '${p}' leaves the folder`);
      try {
        buffers.push(new Uint8Array(await readFile(file)));
      } catch {
        throw new ModelFolderError(folder, `weight file '${p}' named in model.json is missing`);
      }
    }
    specs.push(...group.weights);
  }
  const bytesPerValue: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
  let expected = 0;
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    expected += s.quantization ? n * (s.quantization.dtype === 'uint8' ? 1 : 2) // uint16 and float16: 2 bytes
      : n * (bytesPerValue[s.dtype] ?? 4);
  }
  const total = buffers.reduce((a, b) => a + b.length, 0);
  if (total !== expected) throw new ModelFolderError(folder, `weight files hold ${total} bytes but model.json describes ${expected}`);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) { joined.set(b, offset); offset += b.length; }
  return { specs, data: joined.buffer };
}

/** Reads a model folder into memory, checking its files (not yet a network: see modelFromArtifacts). */
export async function readModelArtifacts(folder: string): Promise<ModelArtifacts> {
  const dir = path.resolve(folder);
  if (!(await exists(dir))) throw new ModelFolderError(dir, 'model folder not found');
  const json = await readJson(path.join(dir, MODEL_JSON), dir, MODEL_JSON) as ModelJson;
  if (!json || typeof json !== 'object' || !json.modelTopology) {
    throw new ModelFolderError(dir, 'model.json has no modelTopology (is it a tfjs layers model?)');
  }
  if (json.format && json.format !== 'layers-model') {
    throw new ModelFolderError(dir, `model.json is a '${json.format}'; only tfjs layers models are supported (convert Keras models with tensorflowjs_converter --input_format keras)`);
  }
  const card = parseModelCard(await readJson(path.join(dir, MODEL_CARD), dir, MODEL_CARD), path.join(dir, MODEL_CARD));
  const weights = await readWeights(dir, json.weightsManifest ?? []);
  return { modelTopology: json.modelTopology as object, weightSpecs: weights.specs, weightData: weights.data, card };
}

export async function loadModelFolder(folder: string, options: BuildOptions = {}): Promise<LoadedModel> {
  const dir = path.resolve(folder);
  return modelFromArtifacts(await readModelArtifacts(dir), dir, options);
}

/** A model folder as a slice denoiser. */
export async function loadModelDenoiser(folder: string, options: ModelDenoiserOptions = {}): Promise<ModelDenoiser> {
  return ModelDenoiser.fromLoaded(await loadModelFolder(folder, { forInference: true }), options);
}

export async function readModelCard(folder: string): Promise<ModelCard> {
  const dir = path.resolve(folder);
  return parseModelCard(await readJson(path.join(dir, MODEL_CARD), dir, MODEL_CARD), path.join(dir, MODEL_CARD));
}
