/**
 * `npm run make:sample`: regenerates the bundled sample study models/sample-study/ — a
 * low-dose-looking CT of the project's abdomen phantom (12 slices, 512×512, correlated noise
 * σ ≈ 30 HU), so a first-time user has something to open and denoise. Seeded: same files
 * (apart from UIDs) every time. No real patient is involved.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticSeries } from '../../src-main/dicom/synthetic.js';
import { addNoise } from '../../src-main/noise/models.js';
import { ctPhantomSlice } from '../../src-main/noise/phantom.js';
import { Rng } from '../../src-main/noise/rng.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = path.join(ROOT, 'models', 'sample-study', 'ct-abdomen-phantom-lowdose');
rmSync(path.dirname(out), { recursive: true, force: true });
const slices = 12;
const result = await writeSyntheticSeries(slices, (i) => {
  const clean = ctPhantomSlice(512, i, slices, 424242, 'abdomen');
  return addNoise(clean, 512, 512, { kind: 'correlated', sigma: 30, correlation: 1 }, new Rng(777 + i)).noisy;
}, {
  outDir: out, modality: 'CT', rows: 512, columns: 512, pixelSpacing: 0.75, sliceSpacing: 2.5,
  seriesDescription: 'Abdomen phantom, low dose (sample)', seriesNumber: 2,
});
console.log(`wrote ${result.files.length} slices to ${path.relative(ROOT, result.outDir)}`);
