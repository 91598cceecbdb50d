/**
 * Weights between PyTorch and the tfjs models the app runs, for the DnCNN the default recipes
 * train with PyTorch on a GPU (models/recipes/torch_train.py). The format: weights.json lists
 * each convolution's kernel (PyTorch's out × in × kh × kw) and bias in the network's layer order,
 * weights.bin holds them as little-endian float32, one after another.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export interface TorchTensorEntry { layer: number; kind: 'kernel' | 'bias'; shape: number[]; layout: 'oihw' | 'o' }
export interface TorchWeights { tensors: TorchTensorEntry[]; arrays: Float32Array[]; meta: Record<string, unknown> }

/**
 * The model's trained convolution layers in order: what the PyTorch network's `convs` mirror (a
 * downscaled DnCNN's fixed pixel (un)shuffle layers are PyTorch functions, not weights).
 */
function convLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D' && l.trainable);
  const other = model.layers.filter((l) => l.getWeights().length > 0 && l.trainable && l.getClassName() !== 'Conv2D');
  if (other.length) throw new Error(`PyTorch weights: only convolutions carry weights here, but ${other.map((l) => `${l.name} (${l.getClassName()})`).join(', ')} do too`);
  return convs;
}

export function readTorchWeights(folder: string): TorchWeights {
  const metaFile = path.join(folder, 'weights.json');
  let meta: { tensors?: TorchTensorEntry[] } & Record<string, unknown>;
  try { meta = JSON.parse(readFileSync(metaFile, 'utf8')) as typeof meta; } catch (e) { throw new Error(`${metaFile}: ${(e as Error).message}`); }
  if (!Array.isArray(meta.tensors) || meta.tensors.length === 0) throw new Error(`${metaFile}: no "tensors" list`);
  const bin = readFileSync(path.join(folder, 'weights.bin'));
  const total = meta.tensors.reduce((a, t) => a + t.shape.reduce((p, d) => p * d, 1), 0);
  if (bin.byteLength !== total * 4) throw new Error(`${path.join(folder, 'weights.bin')}: ${bin.byteLength} bytes where weights.json lists ${total} float32 values`);
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  let at = 0;
  const arrays = meta.tensors.map((t) => {
    const n = t.shape.reduce((p, d) => p * d, 1);
    const a = all.slice(at, at + n);
    at += n;
    return a;
  });
  const { tensors, ...rest } = meta;
  return { tensors, arrays, meta: rest };
}

/** OIHW → HWIO (tfjs' conv2d kernel layout), and back. */
function oihwToHwio(a: Float32Array, [o, i, h, w]: number[]): Float32Array {
  const out = new Float32Array(a.length);
  for (let oo = 0; oo < o!; oo++) for (let ii = 0; ii < i!; ii++) for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) {
    out[((y * w! + x) * i! + ii) * o! + oo] = a[((oo * i! + ii) * h! + y) * w! + x]!;
  }
  return out;
}
function hwioToOihw(a: Float32Array, [h, w, i, o]: number[]): Float32Array {
  const out = new Float32Array(a.length);
  for (let oo = 0; oo < o!; oo++) for (let ii = 0; ii < i!; ii++) for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) {
    out[((oo * i! + ii) * h! + y) * w! + x] = a[((y * w! + x) * i! + ii) * o! + oo]!;
  }
  return out;
}

/** Sets `model`'s convolutions from PyTorch weights; refuses any shape that does not match. */
export function loadTorchWeights(model: tf.LayersModel, weights: TorchWeights): void {
  const layers = convLayers(model);
  if (weights.tensors.length !== 2 * layers.length) throw new Error(`PyTorch weights: ${weights.tensors.length} tensors for ${layers.length} convolutions (a kernel and a bias each)`);
  layers.forEach((layer, k) => {
    const [kernel] = layer.getWeights();
    const [h, w, i, o] = kernel!.shape;
    const kt = weights.tensors[2 * k]!, bt = weights.tensors[2 * k + 1]!;
    if (kt.kind !== 'kernel' || kt.shape.join() !== [o, i, h, w].join()) throw new Error(`PyTorch weights: layer ${k} (${layer.name}) needs a kernel ${[o, i, h, w].join('×')}, got ${kt.kind} ${kt.shape.join('×')}`);
    if (bt.kind !== 'bias' || bt.shape.join() !== String(o)) throw new Error(`PyTorch weights: layer ${k} (${layer.name}) needs a bias of ${o}, got ${bt.kind} ${bt.shape.join('×')}`);
    const values = [tf.tensor4d(oihwToHwio(weights.arrays[2 * k]!, kt.shape), [h!, w!, i!, o!]), tf.tensor1d(weights.arrays[2 * k + 1]!)];
    layer.setWeights(values); // copies into the layer's variables (getWeights above returned their own values: not disposed)
    tf.dispose(values);
  });
}

/** Writes `model`'s convolutions in PyTorch's layout (a starting point for torch_train.py --init). */
export function saveTorchWeights(model: tf.LayersModel, folder: string, meta: Record<string, unknown> = {}): void {
  const tensors: TorchTensorEntry[] = [];
  const blobs: Float32Array[] = [];
  convLayers(model).forEach((layer, k) => {
    const [kernel, bias] = layer.getWeights();
    if (!bias) throw new Error(`PyTorch weights: ${layer.name} has no bias`);
    const [h, w, i, o] = kernel!.shape;
    tensors.push({ layer: k, kind: 'kernel', shape: [o!, i!, h!, w!], layout: 'oihw' }, { layer: k, kind: 'bias', shape: [o!], layout: 'o' });
    blobs.push(hwioToOihw(kernel!.dataSync() as Float32Array, [h!, w!, i!, o!]), bias.dataSync() as Float32Array);
  });
  mkdirSync(folder, { recursive: true });
  const bytes = Buffer.concat(blobs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
  writeFileSync(path.join(folder, 'weights.bin'), bytes);
  writeFileSync(path.join(folder, 'weights.json'), JSON.stringify({ tensors, ...meta }, null, 1));
}
