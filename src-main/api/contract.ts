/**
 * The one typed API of Denoise Studio. The Electron IPC bridge, the loopback server and the CLI
 * are transports over it; the renderer imports only these types. Keep it serialisable (plain
 * JSON: no class instances, no typed arrays outside pixel payloads).
 */
import type { CatalogPatient } from '../catalog/query.js';

export type { CatalogPatient, CatalogStudy, CatalogSeries } from '../catalog/query.js';
// Results defined where they are produced, re-exported here so every transport sees one type.
export type { ProcessedSeries as DenoisedSeries } from '../jobs/process-series.js';
export type { EvaluateResult, Quality } from '../jobs/evaluate-job.js';
export type { TrainSummary as TrainResult } from '../jobs/train-worker.js';
export type { SliceData, PreviewResult } from '../jobs/slices.js';
import type { ProcessedSeries as DenoisedSeries } from '../jobs/process-series.js';
import type { EvaluateResult } from '../jobs/evaluate-job.js';
import type { TrainSummary as TrainResult } from '../jobs/train-worker.js';
import type { PreviewResult, SliceData } from '../jobs/slices.js';

export interface IndexRequest {
  /** A folder (indexed recursively) or a DICOMDIR file */
  path: string;
}

export interface UnreadableFile {
  file: string;
  code: string;
  reason: string;
}

export interface IndexResult {
  path: string;
  database: string;
  files: { scanned: number; read: number; unchanged: number; removed: number; unreadable: number };
  patients: CatalogPatient[];
  unreadable: UnreadableFile[];
  seconds: number;
}

export interface ProgressEvent {
  task: 'index' | 'denoise' | 'evaluate' | 'train' | 'sweep';
  done: number;
  total: number;
  etaSeconds?: number;
  message?: string;
  /** Training: the epoch and batch in progress, and the last batch loss. */
  epoch?: number;
  epochs?: number;
  batch?: number;
  batches?: number;
  loss?: number;
  /** Training: a finished epoch's record (train/val loss, val PSNR/SSIM, learning rate, time). */
  record?: EpochRecord;
  /** Sweeps: which run the event belongs to. */
  run?: string;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valLoss: number | null;
  valPsnr: number | null;
  valSsim: number | null;
  learningRate: number;
  seconds: number;
}

export interface BackendInfo {
  /** 'node-gpu' | 'node' | 'wasm' | 'cpu' */
  name: string;
  skipped: { name: string; reason: string }[];
  forced: boolean;
}

export interface DenoiseRequest {
  /** Folder or DICOMDIR with one or more series */
  input: string;
  /** Parent folder for the derived series (one new sub-folder per series); never inside the input */
  out: string;
  /** Model folder; default: the shipped default for each series' modality */
  model?: string;
  /** 'model' (default) or a classical filter: gaussian, median, bilateral, nlm, diffusion */
  method?: string;
  /** 0 keeps the input, 1 (default) takes the denoised image */
  strength?: number;
  workers?: number;
  backend?: string;
  seriesUids?: string[];
}


export interface DenoiseResult {
  backend: string;
  model: string;
  series: DenoisedSeries[];
  failed: { input: string; seriesInstanceUid: string; error: string }[];
  unreadable: UnreadableFile[];
  seconds: number;
}

export interface EvaluateRequest {
  reference: string;
  input: string;
  model?: string;
  method?: string;
  strength?: number;
  /** PSNR/SSIM data range in the image's units; default: each reference series' max − min */
  dataRange?: number;
  workers?: number;
  backend?: string;
}


export interface TrainRequest {
  data: string[];
  /** A training configuration (see model/train-config.ts); validated */
  config: unknown;
  /** The new model folder (must not exist) */
  out: string;
  /** Per-epoch checkpoints; with resume, continue from them */
  checkpoint?: string;
  resume?: boolean;
  backend?: string;
}


/** The training form's live check: the first bad field, or what the run will do. */
export type TrainConfigCheck =
  | { ok: true; summary: string; patches: number; receptiveField: number }
  | { ok: false; error: string };

export interface SweepRequest {
  /** { data?, base, grid: { "dotted.path": [values] }, parallel? } */
  spec: unknown;
  out: string;
  data?: string[];
  backend?: string;
}

export interface SweepResult {
  outDir: string;
  runs: { run: string; params: Record<string, unknown>; summary?: TrainResult; error?: string }[];
  ranking: string[];
}

export interface AddNoiseRequest {
  input: string;
  out: string;
  /** A noise model (see noise/models.ts), e.g. { kind: 'gaussian', sigma: 25 } */
  noise: unknown;
  seed?: number;
}

export interface SliceRequest { seriesInstanceUid: string; index: number }


export interface ModelSummary {
  id: string;
  folder: string;
  shipped: boolean;
  name: string;
  version: string;
  modality: string;
  architecture: string;
  /** The full model card (see DESIGN.md "Model folder") */
  card: Record<string, unknown>;
}

/** Long jobs accept an AbortSignal; a cancelled job rejects with an error named 'CancelledError'. */
export interface JobControl {
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

export interface DenoiseStudioApi {
  index(request: IndexRequest, onProgress?: (event: ProgressEvent) => void): Promise<IndexResult>;
  backend(request?: { backend?: string }): Promise<BackendInfo>;
  denoise(request: DenoiseRequest, control?: JobControl): Promise<DenoiseResult>;
  evaluate(request: EvaluateRequest, control?: JobControl): Promise<EvaluateResult>;
  train(request: TrainRequest, control?: JobControl): Promise<TrainResult>;
  /** Validates a training config without running it (the form's live check) */
  checkTrainConfig(config: unknown): Promise<TrainConfigCheck>;
  sweep(request: SweepRequest, control?: JobControl): Promise<SweepResult>;
  addNoise(request: AddNoiseRequest, control?: JobControl): Promise<DenoiseResult>;
  /** Everything indexed so far: patients → studies → series */
  catalog(): Promise<CatalogPatient[]>;
  slice(request: SliceRequest): Promise<SliceData>;
  models(): Promise<ModelSummary[]>;
  importModel(request: { folder: string }): Promise<ModelSummary>;
  deleteModel(request: { id: string }): Promise<void>;
  /** Copies a catalogued series (e.g. a denoised result) into a new folder; never over files */
  exportSeries(request: ExportRequest): Promise<ExportResult>;
  /** One slice after a normalisation + imputation choice, with the mask of imputed pixels */
  preview(request: PreviewRequest): Promise<PreviewResult>;
}

export interface PreviewRequest {
  seriesInstanceUid: string;
  index: number;
  /** e.g. { kind: 'window', center: 40, width: 400 } or { kind: 'percentile', low: 0.5, high: 99.5 } */
  normalisation: unknown;
  /** e.g. { method: 'nearest' } or { method: 'constant', value: -1000 } */
  imputation: unknown;
}

export interface ExportRequest { seriesInstanceUid: string; out: string }
export interface ExportResult { folder: string; files: number }
