/**
 * Everything a training run needs, validated in one schema: the form in the UI, the CLI's
 * `--config` file and each point of a sweep are all this object.
 */
import { z } from 'zod';
import { NoiseSpec } from '../noise/models.js';
import { ArchitectureSpec } from './architectures.js';
import { Preprocessing } from './model-card.js';

export const ScheduleSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant') }),
  /** Multiply by `factor` every `every` epochs. */
  z.object({ kind: z.literal('step'), every: z.number().int().min(1).default(10), factor: z.number().positive().max(1).default(0.5) }),
  /** Keep the rate until `startEpoch`, then multiply it by exp(−rate) each epoch. */
  z.object({ kind: z.literal('exponential'), startEpoch: z.number().int().min(0).default(50), rate: z.number().positive().default(0.01) }),
  /** Cosine from the initial rate down to `minRate` over the run. */
  z.object({ kind: z.literal('cosine'), minRate: z.number().min(0).default(0) }),
  /** Multiply by `factor` when validation loss has not improved for `patience` epochs. */
  z.object({
    kind: z.literal('plateau'), factor: z.number().positive().max(1).default(0.5),
    patience: z.number().int().min(1).default(3), minRate: z.number().min(0).default(1e-6),
  }),
]);
export type ScheduleSpec = z.output<typeof ScheduleSpec>;

export const TrainConfig = z.object({
  name: z.string().min(1).max(200).default('custom-denoiser'),
  version: z.string().min(1).max(50).default('1.0.0'),
  modality: z.enum(['CT', 'MR', 'any']).default('any'),
  architecture: ArchitectureSpec.prefault({ kind: 'dncnn', depth: 8, width: 32 }),
  preprocessing: Preprocessing.prefault({
    normalisation: { kind: 'percentile', scope: 'slice', low: 0.5, high: 99.5 },
    imputation: { method: 'nearest' }, sliceImputation: 'linear',
  }),
  /**
   * supervised: clean data + synthetic noise. Noisy data only: noise2void (blind spots),
   * noise2noise (neighbouring slices), recorrupted (Recorrupted-to-Recorrupted, Pang et al. 2021:
   * each series' own noise power spectrum is measured, and a patch y becomes the pair
   * y + α·n → y − n/α with n drawn from it — for Gaussian noise of that spectrum, as good as
   * clean targets in expectation, correlated CT noise included).
   */
  mode: z.enum(['supervised', 'noise2void', 'noise2noise', 'recorrupted']).default('supervised'),
  recorrupted: z.object({
    /** Input noise is (1 + α²) × the series' own; the target's is the rest. */
    alpha: z.number().min(0.1).max(2).default(0.5),
  }).default({ alpha: 0.5 }),
  /** Noise added in supervised mode; one of these is drawn for each patch. */
  noise: z.array(NoiseSpec).min(1).default([{ kind: 'gaussian', sigma: { min: 5, max: 50 }, units: 'absolute' }]),
  optimizer: z.object({
    kind: z.enum(['adam', 'sgd', 'rmsprop']).default('adam'),
    learningRate: z.number().positive().max(10).default(1e-3),
    /** SGD momentum and RMSprop momentum. */
    momentum: z.number().min(0).max(0.999).default(0.9),
  }).default({ kind: 'adam', learningRate: 1e-3, momentum: 0.9 }),
  schedule: ScheduleSpec.default({ kind: 'constant' }),
  epochs: z.number().int().min(1).max(10000).default(20),
  stepsPerEpoch: z.number().int().min(1).max(100000).default(50),
  batchSize: z.number().int().min(1).max(512).default(16),
  /** Patch side (dense models use their own patch size). */
  patchSize: z.number().int().min(8).max(512).default(64),
  augment: z.boolean().default(true),
  /**
   * Supervised loss per patch: 'uniform' — plain MSE, dominated by the noisiest patches (a 50 HU
   * patch weighs 25× a 10 HU one); 'noise-level' — each patch's squared error divided by the power
   * of the noise it was given, so every level counts as much in dB (low-noise skill is not traded
   * for high-noise skill); 'noise-sd' — divided by the noise's standard deviation, halfway between
   * (a 50 HU patch weighs 5× a 10 HU one): 'noise-level' was tried on CT and traded high-noise
   * skill for low-noise skill the other way.
   */
  lossWeighting: z.enum(['uniform', 'noise-sd', 'noise-level']).default('uniform'),
  /** Patches with more padding/air than this are resampled. */
  maxEmptyFraction: z.number().min(0).max(1).default(0.6),
  validation: z.object({
    fraction: z.number().min(0).max(0.9).default(0.2),
    patches: z.number().int().min(0).max(10000).default(64),
  }).default({ fraction: 0.2, patches: 64 }),
  earlyStopping: z.object({
    patience: z.number().int().min(1).default(10),
    /** Smaller improvements of the monitored loss do not count. */
    minDelta: z.number().min(0).default(0),
    restoreBest: z.boolean().default(true),
  }).nullable().default({ patience: 10, minDelta: 0, restoreBest: true }),
  noise2void: z.object({
    /** Fraction of pixels per patch hidden from the network. */
    maskFraction: z.number().positive().max(0.2).default(0.02),
    /** Replacement values come from this neighbourhood. */
    radius: z.number().int().min(1).max(5).default(2),
    /**
     * structN2V: also hide the square of this radius around a blind spot behind random values —
     * for spatially correlated noise (CT's filtered back-projection), which a network would
     * otherwise predict from the neighbours. 0: plain N2V.
     */
    structRadius: z.number().int().min(0).max(6).default(0),
  }).default({ maskFraction: 0.02, radius: 2, structRadius: 0 }),
  /**
   * When training starts from another model (`train --init`): how many of its first weighted
   * layers stay frozen, and over how many optimiser steps the learning rate ramps up to its value
   * (a fresh optimiser's first steps could otherwise undo what the model knows).
   */
  fineTune: z.object({
    freezeLayers: z.number().int().min(0).max(1000).default(0),
    warmupSteps: z.number().int().min(0).max(100000).default(0),
  }).default({ freezeLayers: 0, warmupSteps: 0 }),
  seed: z.number().int().min(0).default(1),
}).superRefine((c, ctx) => {
  // A network on 2×2 sub-images splits each patch into them: an odd side would lose a row.
  const a = c.architecture;
  if (a.kind === 'dncnn' && a.downscale && c.patchSize % a.downscale) {
    ctx.addIssue({ code: 'custom', path: ['patchSize'], message: `${c.patchSize} is not a multiple of architecture.downscale ${a.downscale}` });
  }
});
export type TrainConfigInput = z.input<typeof TrainConfig>;
export type TrainConfig = z.output<typeof TrainConfig>;

export function parseTrainConfig(json: unknown, source = 'training config'): TrainConfig {
  const result = TrainConfig.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`${source}: field '${issue.path.join('.') || '(root)'}': ${issue.message}`);
  }
  return result.data;
}

/** The warm-up factor for a global step (0-based): a linear ramp to 1 over `warmupSteps`. */
export function warmupFactor(step: number, warmupSteps: number): number {
  return warmupSteps > 0 && step < warmupSteps ? (step + 1) / (warmupSteps + 1) : 1;
}

/** Learning rate for an epoch (0-based). `plateauRate` carries reduce-on-plateau's state. */
export function learningRateAt(schedule: ScheduleSpec, initial: number, epoch: number, epochs: number, plateauRate?: number): number {
  switch (schedule.kind) {
    case 'constant': return initial;
    case 'step': return initial * schedule.factor ** Math.floor(epoch / schedule.every);
    case 'exponential': return epoch < schedule.startEpoch ? initial : initial * Math.exp(-schedule.rate * (epoch - schedule.startEpoch + 1));
    case 'cosine': {
      const t = epochs <= 1 ? 0 : epoch / (epochs - 1);
      return schedule.minRate + (initial - schedule.minRate) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
    case 'plateau': return plateauRate ?? initial;
  }
}
