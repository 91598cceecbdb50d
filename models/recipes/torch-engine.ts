/**
 * The PyTorch engine of `npm run train:defaults` (torch_train.py does the training):
 * - exportForTorch: the recipe's clean training slices, prepared exactly as train.ts prepares
 *   them (imputation, normalisation, air level, sampling weight), and its training config;
 * - importFromTorch: the trained weights into the recipe's tfjs network, saved with a model card.
 * Between the two the folder can travel to a GPU machine (see models/README.md).
 */
import { mkdirSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel, parameterCount } from '../../src-main/model/architectures.js';
import { cardFor, prepare, type TrainingVolume } from '../../src-main/model/train.js';
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from '../../src-main/model/train-config.js';
import { loadTorchWeights, readTorchWeights } from '../../src-main/model/torch-weights.js';
import type { ModelCardInput } from '../../src-main/model/model-card.js';
import type * as tf from '@tensorflow/tfjs';

export const TORCH_TRAINER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch_train.py');

/** Writes manifest.json and slices.bin into `dir`; returns how many slices and bytes. */
export function exportForTorch(configInput: TrainConfigInput, volumes: TrainingVolume[], dir: string): { slices: number; bytes: number } {
  const config = parseTrainConfig(configInput);
  if (config.mode !== 'supervised') throw new Error(`torch engine: mode ${config.mode}: only supervised recipes train with PyTorch`);
  const { slices } = prepare(volumes, config);
  const P = config.patchSize;
  const usable = slices.filter((s) => !s.imputedSlice && s.width >= P && s.height >= P);
  if (usable.length === 0) throw new Error(`torch engine: no slice is at least ${P}×${P}`);
  const chunks: Buffer[] = [];
  let at = 0;
  const entries = usable.map((s) => {
    const entry = {
      series: s.seriesId, width: s.width, height: s.height, weight: s.weight, offset: at, maskOffset: null as number | null,
      scale: s.params.scale, // data units per network unit: a noise σ in data units ÷ this
      lo: Number.isFinite(s.params.clipLow) ? (s.params.clipLow - s.params.offset) / s.params.scale : null,
      hi: Number.isFinite(s.params.clipHigh) ? (s.params.clipHigh - s.params.offset) / s.params.scale : null,
      air: s.airLevel,
    };
    chunks.push(Buffer.from(s.values.buffer, s.values.byteOffset, s.values.byteLength));
    at += s.values.byteLength;
    if (s.mask.some((m) => m)) {
      entry.maskOffset = at;
      chunks.push(Buffer.from(s.mask.buffer, s.mask.byteOffset, s.mask.byteLength));
      at += s.mask.byteLength;
    }
    return entry;
  });
  // Only an empty folder or an earlier export is written over: never a folder holding anything else.
  if (existsSync(dir)) {
    const other = readdirSync(dir).filter((f) => !['manifest.json', 'slices.bin', 'init'].includes(f));
    if (other.length) throw new Error(`torch engine: ${dir} holds other files (${other.slice(0, 3).join(', ')}${other.length > 3 ? ', …' : ''}): give an empty or new folder`);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'slices.bin'), Buffer.concat(chunks));
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ config, slices: entries }, null, 1));
  return { slices: entries.length, bytes: at };
}

interface TorchHistoryEntry { step: number; loss: number; learningRate: number; seconds: number }

/** The recipe's network with the weights torch_train.py wrote into `weightsDir`, and its card. */
export function importFromTorch(configInput: TrainConfigInput, volumes: TrainingVolume[], weightsDir: string, heldOut: string[]):
  { model: tf.LayersModel; card: ModelCardInput; config: TrainConfig; steps: number } {
  const config = parseTrainConfig(configInput);
  const weights = readTorchWeights(weightsDir);
  if (weights.meta.partial) throw new Error(`${weightsDir}: a checkpoint of an unfinished run (step ${String(weights.meta.steps)}): train it to the end first`);
  const model = buildModel(config.architecture, { name: config.name, seed: config.seed });
  loadTorchWeights(model, weights);
  const historyFile = path.join(weightsDir, 'history.json');
  const torchHistory = existsSync(historyFile) ? JSON.parse(readFileSync(historyFile, 'utf8')) as TorchHistoryEntry[] : [];
  const steps = Number(weights.meta.steps);
  const batch = Number(weights.meta.batchSize ?? config.batchSize);
  // One history record per logged step range (the card's "epochs"): PyTorch's run has no validation.
  const history = torchHistory.map((h, k) => ({ epoch: k + 1, trainLoss: h.loss, valLoss: null, valPsnr: null, valSsim: null, learningRate: h.learningRate, seconds: h.seconds }));
  const { datasetParams } = prepare(volumes.slice(0, 1), config);
  // The config as run: a run timed by --minutes took its own number of steps (and --batch its own batch).
  const asRun = steps === config.epochs * config.stepsPerEpoch ? {} : { epochs: 1, stepsPerEpoch: steps };
  const trainedConfig = { ...config, batchSize: batch, ...asRun };
  const card = cardFor(trainedConfig, history, datasetParams, volumes, heldOut, `pytorch ${String(weights.meta.torch ?? '')} on ${String(weights.meta.device ?? 'an unknown device')}`.trim(),
    Number(weights.meta.seconds ?? 0), parameterCount(model), history.length);
  // No validation split there: the held-out bench (bench:quality) is what judges such a run.
  const { validation: _none, ...metrics } = card.metrics ?? {};
  card.metrics = metrics;
  return { model, card, config: trainedConfig, steps };
}
