/**
 * The PyTorch engine of train:defaults: weights between PyTorch's layout and the tfjs network
 * (checked against a convolution written out here, so a transposed kernel cannot pass), the
 * training set exported exactly as train.ts prepares it, and — where PyTorch is installed
 * (apt: python3-torch; CI installs it) — torch_train.py's noise against noise/models.ts and a
 * short run whose imported network computes what PyTorch's computes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src-main/model/backend.js';
import { buildModel } from '../src-main/model/architectures.js';
import { loadTorchWeights, readTorchWeights, saveTorchWeights } from '../src-main/model/torch-weights.js';
import { exportForTorch, importFromTorch, TORCH_TRAINER } from '../models/recipes/torch-engine.js';
import { ctPhantomSlice } from '../src-main/noise/phantom.js';
import { correlatedField, fbpField } from '../src-main/noise/models.js';
import { Rng } from '../src-main/noise/rng.js';
import type { TrainConfigInput } from '../src-main/model/train-config.js';
import type { TrainingVolume } from '../src-main/model/train.js';
import { tempDir } from './helpers.js';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const noTorch = hasTorch ? false : `PyTorch is not installed for ${PYTHON} (apt: python3-torch)`;

before(async () => { await initBackend({ force: 'cpu' }); });
const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));
function scratch(prefix: string): string {
  const t = tempDir(prefix);
  cleanups.push(t.cleanup);
  return t.dir;
}

function predict(model: tf.LayersModel, x: Float32Array, h: number, w: number): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor4d(x, [1, h, w, 1])) as tf.Tensor).dataSync() as Float32Array);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** A 3×3 'same' convolution with PyTorch's kernel layout (out, in, kh, kw), written out. */
function conv(x: Float32Array[], kernel: Float32Array, bias: Float32Array, out: number, h: number, w: number, relu: boolean): Float32Array[] {
  const cin = x.length;
  return Array.from({ length: out }, (_, o) => {
    const y = new Float32Array(h * w);
    for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) {
      let acc = bias[o]!;
      for (let i = 0; i < cin; i++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
        const rr = r + ky - 1, cc = c + kx - 1;
        if (rr >= 0 && rr < h && cc >= 0 && cc < w) acc += kernel[((o * cin + i) * 3 + ky) * 3 + kx]! * x[i]![rr * w + cc]!;
      }
      y[r * w + c] = relu ? Math.max(0, acc) : acc;
    }
    return y;
  });
}

test('PyTorch weights load into the tfjs DnCNN in the right layout: its output is the convolutions written out', () => {
  const dir = scratch('torch-weights-');
  const rng = new Rng(3);
  const shapes = [[3, 1], [3, 3], [1, 3]] as const; // depth 3, width 3
  const arrays: Float32Array[] = [];
  const tensors = shapes.flatMap(([o, i], layer) => {
    arrays.push(Float32Array.from({ length: o * i * 9 }, () => rng.normal() * 0.4), Float32Array.from({ length: o }, () => rng.normal() * 0.1));
    return [{ layer, kind: 'kernel', shape: [o, i, 3, 3], layout: 'oihw' }, { layer, kind: 'bias', shape: [o], layout: 'o' }];
  });
  writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat(arrays.map((a) => Buffer.from(a.buffer))));
  writeFileSync(path.join(dir, 'weights.json'), JSON.stringify({ tensors, steps: 1 }));
  const model = buildModel({ kind: 'dncnn', depth: 3, width: 3 }, { seed: 1 });
  loadTorchWeights(model, readTorchWeights(dir));
  const h = 7, w = 9;
  const x = Float32Array.from({ length: h * w }, (_, i) => Math.sin(i * 1.3) + (i % w) / w);
  let f = conv([x], arrays[0]!, arrays[1]!, 3, h, w, true);
  f = conv(f, arrays[2]!, arrays[3]!, 3, h, w, true);
  const body = conv(f, arrays[4]!, arrays[5]!, 1, h, w, false)[0]!;
  const expected = x.map((v, i) => v + body[i]!);
  assert.ok(maxDiff(predict(model, x, h, w), expected) < 1e-5, 'tfjs output = input + the written-out convolutions');

  // Back out to PyTorch's layout and into a network with other starting weights: the same function.
  const again = scratch('torch-weights-again-');
  saveTorchWeights(model, again);
  assert.deepEqual(readFileSync(path.join(again, 'weights.bin')), readFileSync(path.join(dir, 'weights.bin')));
  const other = buildModel({ kind: 'dncnn', depth: 3, width: 3 }, { seed: 9 });
  assert.ok(maxDiff(predict(other, x, h, w), expected) > 1e-3, 'another seed computes something else');
  loadTorchWeights(other, readTorchWeights(again));
  assert.equal(maxDiff(predict(other, x, h, w), expected) < 1e-5, true);

  // A network of another shape refuses them, naming the layer and both shapes.
  const wider = buildModel({ kind: 'dncnn', depth: 3, width: 4 }, { seed: 1 });
  assert.throws(() => loadTorchWeights(wider, readTorchWeights(dir)), /layer 0 \(conv_\d+\) needs a kernel 4×1×3×3, got kernel 3×1×3×3/);
  const deeper = buildModel({ kind: 'dncnn', depth: 4, width: 3 }, { seed: 1 });
  assert.throws(() => loadTorchWeights(deeper, readTorchWeights(dir)), /6 tensors for 4 convolutions/);
  writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(12));
  assert.throws(() => readTorchWeights(dir), /weights\.bin: 12 bytes where weights\.json lists 142 float32 values/);
});

test('a DnCNN on 2×2 sub-images (downscale 2) is the convolutions written out on PyTorch\'s pixel-unshuffled channels', () => {
  const rng = new Rng(4);
  const model = buildModel({ kind: 'dncnn', depth: 3, width: 3, downscale: 2 }, { seed: 2 });
  // Random trained weights, PyTorch's layout: 4 sub-image channels in, 4 out.
  const shapes = [[3, 4], [3, 3], [4, 3]] as const;
  const arrays = shapes.flatMap(([o, i]) => [Float32Array.from({ length: o * i * 9 }, () => rng.normal() * 0.4), Float32Array.from({ length: o }, () => rng.normal() * 0.1)]);
  const dir = scratch('torch-weights-s2-');
  writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat(arrays.map((a) => Buffer.from(a.buffer))));
  writeFileSync(path.join(dir, 'weights.json'), JSON.stringify({ tensors: shapes.flatMap(([o, i], layer) => [{ layer, kind: 'kernel', shape: [o, i, 3, 3], layout: 'oihw' }, { layer, kind: 'bias', shape: [o], layout: 'o' }]) }));
  loadTorchWeights(model, readTorchWeights(dir));
  const h = 8, w = 10, h2 = h / 2, w2 = w / 2;
  const x = Float32Array.from({ length: h * w }, (_, i) => Math.cos(i * 0.7) + (i % w) / w);
  // Channel 2i + j holds pixel (2y + i, 2x + j): torch.nn.functional.pixel_unshuffle's order.
  const sub = [0, 1, 2, 3].map((c) => Float32Array.from({ length: h2 * w2 }, (_, k) => x[(2 * Math.floor(k / w2) + (c >> 1)) * w + 2 * (k % w2) + (c & 1)]!));
  let f = conv(sub, arrays[0]!, arrays[1]!, 3, h2, w2, true);
  f = conv(f, arrays[2]!, arrays[3]!, 3, h2, w2, true);
  const body = conv(f, arrays[4]!, arrays[5]!, 4, h2, w2, false);
  const expected = x.map((v, i) => v + body[2 * (Math.floor(i / w) % 2) + (i % w) % 2]![Math.floor(i / w / 2) * w2 + Math.floor((i % w) / 2)]!);
  assert.ok(maxDiff(predict(model, x, h, w), expected) < 1e-5, 'tfjs output = input + the written-out body, shuffled back');
  // Only the trained convolutions travel (the fixed shuffles are PyTorch functions): saved back, the same bytes.
  const again = scratch('torch-weights-s2-again-');
  saveTorchWeights(model, again);
  assert.deepEqual(readFileSync(path.join(again, 'weights.bin')), readFileSync(path.join(dir, 'weights.bin')));
  assert.equal(model.trainableWeights.length, 6, 'the shuffles are not trained');
  if (!hasTorch) return;
  writeFileSync(path.join(dir, 'x.bin'), x);
  python(`
import numpy as np, torch, torch_train as t
m = t.DnCNN(3, 3, 3, [1], 2)
for p, w in zip(m.parameters(), t.read_weights(${JSON.stringify(dir)})): p.data.copy_(w)
x = torch.from_numpy(np.fromfile(${JSON.stringify(path.join(dir, 'x.bin'))}, dtype='<f4').reshape(1, 1, ${h}, ${w}))
m(x).detach().numpy().astype('<f4').tofile(${JSON.stringify(path.join(dir, 'y.bin'))})`);
  const y = readFileSync(path.join(dir, 'y.bin'));
  const fromTorch = new Float32Array(y.buffer.slice(y.byteOffset, y.byteOffset + y.byteLength));
  assert.ok(maxDiff(fromTorch, expected) < 1e-5, `PyTorch's downscaled DnCNN computes the same (max difference ${maxDiff(fromTorch, expected)})`);
});

const config: TrainConfigInput = {
  name: 'ct-test', modality: 'CT', mode: 'supervised',
  architecture: { kind: 'dncnn', depth: 4, width: 8 }, patchSize: 32, batchSize: 4, epochs: 1, stepsPerEpoch: 20,
  preprocessing: { normalisation: { kind: 'window', center: 900, width: 4000 } },
  noise: [{ kind: 'gaussian', sigma: { min: 10, max: 40 }, units: 'absolute' }, { kind: 'correlated', sigma: 25, units: 'absolute', correlation: 1 }],
  lossWeighting: 'noise-sd', seed: 5,
};

function volumes(): TrainingVolume[] {
  const slices = [0, 1].map((i) => ({ values: ctPhantomSlice(96, i, 2, 11, 'head'), width: 96, height: 96 }));
  // A slice with pixel padding (outside the reconstruction circle): masked, and imputed before normalising.
  const padded = ctPhantomSlice(64, 0, 1, 12, 'chest');
  const padding = new Uint8Array(64 * 64).map((_, i) => (i % 64 < 6 ? 1 : 0));
  padding.forEach((p, i) => { if (p) padded[i] = -3024; });
  return [
    { seriesId: 'head', modality: 'CT', slices, weight: 40 },
    { seriesId: 'chest', modality: 'CT', slices: [{ values: padded, width: 64, height: 64, padding }] },
  ];
}

test('the training set goes to PyTorch as train.ts prepares it: window-normalised values, padding masks, air level, sampling weights', () => {
  const dir = scratch('torch-export-');
  const v = volumes();
  const { slices, bytes } = exportForTorch(config, v, dir);
  assert.equal(slices, 3);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    config: { lossWeighting: string; patchSize: number; noise: unknown[] };
    slices: { series: string; width: number; height: number; weight: number; offset: number; maskOffset: number | null; scale: number; lo: number; hi: number; air: number }[];
  };
  const bin = readFileSync(path.join(dir, 'slices.bin'));
  assert.equal(bin.byteLength, bytes);
  assert.equal(manifest.config.lossWeighting, 'noise-sd');
  assert.equal(manifest.config.noise.length, 2);
  const [head0, head1, chest] = manifest.slices;
  assert.deepEqual([head0!.series, head0!.weight, head1!.weight, chest!.series, chest!.weight], ['head', 40, 40, 'chest', 1]);
  // Window 900 ± 2000 HU: offset −1100, 4000 HU per network unit, clipped to [0, 1]; air (−900 HU) at 0.05.
  for (const s of manifest.slices) {
    assert.deepEqual([s.scale, s.lo, s.hi], [4000, 0, 1]);
    assert.ok(Math.abs(s.air - 0.05) < 1e-12);
  }
  const values = (s: typeof head0) => new Float32Array(bin.buffer.slice(bin.byteOffset + s!.offset, bin.byteOffset + s!.offset + s!.width * s!.height * 4));
  const original = v[0]!.slices[1]!.values;
  const got = values(head1);
  for (const i of [0, 500, 4000, 9215]) assert.ok(Math.abs(got[i]! - (Math.min(2900, Math.max(-1100, original[i]!)) + 1100) / 4000) < 1e-6, `pixel ${i}`);
  assert.equal(head0!.maskOffset, null, 'no mask where nothing is padding');
  const mask = bin.subarray(chest!.maskOffset!, chest!.maskOffset! + 64 * 64);
  assert.equal(mask.reduce((a, m) => a + m, 0), 6 * 64);
  assert.equal(mask[5], 1);
  assert.equal(mask[6], 0);
  // The padding's −3024 HU was imputed from its neighbours before normalising: no value below the window.
  const chestValues = values(chest);
  assert.ok(chestValues[0]! > 0, `padding imputed (${chestValues[0]})`);

  assert.throws(() => exportForTorch({ ...config, mode: 'noise2void' }, v, scratch('torch-export-n2v-')), /mode noise2void: only supervised recipes/);
  // A folder holding anything but an earlier export is not written into.
  const busy = scratch('torch-export-busy-');
  writeFileSync(path.join(busy, 'scan.dcm'), 'not ours');
  assert.throws(() => exportForTorch(config, v, busy), /holds other files \(scan\.dcm\): give an empty or new folder/);
  assert.equal(readFileSync(path.join(busy, 'scan.dcm'), 'utf8'), 'not ours');
  exportForTorch(config, v, dir); // an earlier export is written over
});

function python(code: string): string {
  const r = spawnSync(PYTHON, ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(path.dirname(TORCH_TRAINER))})\n${code}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('torch_train.py draws the noise models as noise/models.ts does (variance and neighbour correlation)', { skip: noTorch }, () => {
  const rng = new Rng(5);
  const stats = (field: () => Float32Array, P = 64, n = 150) => {
    let v = 0, c = 0;
    for (let k = 0; k < n; k++) {
      const a = field();
      for (let y = 0; y < P; y++) for (let x = 0; x < P; x++) { v += a[y * P + x]! ** 2; if (x + 1 < P) c += a[y * P + x]! * a[y * P + x + 1]!; }
    }
    return { variance: v / (n * P * P), lag1: c / (n * P * (P - 1)) / (v / (n * P * P)) };
  };
  const ts = {
    corr1: stats(() => correlatedField(64, 64, 1, rng)), corr15: stats(() => correlatedField(64, 64, 1.5, rng)),
    fbpStandard: stats(() => fbpField(64, 64, 'standard', rng)), fbpSmooth: stats(() => fbpField(64, 64, 'smooth', rng)),
  };
  const py = JSON.parse(python(`
import json, torch, torch_train as t
g = torch.Generator(); g.manual_seed(1)
def st(a):
    v = float((a ** 2).mean()); return {'variance': v, 'lag1': float((a[:, :, :-1] * a[:, :, 1:]).mean()) / v}
print(json.dumps({'corr1': st(t.correlated(150, 64, 1, 'cpu', g)), 'corr15': st(t.correlated(150, 64, 1.5, 'cpu', g)),
  'fbpStandard': st(t.fbp(150, 64, 'standard', 'cpu', g)), 'fbpSmooth': st(t.fbp(150, 64, 'smooth', 'cpu', g)),
  'white': st(t.noise_of({'kind': 'gaussian'}, 150, 64, 'cpu', g))}))`)) as Record<string, { variance: number; lag1: number }>;
  for (const [k, want] of Object.entries(ts)) {
    assert.ok(Math.abs(py[k]!.variance - 1) < 0.03 && Math.abs(want.variance - 1) < 0.03, `${k}: unit variance (${py[k]!.variance}, ${want.variance})`);
    assert.ok(Math.abs(py[k]!.lag1 - want.lag1) < 0.02, `${k}: neighbour correlation ${py[k]!.lag1.toFixed(3)} in PyTorch, ${want.lag1.toFixed(3)} in noise/models.ts`);
  }
  assert.ok(ts.corr1.lag1 > 0.7 && ts.fbpStandard.lag1 > 0.4 && Math.abs(py.white!.lag1) < 0.02, 'the fields are as correlated as their kinds');
});

test('torch_train.py names what is missing', { skip: noTorch }, () => {
  const empty = scratch('torch-missing-');
  const run = spawnSync(PYTHON, [TORCH_TRAINER, '--data', empty, '--out', path.join(empty, 'w'), '--device', 'cpu'], { encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /manifest\.json not found \(write the data with train:defaults/);
});

test('a short PyTorch run comes back as a tfjs model that computes what PyTorch computes, with its card', { skip: noTorch }, () => {
  const data = scratch('torch-run-data-'), weights = scratch('torch-run-weights-');
  const v = volumes();
  exportForTorch(config, v, data);
  const run = spawnSync(PYTHON, [TORCH_TRAINER, '--data', data, '--out', weights, '--steps', '30', '--device', 'cpu'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /DnCNN 4×8 .* batch 4×32², noise \['gaussian', 'correlated'\], loss noise-sd/);
  const { model, card, steps } = importFromTorch(config, v, weights, ['held-out.dcm']);
  assert.equal(steps, 30);
  assert.match(String(card.backend), /^pytorch .* on CPU$/);
  assert.equal((card.training?.config as { batchSize: number }).batchSize, 4);
  assert.deepEqual(card.data?.heldOut, ['held-out.dcm']);
  assert.equal(card.preprocessing.normalisationParams?.offset, -1100);

  // PyTorch's forward pass of the weights it wrote, on a real-looking input, against tfjs'.
  const h = 40, w = 56;
  const x = ctPhantomSlice(64, 0, 1, 3, 'head').subarray(0, h * w).map((hu) => (hu + 1100) / 4000);
  writeFileSync(path.join(data, 'x.bin'), x);
  python(`
import numpy as np, torch, torch_train as t
m = t.DnCNN(4, 8, 3, [1, 1])
for p, w in zip(m.parameters(), t.read_weights(${JSON.stringify(weights)})): p.data.copy_(w)
x = torch.from_numpy(np.fromfile(${JSON.stringify(path.join(data, 'x.bin'))}, dtype='<f4').reshape(1, 1, ${h}, ${w}))
m(x).detach().numpy().astype('<f4').tofile(${JSON.stringify(path.join(data, 'y.bin'))})`);
  const fromTorch = new Float32Array(readFileSync(path.join(data, 'y.bin')).buffer.slice(0));
  const fromTfjs = predict(model, x, h, w);
  assert.ok(maxDiff(fromTorch, x) > 1e-4, 'the trained network changes its input');
  assert.ok(maxDiff(fromTorch, fromTfjs) < 2e-6, `tfjs computes PyTorch's output (max difference ${maxDiff(fromTorch, fromTfjs)})`);
  model.dispose();

  // A checkpoint of an unfinished run is refused.
  const meta = JSON.parse(readFileSync(path.join(weights, 'weights.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(weights, 'weights.json'), JSON.stringify({ ...meta, partial: true, steps: 12 }));
  assert.throws(() => importFromTorch(config, v, weights, []), /a checkpoint of an unfinished run \(step 12\)/);
});
