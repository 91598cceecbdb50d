/**
 * The model card (`model-card.json`): what a model is for, how it was made, and — what inference
 * depends on — exactly which preprocessing it expects. Validated on every load.
 */
import { z } from 'zod';
import { NoiseSpec } from '../noise/models.js';
import { NormalisationSpec } from '../preprocess/normalise.js';
import { PixelImputation, SliceImputation } from '../preprocess/impute.js';
import { ArchitectureSpec } from './architectures.js';

export const Preprocessing = z.object({
  normalisation: NormalisationSpec,
  /** Fitted parameters when the normalisation scope is 'dataset' (training statistics). */
  normalisationParams: z.object({
    offset: z.number(), scale: z.number().positive(),
    clipLow: z.number().nullable(), clipHigh: z.number().nullable(),
  }).optional(),
  imputation: PixelImputation.default({ method: 'nearest' }),
  sliceImputation: SliceImputation.default('linear'),
});
export type Preprocessing = z.output<typeof Preprocessing>;

const EpochRecord = z.object({
  epoch: z.number().int(), trainLoss: z.number(), valLoss: z.number().nullable(),
  valPsnr: z.number().nullable(), valSsim: z.number().nullable(), learningRate: z.number(), seconds: z.number(),
});

export const ModelCard = z.object({
  name: z.string().min(1).max(200),
  version: z.string().min(1).max(50),
  description: z.string().max(5000).optional(),
  task: z.object({
    modality: z.enum(['CT', 'MR', 'any']),
    /** The noise the model was trained to remove (levels or ranges). */
    noise: z.array(NoiseSpec).optional(),
    mode: z.enum(['supervised', 'noise2void', 'noise2noise', 'recorrupted']).optional(),
  }),
  /** Our own spec, or `{ kind: 'imported' }` for a model converted from Keras. */
  architecture: z.union([ArchitectureSpec, z.object({ kind: z.literal('imported'), summary: z.string().optional() })]),
  preprocessing: Preprocessing,
  training: z.object({
    config: z.record(z.string(), z.unknown()).optional(),
    epochs: z.number().int().nonnegative().optional(),
    history: z.array(EpochRecord).optional(),
    seconds: z.number().nonnegative().optional(),
    parameters: z.number().int().nonnegative().optional(),
  }).optional(),
  data: z.object({
    series: z.number().int().nonnegative(),
    slices: z.number().int().nonnegative(),
    modalities: z.array(z.string()),
    sources: z.array(z.object({ name: z.string(), licence: z.string().optional() })).default([]),
    heldOut: z.array(z.string()).optional(),
  }).optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  /**
   * What the shipped defaults carry as their evidence (models/recipes/card-evidence.ts): the
   * held-out benchmark with its targets, the experiments that chose the recipe (a leaderboard),
   * and the bias report over real series.
   */
  evidence: z.record(z.string(), z.unknown()).optional(),
  backend: z.string().optional(),
  created: z.string().optional(),
  /**
   * Inference: `noiseGuard` caps what the model may remove from a slice at that many times the
   * noise estimated in it (so a low-noise image is never smoothed into a worse one); null: off.
   * The guard itself is src-main/model/noise-guard.ts.
   */
  inference: z.object({
    noiseGuard: z.number().positive().max(10).nullable().default(1),
    /**
     * How many dyadic scales the guard's noise bound looks at (1: the finest only; 2: also the
     * image binned 2×2; 3: also 4×4). Coarser scales see correlated noise — CT's, whose
     * reconstruction kernels move it to lower frequencies — but also more anatomy: more scales,
     * a looser guard.
     */
    noiseGuardScales: z.number().int().min(1).max(3).default(2),
    /**
     * The local guard (see noise-guard.ts): where what the model removed has more energy over a
     * 5×5 neighbourhood than this many times the noise variance, it is scaled down there — edges
     * the model took for noise are kept. null: off (cards before it).
     */
    noiseGuardLocal: z.number().positive().max(100).nullable().default(null),
    /**
     * Keep only the share of the model's removal that lowers Stein's unbiased risk estimate of its
     * error (risk-estimate.ts): one more pass of the network per slice. For white noise (MR); off
     * for cards before it.
     */
    riskWeighting: z.boolean().default(false),
    /**
     * The noise the risk estimate assumes: 'white' (MR), or 'spectrum' — its correlation measured
     * from the slice's flattest tissue (CT: the reconstruction kernel correlates it), the probe
     * drawn with that correlation and σ its total power. White-noise weighting read CT's
     * correlated noise as anatomy and kept it.
     */
    riskNoise: z.enum(['white', 'spectrum']).default('white'),
    /**
     * Put back the low-pass (a Gaussian of this many pixels for white noise; further out where the
     * slice's noise spectrum is correlated: lowPassScale) of what the model removed, after the
     * guards: noise has no local mean, so that share is tissue values or anatomy (noise-guard.ts
     * keepLowFrequencies). null: off (cards before it).
     */
    keepLowFrequencies: z.number().positive().max(64).nullable().default(null),
  }).default({ noiseGuard: 1, noiseGuardScales: 2, noiseGuardLocal: null, riskWeighting: false, riskNoise: 'white', keepLowFrequencies: null }),
  /** The model this one was fine-tuned from, and how that model scored on this run's validation data. */
  parent: z.object({
    name: z.string(), version: z.string(), folder: z.string().optional(),
    validation: z.object({ loss: z.number().nullable(), psnr: z.number().nullable(), ssim: z.number().nullable() }).optional(),
  }).optional(),
  /** "Adapt to this series": the series this model was fine-tuned on, self-supervised. */
  adaptedTo: z.object({ seriesInstanceUid: z.string(), description: z.string().optional() }).optional(),
  /** The command line that reproduces the model. */
  command: z.string().optional(),
});
export type ModelCard = z.output<typeof ModelCard>;
export type ModelCardInput = z.input<typeof ModelCard>;

export function parseModelCard(json: unknown, file: string): ModelCard {
  const result = ModelCard.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`${file}: field '${issue.path.join('.') || '(root)'}': ${issue.message}`);
  }
  return result.data;
}
