/**
 * Schemas for every request that crosses a boundary (IPC, HTTP, CLI): the service validates
 * before it touches a file, and errors name the field.
 */
import { z } from 'zod';
import { PixelImputation } from '../preprocess/impute.js';
import { NormalisationSpec } from '../preprocess/normalise.js';

const pathString = z.string().min(1, 'must not be empty').max(4096).refine((s) => !s.includes('\0'), 'must not contain NUL');
const backendName = z.enum(['node-gpu', 'node', 'wasm', 'cpu']);

export const IndexRequestSchema = z.object({ path: pathString });
export const BackendRequestSchema = z.object({ backend: backendName.optional() }).default({});

export const DenoiseRequestSchema = z.object({
  input: pathString,
  out: pathString,
  model: pathString.optional(),
  method: z.string().min(1).max(50).optional(),
  strength: z.number().min(0).max(1).optional(),
  workers: z.number().int().min(1).max(32).optional(),
  backend: backendName.optional(),
  seriesUids: z.array(z.string().regex(/^[0-9.]{1,64}$/, 'must be a DICOM UID')).optional(),
});

export const EvaluateRequestSchema = z.object({
  reference: pathString,
  input: pathString,
  model: pathString.optional(),
  method: z.string().min(1).max(50).optional(),
  strength: z.number().min(0).max(1).optional(),
  dataRange: z.number().positive().optional(),
  workers: z.number().int().min(1).max(32).optional(),
  backend: backendName.optional(),
});

export const TrainRequestSchema = z.object({
  data: z.array(pathString).min(1, 'give at least one data folder'),
  config: z.unknown(),
  out: pathString,
  checkpoint: pathString.optional(),
  resume: z.boolean().optional(),
  backend: backendName.optional(),
});

export const SweepRequestSchema = z.object({
  spec: z.unknown(),
  out: pathString,
  data: z.array(pathString).optional(),
  backend: backendName.optional(),
});

export const AddNoiseRequestSchema = z.object({
  input: pathString,
  out: pathString,
  noise: z.unknown(),
  seed: z.number().int().min(0).optional(),
});

/** Parses or throws one line naming the request and field. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`${what}: field '${issue.path.join('.') || '(request)'}': ${issue.message}`);
  }
  return result.data;
}

export const SliceRequestSchema = z.object({
  seriesInstanceUid: z.string().regex(/^[0-9.]{1,64}$/, 'must be a DICOM UID'),
  index: z.number().int().min(0).max(100000),
});
export const ImportModelSchema = z.object({ folder: pathString });
export const DeleteModelSchema = z.object({ id: z.string().regex(/^user:[\w.-]{1,200}$/, 'only user models can be deleted') });
export const ExportRequestSchema = z.object({
  seriesInstanceUid: z.string().regex(/^[0-9.]{1,64}$/, 'must be a DICOM UID'),
  out: pathString,
});
export const PreviewRequestSchema = z.object({
  seriesInstanceUid: z.string().regex(/^[0-9.]{1,64}$/, 'must be a DICOM UID'),
  index: z.number().int().min(0).max(100000),
  normalisation: NormalisationSpec,
  imputation: PixelImputation,
});
