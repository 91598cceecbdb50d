/**
 * Denoising autoencoder architectures, all built from one validated specification so a sweep can
 * vary any field. Every model maps [batch, H, W, 1] → [batch, H, W, 1] in normalised units:
 * - dense:   the classic fully connected DAE on flattened P×P patches (sigmoid output);
 * - conv-ae: convolutional encoder → bottleneck → decoder (optionally residual);
 * - dncnn:   residual CNN that predicts the noise (Zhang et al. 2017);
 * - unet:    small U-Net with skip connections (2–4 levels).
 * Only stride-1 convolutions with pooling/upsampling are used: they train on every backend.
 * dncnn and unet can also take the slice's noise level as a second input (`noiseMap`).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';

const Activation = z.enum(['relu', 'leaky_relu', 'elu']);
const Common = {
  kernelSize: z.number().int().min(1).max(9).refine((k) => k % 2 === 1, 'kernel size must be odd').default(3),
  activation: Activation.default('relu'),
  batchNorm: z.boolean().default(false),
  dropout: z.object({
    rate: z.number().min(0).max(0.9).default(0),
    /** 'bottleneck': after the narrowest layer only; 'every': after every hidden layer. */
    position: z.enum(['bottleneck', 'every']).default('bottleneck'),
  }).default({ rate: 0, position: 'bottleneck' }),
  /** Kernel regularisation, applied to the loss by the trainer. */
  l1: z.number().min(0).max(1).default(0),
  l2: z.number().min(0).max(1).default(0),
};

/**
 * How encoder–decoder networks change scale. 'max' + 'nearest' are the textbook U-Net; on noisy
 * images max pooling keeps the noise's largest sample (a bias that grows with σ) and nearest
 * upsampling copies each coarse pixel into a 2×2 block — the blocks a first U-Net showed on real
 * CT. 'average' + 'bilinear' pool like a low-pass filter and upsample smoothly.
 */
const Scaling = {
  pooling: z.enum(['max', 'average']).default('max'),
  upsampling: z.enum(['nearest', 'bilinear']).default('nearest'),
};

/**
 * FFDNet-style conditioning: a second input, 'noise_level', holds the slice's noise as constant
 * maps beside the image — the white-noise σ read at `scales` dyadic scales (noiseSigmaByScale: the
 * finest scale and coarser ones tell white from correlated noise), in network units × `gain` (so
 * the maps are of order 0.1–1 like the image). A blind network must guess the level from the
 * texture and settles on a compromise between levels; told it, it can remove all of a strong noise
 * and leave a faint one's anatomy alone.
 */
const NoiseMap = {
  noiseMap: z.object({
    scales: z.number().int().min(1).max(3).default(2),
    gain: z.number().positive().max(1e4).default(50),
  }).optional(),
};

export const ArchitectureSpec = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('dense'), ...Common,
    patchSize: z.number().int().min(4).max(64).default(28),
    hidden: z.array(z.number().int().min(1).max(4096)).min(1).max(8).default([128, 64, 32]),
    outputActivation: z.enum(['sigmoid', 'linear']).default('sigmoid'),
  }),
  z.object({
    kind: z.literal('conv-ae'), ...Common, ...Scaling,
    filters: z.array(z.number().int().min(1).max(512)).min(1).max(4).default([32, 64]),
    bottleneck: z.number().int().min(1).max(512).default(64),
    convsPerLevel: z.number().int().min(1).max(4).default(2),
    residual: z.boolean().default(false),
  }),
  z.object({
    kind: z.literal('dncnn'), ...Common, ...NoiseMap,
    depth: z.number().int().min(3).max(30).default(8),
    width: z.number().int().min(1).max(256).default(32),
    /**
     * Dilation of each hidden layer (depth − 2 of them; the first and last stay 1): a wider view at
     * the same cost, as IRCNN's 1,2,3,4,3,2,1 (receptive field 33 px instead of 17 for 8 layers).
     */
    dilations: z.array(z.number().int().min(1).max(8)).optional(),
    /**
     * 2: the body runs on the image's four 2×2 sub-images as channels (FFDNet's pixel unshuffle;
     * shuffled back before the residual): twice the view and a quarter of the positions per layer
     * — a wider, deeper network at the cost of a thinner one. CT noise from smooth kernels is
     * correlated over 1–2 px; split into sub-images it is nearly white.
     */
    downscale: z.union([z.literal(1), z.literal(2)]).optional(),
  }).superRefine((a, ctx) => {
    if ((a.downscale ?? 1) > 1 && a.noiseMap) ctx.addIssue({ code: 'custom', path: ['downscale'], message: 'a downscaled DnCNN takes no noise map' });
    if (!a.dilations) return;
    if (a.dilations.length !== a.depth - 2) ctx.addIssue({ code: 'custom', path: ['dilations'], message: `needs one dilation per hidden layer: ${a.depth - 2} for depth ${a.depth}, got ${a.dilations.length}` });
    // A dilated convolution trains only through tfjs's unfused path (its fused kernels have no
    // dilated gradient): its activation must be one the convolution can carry itself.
    if (a.dilations.some((d) => d > 1) && (a.batchNorm || a.activation === 'leaky_relu')) {
      ctx.addIssue({ code: 'custom', path: ['dilations'], message: 'dilated layers need activation relu or elu and no batch norm' });
    }
  }),
  z.object({
    kind: z.literal('unet'), ...Common, ...Scaling, ...NoiseMap,
    levels: z.number().int().min(2).max(4).default(3),
    baseFilters: z.number().int().min(1).max(128).default(16),
    convsPerLevel: z.number().int().min(1).max(3).default(2),
    residual: z.boolean().default(true),
  }),
]);
export type ArchitectureSpec = z.input<typeof ArchitectureSpec>;
export type Architecture = z.output<typeof ArchitectureSpec>;

/** Named starting points for the UI and for sweeps. */
export const ARCHITECTURE_PRESETS: Record<string, ArchitectureSpec> = {
  /** 784-128-64-32-64-128-784, sigmoid output: the textbook denoising autoencoder. */
  'dense-classic': { kind: 'dense', patchSize: 28, hidden: [128, 64, 32] },
  'conv-ae': { kind: 'conv-ae', filters: [32, 64], bottleneck: 64 },
  'dncnn-8x32': { kind: 'dncnn', depth: 8, width: 32 },
  'dncnn-17x64': { kind: 'dncnn', depth: 17, width: 64, batchNorm: true },
  /** IRCNN's dilations (2,3,4,3,2 and one more 1): 8×32's cost, twice its view (35 px) for spatially correlated noise. */
  'dncnn-8x32-dilated': { kind: 'dncnn', depth: 8, width: 32, dilations: [2, 3, 4, 3, 2, 1] },
  /** FFDNet's layout: the layers on the 2×2 sub-images — sees 45 px at ¾ of 8×32's cost per slice. */
  'dncnn-10x48-s2': { kind: 'dncnn', depth: 10, width: 48, downscale: 2 },
  'unet-3': { kind: 'unet', levels: 3, baseFilters: 16 },
  /** The same U-Net pooling by averages and upsampling bilinearly: no blocks, no noise-maximum bias. */
  'unet-3-smooth': { kind: 'unet', levels: 3, baseFilters: 16, pooling: 'average', upsampling: 'bilinear' },
};

export function parseArchitecture(spec: unknown): Architecture {
  const result = ArchitectureSpec.safeParse(spec);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`architecture.${issue.path.join('.') || 'kind'}: ${issue.message}`);
  }
  return result.data;
}

/** How the model reads the noise level it is told (undefined: a blind model). */
export function noiseMapOf(a: Architecture | { kind: 'imported' }): { scales: number; gain: number } | undefined {
  return a.kind === 'dncnn' || a.kind === 'unet' ? a.noiseMap : undefined;
}

/** How many noise-level maps the model takes beside the image (0: a blind model, one input). */
export function noiseMapScales(a: Architecture | { kind: 'imported' }): number {
  return noiseMapOf(a)?.scales ?? 0;
}

/** How the tiler must cut images for this model. */
export interface TilingNeeds {
  /** Pixels at a tile's edge whose output depends on what lies outside the tile. */
  margin: number;
  /** Tile origins and sizes must be multiples of this (pooling grids). */
  align: number;
  /** Dense models accept only this tile size. */
  fixedSize?: number;
}

/** Whether the network has batch-normalisation layers (their statistics depend on the whole batch). */
export function usesBatchNorm(a: Architecture): boolean {
  return a.kind !== 'dense' && a.batchNorm;
}

export function tilingNeeds(a: Architecture): TilingNeeds {
  const half = (a.kernelSize - 1) / 2;
  switch (a.kind) {
    case 'dense': return { margin: 0, align: 1, fixedSize: a.patchSize };
    case 'dncnn': {
      // The view in the body's pixels, × the sub-image step, and one more block for the unshuffle.
      const s = a.downscale ?? 1;
      const body = (2 + (a.dilations ?? Array<number>(a.depth - 2).fill(1)).reduce((sum, d) => sum + d, 0)) * half;
      return s === 1 ? { margin: body, align: 1 } : { margin: s * (body + 1), align: s };
    }
    case 'conv-ae':
    case 'unet': {
      const levels = a.kind === 'unet' ? a.levels : a.filters.length;
      const convs = a.convsPerLevel;
      let r = 0;
      // Encoder + decoder convs and pooling per level; a bilinear upsampling from level l + 1 reads
      // one more coarse pixel (2^(l+1) here) on each side.
      const bilinear = a.upsampling === 'bilinear' ? 1 : 0;
      for (let l = 0; l < levels; l++) r += 2 * convs * half * 2 ** l + 2 ** l + bilinear * 2 ** (l + 1);
      r += convs * half * 2 ** levels + 1; // bottleneck and output conv
      const align = 2 ** levels;
      return { margin: Math.ceil(r / align) * align, align };
    }
  }
}

/**
 * Pixel unshuffle / shuffle as fixed (untrainable) strided convolutions, layers every Keras and
 * tfjs version serialises: sub-image channel i·s + j holds pixel (s·y + i, s·x + j) — PyTorch's
 * pixel_unshuffle order, so torch_train.py's weights fit unchanged.
 */
function shuffleLayer(kind: typeof SHUFFLES[number], s: number): tf.layers.Layer {
  const args = { kernelSize: s, strides: s, padding: 'valid' as const, useBias: false, trainable: false, name: kind };
  return kind === 'space_to_depth' ? tf.layers.conv2d({ ...args, filters: s * s }) : tf.layers.conv2dTranspose({ ...args, filters: 1 });
}

const SHUFFLES = ['space_to_depth', 'depth_to_space'] as const;

/** Whether a weight is a pixel (un)shuffle kernel: fixed, and rebuilt from the topology by fixPixelShuffles. */
export function isPixelShuffleWeight(w: { originalName: string }): boolean {
  return SHUFFLES.some((n) => w.originalName.startsWith(`${n}/`));
}

/**
 * Gives a network's pixel (un)shuffle layers their fixed kernels and takes their variables out of
 * training. Needed wherever a network is built from its topology alone (buildModel, a
 * data-parallel helper's replica): the kernels are not in the topology, and tfjs leaves a layer
 * built with `trainable: false` with trainable variables (an optimiser given no list would move them).
 */
export function fixPixelShuffles(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (!(SHUFFLES as readonly string[]).includes(layer.name)) continue;
    const [h, w] = layer.getWeights()[0]!.shape as number[];
    const kernel = new Float32Array(h! * w! * h! * w!);
    for (let i = 0; i < h!; i++) for (let j = 0; j < w!; j++) kernel[(i * w! + j) * h! * w! + i * w! + j] = 1; // [i, j, 0, i·s + j]
    tf.tidy(() => layer.setWeights([tf.tensor4d(kernel, [h!, w!, 1, h! * w!])]));
    layer.trainable = false;
  }
}

function activationLayer(a: Architecture, name: string): tf.layers.Layer {
  switch (a.activation) {
    case 'relu': return tf.layers.reLU({ name });
    case 'leaky_relu': return tf.layers.leakyReLU({ alpha: 0.2, name });
    case 'elu': return tf.layers.elu({ name });
  }
}

class Builder {
  private n = 0;
  constructor(private readonly a: Architecture, private readonly seed: number) {}

  /** Seeded initialisers: the same spec and seed give the same starting weights. */
  init(): ReturnType<typeof tf.initializers.heNormal> {
    return tf.initializers.heNormal({ seed: this.seed * 1000 + ++this.n });
  }

  private name(kind: string): string {
    return `${kind}_${++this.n}`;
  }

  conv(x: tf.SymbolicTensor, filters: number, opts: { act?: boolean; bn?: boolean; dropout?: boolean; dilation?: number; zeros?: boolean } = {}): tf.SymbolicTensor {
    const { act = true, bn = this.a.batchNorm, dropout = false, dilation = 1, zeros = false } = opts;
    if (dilation > 1) {
      // The activation inside the layer: under gradients tfjs then runs conv2d + bias + activation
      // unfused, whose Conv2D gradient handles dilation (dilated-gradients.ts); a linear layer
      // would always take the fused kernel, whose gradient refuses dilation.
      const y = tf.layers.conv2d({
        filters, kernelSize: this.a.kernelSize, padding: 'same', dilationRate: dilation, activation: this.a.activation as 'relu' | 'elu',
        kernelInitializer: this.init(), name: this.name('conv'),
      }).apply(x) as tf.SymbolicTensor;
      return this.maybeDropout(y, dropout);
    }
    let y = tf.layers.conv2d({
      filters, kernelSize: this.a.kernelSize, padding: 'same', useBias: !bn || !act,
      kernelInitializer: zeros ? 'zeros' : this.init(), name: this.name('conv'),
    }).apply(x) as tf.SymbolicTensor;
    if (bn && act) y = tf.layers.batchNormalization({ name: this.name('bn') }).apply(y) as tf.SymbolicTensor;
    if (act) y = activationLayer(this.a, this.name('act')).apply(y) as tf.SymbolicTensor;
    return this.maybeDropout(y, dropout);
  }

  maybeDropout(x: tf.SymbolicTensor, atBottleneck: boolean): tf.SymbolicTensor {
    const { rate, position } = this.a.dropout;
    if (rate <= 0 || (position === 'bottleneck' && !atBottleneck)) return x;
    return tf.layers.dropout({ rate, seed: this.seed + this.n, name: this.name('dropout') }).apply(x) as tf.SymbolicTensor;
  }

  pool(x: tf.SymbolicTensor, kind: 'max' | 'average'): tf.SymbolicTensor {
    const args = { poolSize: 2, strides: 2, name: this.name('pool') } as const;
    return (kind === 'average' ? tf.layers.averagePooling2d(args) : tf.layers.maxPooling2d(args)).apply(x) as tf.SymbolicTensor;
  }

  up(x: tf.SymbolicTensor, interpolation: 'nearest' | 'bilinear'): tf.SymbolicTensor {
    return tf.layers.upSampling2d({ size: [2, 2], interpolation, name: this.name('up') }).apply(x) as tf.SymbolicTensor;
  }

  add(a: tf.SymbolicTensor, b: tf.SymbolicTensor): tf.SymbolicTensor {
    return tf.layers.add({ name: this.name('residual') }).apply([a, b]) as tf.SymbolicTensor;
  }
}

export function buildModel(spec: ArchitectureSpec, options: { name?: string; seed?: number } = {}): tf.LayersModel {
  const a = parseArchitecture(spec);
  const name = options.name ?? 'denoiser';
  const b = new Builder(a, options.seed ?? 1);
  if (a.kind === 'dense') {
    const p = a.patchSize;
    const input = tf.input({ shape: [p, p, 1], name: 'image' });
    let x = tf.layers.flatten({ name: 'flatten' }).apply(input) as tf.SymbolicTensor;
    // Encoder down to the code, then the mirror image back up.
    const widths = [...a.hidden, ...a.hidden.slice(0, -1).reverse()];
    const codeIndex = a.hidden.length - 1;
    widths.forEach((units, i) => {
      x = tf.layers.dense({ units, kernelInitializer: b.init(), name: `dense_${i + 1}` }).apply(x) as tf.SymbolicTensor;
      if (a.batchNorm) x = tf.layers.batchNormalization({ name: `bn_${i + 1}` }).apply(x) as tf.SymbolicTensor;
      x = activationLayer(a, `act_${i + 1}`).apply(x) as tf.SymbolicTensor;
      x = b.maybeDropout(x, i === codeIndex);
    });
    x = tf.layers.dense({ units: p * p, activation: a.outputActivation, name: 'reconstruction' }).apply(x) as tf.SymbolicTensor;
    const output = tf.layers.reshape({ targetShape: [p, p, 1], name: 'image_out' }).apply(x) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: output, name });
  }
  const input = tf.input({ shape: [null, null, 1], name: 'image' });
  const levels = noiseMapScales(a) ? tf.input({ shape: [null, null, noiseMapScales(a)], name: 'noise_level' }) : undefined;
  const inputs = levels ? [input, levels] : input;
  // The body sees the image and the noise maps; a residual adds back the image alone.
  const seen = levels ? tf.layers.concatenate({ name: 'with_noise_level' }).apply([input, levels]) as tf.SymbolicTensor : input;
  let x: tf.SymbolicTensor;
  switch (a.kind) {
    case 'dncnn': {
      const s = a.downscale ?? 1;
      x = b.conv(s > 1 ? shuffleLayer('space_to_depth', s).apply(seen) as tf.SymbolicTensor : seen, a.width, { bn: false });
      const middle = Math.floor((a.depth - 2) / 2);
      for (let i = 0; i < a.depth - 2; i++) x = b.conv(x, a.width, { dropout: i === middle, dilation: a.dilations?.[i] ?? 1 });
      // Downscaled, the last layer starts at zero (the network at identity): from He-normal weights
      // a 10×48 run stayed at the do-nothing loss for 1300 steps (its first outputs were far off).
      let noise = b.conv(x, s * s, { act: false, zeros: s > 1 });
      if (s > 1) noise = shuffleLayer('depth_to_space', s).apply(noise) as tf.SymbolicTensor;
      // The body learns −noise; adding keeps to layers Keras and tfjs both serialise.
      const model = tf.model({ inputs, outputs: b.add(input, noise), name });
      fixPixelShuffles(model);
      return model;
    }
    case 'conv-ae': {
      x = input;
      for (const filters of a.filters) {
        for (let c = 0; c < a.convsPerLevel; c++) x = b.conv(x, filters);
        x = b.pool(x, a.pooling);
      }
      x = b.conv(x, a.bottleneck, { dropout: true });
      for (const filters of [...a.filters].reverse()) {
        x = b.up(x, a.upsampling);
        for (let c = 0; c < a.convsPerLevel; c++) x = b.conv(x, filters);
      }
      const out = b.conv(x, 1, { act: false });
      return tf.model({ inputs: input, outputs: a.residual ? b.add(input, out) : out, name });
    }
    case 'unet': {
      x = seen;
      const skips: tf.SymbolicTensor[] = [];
      for (let l = 0; l < a.levels; l++) {
        for (let c = 0; c < a.convsPerLevel; c++) x = b.conv(x, a.baseFilters * 2 ** l);
        skips.push(x);
        x = b.pool(x, a.pooling);
      }
      for (let c = 0; c < a.convsPerLevel; c++) x = b.conv(x, a.baseFilters * 2 ** a.levels, { dropout: c === 0 });
      for (let l = a.levels - 1; l >= 0; l--) {
        x = b.up(x, a.upsampling);
        x = tf.layers.concatenate({ name: `skip_${l}` }).apply([x, skips[l]!]) as tf.SymbolicTensor;
        for (let c = 0; c < a.convsPerLevel; c++) x = b.conv(x, a.baseFilters * 2 ** l);
      }
      const out = b.conv(x, 1, { act: false });
      return tf.model({ inputs, outputs: a.residual ? b.add(input, out) : out, name });
    }
  }
}

/**
 * A blind model's network with the noise-level input added (`spec` is its architecture plus
 * `noiseMap`): every weight copied, the first convolution's kernel given zero weights for the new
 * maps — so it starts out denoising exactly as the blind model did, and fine-tuning teaches it to
 * use the level rather than relearning the image from scratch.
 */
export function withNoiseLevelInput(blind: tf.LayersModel, spec: ArchitectureSpec, options: { name?: string; seed?: number } = {}): tf.LayersModel {
  const a = parseArchitecture(spec);
  if (!noiseMapScales(a)) throw new Error('withNoiseLevelInput: the architecture has no noiseMap');
  if (blind.inputs.length !== 1) throw new Error('withNoiseLevelInput: the model already takes more than the image');
  const model = buildModel(spec, { name: options.name ?? blind.name, seed: options.seed });
  const weighted = (m: tf.LayersModel) => m.layers.filter((l) => l.getWeights().length > 0);
  const from = weighted(blind), to = weighted(model);
  if (from.length !== to.length) {
    model.dispose();
    throw new Error(`withNoiseLevelInput: ${from.length} weighted layers in the model, ${to.length} in the architecture: not the same network`);
  }
  tf.tidy(() => from.forEach((layer, k) => {
    const target = to[k]!.getWeights();
    to[k]!.setWeights(layer.getWeights().map((w, j) => {
      const shape = target[j]!.shape;
      if (w.shape.join() === shape.join()) return w;
      // The first kernel, [k, k, 1, filters] → [k, k, 1 + scales, filters]: zeros for the maps.
      if (k === 0 && j === 0 && w.rank === 4 && w.shape[2] === 1) return tf.concat([w, tf.zeros([w.shape[0]!, w.shape[1]!, shape[2]! - 1, w.shape[3]!])], 2);
      throw new Error(`withNoiseLevelInput: layer ${layer.name} holds ${w.shape.join('×')} weights, the architecture ${shape.join('×')}`);
    }));
  }));
  return model;
}

/** Kernel weights (not biases, not batch-norm) for L1/L2 penalties. */
export function kernelWeights(model: tf.LayersModel): tf.LayerVariable[] {
  return model.trainableWeights.filter((w) => /kernel$/.test(w.originalName));
}

export function parameterCount(model: tf.LayersModel): number {
  return model.countParams();
}
