/**
 * The training form as plain data: presets that fill it, and the training config it becomes.
 * The engine's schema (src-main/model/train-config.ts) stays the judge of what is valid; the
 * server answers with the first bad field, which the form shows beside the Start button.
 */

export type ArchKind = 'dncnn' | 'unet' | 'conv-ae' | 'dense';
export type NoiseKind = 'gaussian' | 'correlated' | 'fbp' | 'rician' | 'poisson' | 'speckle';
export type ScheduleKind = 'constant' | 'cosine' | 'step' | 'exponential' | 'plateau';

export interface TrainForm {
  name: string;
  arch: ArchKind;
  /** dncnn */
  depth: number;
  width: number;
  /** dncnn: dilation of each hidden layer, comma separated; empty: none */
  dilations: string;
  /** dncnn: the body runs on the 2×2 sub-images (architecture.downscale 2, FFDNet-style) */
  subImages: boolean;
  /** unet */
  levels: number;
  baseFilters: number;
  /** conv-ae: filters per level, comma separated */
  filters: string;
  bottleneck: number;
  /** dense: hidden sizes, comma separated, and the (square) patch side */
  hidden: string;
  densePatch: number;
  kernelSize: number;
  activation: 'relu' | 'leaky_relu' | 'elu';
  batchNorm: boolean;
  /** dncnn, unet: the network is told each slice's noise level (architecture.noiseMap, FFDNet-style) */
  noiseLevelInput: boolean;
  dropout: number;
  l2: number;
  mode: 'supervised' | 'noise2void' | 'noise2noise' | 'recorrupted';
  optimizer: 'adam' | 'sgd' | 'rmsprop';
  learningRate: number;
  schedule: ScheduleKind;
  /** step: every N epochs; exponential: start epoch; plateau: patience */
  scheduleEpochs: number;
  /** step / plateau: factor; exponential: rate per epoch; cosine: final rate */
  scheduleValue: number;
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  patchSize: number;
  /** 0 turns early stopping off */
  patience: number;
  validationFraction: number;
  seed: number;
  noiseKind: NoiseKind;
  noiseMin: number;
  noiseMax: number;
  noiseUnits: 'absolute' | 'percent';
  /** Sample levels log-uniformly (low levels as often as high ones). */
  noiseLog: boolean;
  /** Supervised loss per patch: plain, ÷ its noise σ, or ÷ its noise power (train-config's lossWeighting). */
  lossWeighting: 'uniform' | 'noise-sd' | 'noise-level';
  /** U-Net and convolutional autoencoder: how they change scale (architecture pooling/upsampling). */
  pooling: 'max' | 'average';
  upsampling: 'nearest' | 'bilinear';
}

export const DEFAULT_FORM: TrainForm = {
  name: 'my-denoiser', arch: 'dncnn', depth: 8, width: 32, dilations: '', subImages: false, levels: 3, baseFilters: 16, filters: '32, 64', bottleneck: 64,
  hidden: '128, 64, 32', densePatch: 28, kernelSize: 3, activation: 'relu', batchNorm: false, noiseLevelInput: false, dropout: 0, l2: 0,
  mode: 'supervised', optimizer: 'adam', learningRate: 1e-3, schedule: 'cosine', scheduleEpochs: 10, scheduleValue: 2e-5,
  epochs: 20, stepsPerEpoch: 40, batchSize: 16, patchSize: 64, patience: 8, validationFraction: 0.15, seed: 1,
  noiseKind: 'gaussian', noiseMin: 5, noiseMax: 50, noiseUnits: 'absolute', noiseLog: true, lossWeighting: 'uniform', pooling: 'max', upsampling: 'nearest',
};

export interface FormPreset { label: string; values: Partial<TrainForm> }

/** Starting points; every field stays editable after choosing one. */
export const FORM_PRESETS: Record<string, FormPreset> = {
  'dncnn-8x32': { label: 'DnCNN 8×32 (as the shipped defaults until CT 1.1.1)', values: { arch: 'dncnn', depth: 8, width: 32, dilations: '', subImages: false, batchNorm: false, kernelSize: 3, learningRate: 1e-3, schedule: 'cosine', scheduleValue: 2e-5, patchSize: 64 } },
  'dncnn-8x32-dilated': { label: 'DnCNN 8×32 dilated 2,3,4,3,2,1 (IRCNN: sees 35 px, for correlated CT noise; same cost)', values: { arch: 'dncnn', depth: 8, width: 32, dilations: '2, 3, 4, 3, 2, 1', subImages: false, batchNorm: false, activation: 'relu', kernelSize: 3, learningRate: 1e-3, schedule: 'cosine', scheduleValue: 2e-5, patchSize: 64 } },
  'dncnn-10x48-s2': { label: 'DnCNN 10×48 on 2×2 sub-images (FFDNet-style: sees 45 px at ¾ of 8×32\'s cost)', values: { arch: 'dncnn', depth: 10, width: 48, dilations: '', subImages: true, batchNorm: false, activation: 'relu', kernelSize: 3, learningRate: 1e-3, schedule: 'cosine', scheduleValue: 2e-5, patchSize: 64 } },
  'dncnn-17x64': { label: 'DnCNN 17×64 + batch norm (Zhang et al. 2017; slow on CPU)', values: { arch: 'dncnn', depth: 17, width: 64, dilations: '', subImages: false, batchNorm: true, learningRate: 1e-3, schedule: 'step', scheduleEpochs: 30, scheduleValue: 0.1, patchSize: 48 } },
  'unet-3': { label: 'U-Net, 3 levels × 16 filters', values: { arch: 'unet', levels: 3, baseFilters: 16, pooling: 'max', upsampling: 'nearest', learningRate: 1e-3, schedule: 'cosine', scheduleValue: 2e-5, patchSize: 64 } },
  'unet-3-smooth': { label: 'U-Net, 3 levels × 16 filters, average pooling + bilinear upsampling (no 2×2 blocks)', values: { arch: 'unet', levels: 3, baseFilters: 16, pooling: 'average', upsampling: 'bilinear', learningRate: 1e-3, schedule: 'cosine', scheduleValue: 2e-5, patchSize: 64 } },
  'conv-ae': { label: 'Convolutional autoencoder 32-64, bottleneck 64', values: { arch: 'conv-ae', filters: '32, 64', bottleneck: 64, learningRate: 1e-3, schedule: 'constant', patchSize: 64 } },
  'dense-classic': { label: 'Dense DAE 784-128-64-32-64-128-784 (sigmoid, MSE, Adam)', values: { arch: 'dense', hidden: '128, 64, 32', densePatch: 28, learningRate: 1e-3, schedule: 'constant', batchSize: 64 } },
  'quick': { label: 'Quick check: tiny DnCNN, 2 short epochs', values: { arch: 'dncnn', depth: 4, width: 8, dilations: '', subImages: false, epochs: 2, stepsPerEpoch: 4, batchSize: 8, patchSize: 32, schedule: 'constant', patience: 0 } },
};

export function applyPreset(form: TrainForm, key: string): TrainForm {
  const preset = FORM_PRESETS[key];
  if (!preset) throw new Error(`unknown preset ${key}`);
  return { ...form, ...preset.values };
}

/** Noise the modality usually has, as the form's starting point when a series is opened. */
export function noiseDefaults(modality: string | undefined): Pick<TrainForm, 'noiseKind' | 'noiseMin' | 'noiseMax' | 'noiseUnits'> {
  return modality === 'MR'
    ? { noiseKind: 'rician', noiseMin: 1, noiseMax: 10, noiseUnits: 'percent' }
    : { noiseKind: 'gaussian', noiseMin: 5, noiseMax: 50, noiseUnits: 'absolute' };
}

/** "32, 64" → [32, 64]; a malformed entry stays NaN so the schema names the field. */
export function parseList(text: string): number[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
}

function architecture(f: TrainForm): Record<string, unknown> {
  const common = { kernelSize: f.kernelSize, activation: f.activation, batchNorm: f.batchNorm, dropout: { rate: f.dropout }, l2: f.l2 };
  const level = f.noiseLevelInput ? { noiseMap: { scales: 2 } } : {};
  switch (f.arch) {
    case 'dncnn': return { kind: 'dncnn', depth: f.depth, width: f.width, ...(f.dilations.trim() ? { dilations: parseList(f.dilations) } : {}), ...(f.subImages ? { downscale: 2 } : {}), ...common, ...level };
    case 'unet': return { kind: 'unet', levels: f.levels, baseFilters: f.baseFilters, pooling: f.pooling, upsampling: f.upsampling, ...common, ...level };
    case 'conv-ae': return { kind: 'conv-ae', filters: parseList(f.filters), bottleneck: f.bottleneck, pooling: f.pooling, upsampling: f.upsampling, ...common };
    case 'dense': return { kind: 'dense', hidden: parseList(f.hidden), patchSize: f.densePatch, activation: f.activation, dropout: { rate: f.dropout }, l2: f.l2 };
  }
}

function schedule(f: TrainForm): Record<string, unknown> {
  switch (f.schedule) {
    case 'constant': return { kind: 'constant' };
    case 'cosine': return { kind: 'cosine', minRate: f.scheduleValue };
    case 'step': return { kind: 'step', every: f.scheduleEpochs, factor: f.scheduleValue };
    case 'exponential': return { kind: 'exponential', startEpoch: f.scheduleEpochs, rate: f.scheduleValue };
    case 'plateau': return { kind: 'plateau', patience: f.scheduleEpochs, factor: f.scheduleValue };
  }
}

function noise(f: TrainForm): Record<string, unknown> {
  const level = { min: f.noiseMin, max: f.noiseMax, ...(f.noiseLog ? { distribution: 'log-uniform' } : {}) };
  switch (f.noiseKind) {
    case 'poisson': return { kind: 'poisson', photons: level };
    case 'speckle': return { kind: 'speckle', sigma: level };
    case 'fbp': return { kind: 'fbp', sigma: level, units: f.noiseUnits, kernel: 'standard' };
    default: return { kind: f.noiseKind, sigma: level, units: f.noiseUnits };
  }
}

/** The training config the engine validates (TrainConfig in src-main/model/train-config.ts). */
export function buildTrainConfig(f: TrainForm, modality: string | undefined, preprocessing: { normalisation: unknown; imputation: unknown }): Record<string, unknown> {
  return {
    name: f.name.trim(),
    modality: modality === 'CT' || modality === 'MR' ? modality : 'any',
    architecture: architecture(f),
    preprocessing: { ...preprocessing, sliceImputation: 'linear' },
    mode: f.mode,
    noise: [noise(f)],
    optimizer: { kind: f.optimizer, learningRate: f.learningRate },
    schedule: schedule(f),
    epochs: f.epochs,
    stepsPerEpoch: f.stepsPerEpoch,
    batchSize: f.batchSize,
    patchSize: f.patchSize,
    lossWeighting: f.lossWeighting,
    validation: { fraction: f.validationFraction, patches: 64 },
    earlyStopping: f.patience > 0 ? { patience: f.patience, restoreBest: true } : null,
    seed: f.seed,
  };
}
