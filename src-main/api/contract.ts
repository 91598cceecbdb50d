/**
 * The one typed API of Denoise Studio: every request, result and event, and the list of methods.
 * This module imports nothing, so the renderer and every layer can import it; the schemas, path
 * marks and bindings to the service live beside it in `methods.ts`, and the transports (HTTP,
 * IPC, preload, renderer client) are derived from that table. Keep it serialisable: plain JSON,
 * typed arrays only in pixel payloads.
 */

// ---- Catalogue ----------------------------------------------------------------------------

export interface SeriesProblemInfo { kind: string; message: string }

export interface CatalogSeries {
  seriesInstanceUid: string;
  modality: string | null;
  description: string | null;
  seriesNumber: number | null;
  bodyPart: string | null;
  manufacturer: string | null;
  model: string | null;
  derived: boolean;
  /** For a result of this app: the series it was derived from, and how (model/filter, strength, time). */
  derivedFrom: string | null;
  derivation: string | null;
  /** Distinct SOP instances (a copy of an instance elsewhere counts once) */
  instances: number;
  /** Extra locations of instances that are already in the series (re-opened exports, CD copies) */
  copies: number;
  slices: number;
  rows: number | null;
  columns: number | null;
  pixelSpacing: number[] | null;
  sliceSpacing: number | null;
  sliceThickness: number | null;
  kvp: number | null;
  orderedBy: string | null;
  stacks: number;
  problems: SeriesProblemInfo[];
  folder: string;
}

export interface CatalogStudy {
  studyInstanceUid: string;
  date: string | null;
  time: string | null;
  description: string | null;
  accession: string | null;
  series: CatalogSeries[];
}

export interface CatalogPatient {
  patientId: string | null;
  name: string | null;
  birthDate: string | null;
  sex: string | null;
  studies: CatalogStudy[];
}

export interface UnreadableFile { file: string; code: string; reason: string }

export interface IndexRequest {
  /** A folder (indexed recursively) or a DICOMDIR file */
  path: string;
}

export interface IndexResult {
  path: string;
  database: string;
  files: { scanned: number; read: number; unchanged: number; removed: number; unreadable: number };
  patients: CatalogPatient[];
  unreadable: UnreadableFile[];
  seconds: number;
}

// ---- Viewing ------------------------------------------------------------------------------

/** `stack`: which stack of a split series, by its label (see SeriesStack); absent: the largest. */
export interface SliceRequest { seriesInstanceUid: string; index: number; stack?: string }
/** One stack of a series: a series split by echo, time point, acquisition or geometry has several. */
export interface SeriesStack {
  /** e.g. "TE 30 ms", "time 2", "acquisition 3"; '' when the series is one stack */
  label: string;
  slices: number;
  /** The stack shown when none is asked for (the largest) */
  main: boolean;
}

export interface SliceData {
  seriesInstanceUid: string;
  /** The stack's label ('' for a series of one stack) */
  stack: string;
  index: number;
  count: number;
  width: number;
  height: number;
  /** Physical values (HU for CT), row-major */
  values: Float32Array;
  /** 1 where the pixel is Pixel Padding */
  padding?: Uint8Array;
  /** Colour images: interleaved 8-bit RGB as displayed (values then hold its luminance) */
  rgb?: Uint8Array;
  modality: string;
  pixelSpacing?: [number, number];
  /** The file's own window, when it has one */
  window?: { center: number; width: number };
  /** Position along the slice normal, mm */
  location?: number;
  /** Image Position (Patient) of this slice, mm, and Image Orientation (Patient): row then column cosines */
  position?: number[];
  orientation?: number[];
  sliceThickness?: number;
  /** ImageType DERIVED: processed, not an original acquisition */
  derived: boolean;
  /** Display-only transforms the file asks for (values above are never changed by them) */
  display?: {
    voiFunction?: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
    modalityLut?: { firstValueMapped: number; lut: number[] };
    voiLut?: { firstValueMapped: number; lut: number[] };
  };
}

export interface TagsRequest { seriesInstanceUid: string; index: number; stack?: string }
/** One element of a slice's header, as the tag browser lists it (sequences as their item count). */
export interface TagEntry { tag: string; name: string; vr: string; value: string; depth: number }

export interface PreviewRequest {
  seriesInstanceUid: string;
  index: number;
  stack?: string;
  /** e.g. { kind: 'window', center: 40, width: 400 } or { kind: 'percentile', low: 0.5, high: 99.5 } */
  normalisation: unknown;
  /** e.g. { method: 'nearest' } or { method: 'constant', value: -1000 } */
  imputation: unknown;
}

export interface PreviewResult {
  width: number;
  height: number;
  /** The slice after imputation and normalisation, as the model would see it */
  normalised: Float32Array;
  /** 1 where a pixel was imputed (padding, NaN, invalid) */
  mask: Uint8Array;
  filled: number;
  params: { offset: number; scale: number; clipLow: number | null; clipHigh: number | null };
}

// ---- Denoising, evaluation, noise ---------------------------------------------------------

export interface DenoiseRequest {
  /** Folder or DICOMDIR with one or more series */
  input: string;
  /** Parent folder for the derived series (one new sub-folder per series); never inside a source */
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

export interface DenoisedSeries {
  /** Folder of the input series' first file, and its Series Instance UID */
  input: string;
  seriesInstanceUid: string;
  output: string;
  outputSeriesInstanceUid: string;
  /** What the derived series says it is: method, strength and time */
  description: string;
  /** Its Derivation Description: what was done (method, strength; the noise σ when measured from the series' repeats) */
  derivation: string;
  slices: number;
  seconds: number;
  clippedPixels: number;
  problems: string[];
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
  /** Evaluate only these input series (by Series Instance UID) */
  series?: string[];
  model?: string;
  method?: string;
  strength?: number;
  /** PSNR/SSIM data range in the image's units; default: each reference series' max − min */
  dataRange?: number;
  workers?: number;
  backend?: string;
}

export interface Quality { psnr: number; ssim: number; mse: number; mae: number }

export interface EvaluateResult {
  dataRange: number | 'per-series reference range';
  pairs: { reference: string; input: string; slices: number; dataRange: number; inputQuality: Quality; denoisedQuality?: Quality }[];
  backend?: string;
  method?: string;
}

export interface AddNoiseRequest {
  input: string;
  out: string;
  /** A noise model (see noise/models.ts), e.g. { kind: 'gaussian', sigma: 25 } */
  noise: unknown;
  seed?: number;
}

// ---- Training -----------------------------------------------------------------------------

/** A dataset: catalogued series by UID, plus folders that are indexed first (all their series). */
export interface DatasetRequest {
  series?: string[];
  data?: string[];
}

export interface TrainRequest extends DatasetRequest {
  /** A training configuration (see model/train-config.ts); validated */
  config: unknown;
  /** The new model folder (must not exist) */
  out: string;
  /** Per-epoch checkpoints; with resume, continue from them */
  checkpoint?: string;
  resume?: boolean;
  backend?: string;
  /** Fine-tune: start from this model folder (its weights, architecture and preprocessing) */
  init?: string;
  /** Fine-tune the shipped default model for the data's modality */
  initDefault?: boolean;
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

/** One validation patch after an epoch, 8-bit grey: input | output | target side by side */
export interface EpochPreview { width: number; height: number; pixels: Uint8Array }

/** One series a run trained or validated on. */
export interface DatasetSeries { seriesInstanceUid: string; modality: string; slices: number; role: 'train' | 'validation' }

export interface TrainResult {
  outDir: string;
  stoppedBy: 'completed' | 'early-stopping' | 'cancelled';
  epochs: number;
  /** The epoch whose weights were saved, and its validation metrics (data units, range stated) */
  savedEpoch: number | null;
  savedValLoss: number | null;
  savedValPsnr: number | null;
  savedValSsim: number | null;
  bestValLoss: number | null;
  seconds: number;
  parameters: number;
  backend: string;
  series: DatasetSeries[];
  slices: number;
  skipped: string[];
  unreadable: number;
  /** Fine-tuning: the starting model and its score on this run's validation data before training */
  parent?: { name: string; version: string; valPsnr: number | null; valSsim: number | null; valLoss: number | null };
}

/** The training form's live check: the first bad field, or what the run will do. */
export type TrainConfigCheck =
  | { ok: true; summary: string; patches: number; receptiveField: number }
  | { ok: false; error: string };

export interface SweepRequest extends DatasetRequest {
  /** { series?, data?, base, grid | random, budget?, objective?, halving?, parallel? }; absent with resume */
  spec?: unknown;
  out: string;
  backend?: string;
  /** Continue the sweep in `out` with the spec it was started with (its spec.json) */
  resume?: boolean;
}

export interface SweepResult {
  outDir: string;
  runs: { run: string; params: Record<string, unknown>; summary?: TrainResult; error?: string }[];
  /** Runs that finished, best first by the objective */
  ranking: string[];
  objective?: 'valPsnr' | 'valSsim' | 'valLoss';
}

// ---- Runs (every training run, tracked in the catalogue) ----------------------------------

export type RunStatus = 'running' | 'finished' | 'stopped' | 'failed';

export interface RunSummary {
  id: number;
  name: string;
  origin: 'train' | 'sweep';
  sweep?: { dir: string; run: string };
  status: RunStatus;
  error: string | null;
  configHash: string;
  backend: string | null;
  seconds: number | null;
  parameters: number | null;
  modelDir: string | null;
  parent: TrainResult['parent'] | null;
  savedEpoch: number | null;
  valLoss: number | null;
  valPsnr: number | null;
  valSsim: number | null;
  /** Last epoch's train and validation loss: their gap is the overfitting signal */
  trainLoss: number | null;
  lastValLoss: number | null;
  epochs: number;
  series: DatasetSeries[];
  startedAt: string;
  finishedAt: string | null;
  tags: string[];
}

export interface RunDetails extends RunSummary {
  config: Record<string, unknown>;
  history: EpochRecord[];
  /** Per epoch (same order as history), when the run recorded one */
  previews: (EpochPreview | null)[];
}

export interface RunsRequest { status?: RunStatus; tag?: string; sweep?: string }

// ---- Generalisation and bias report ------------------------------------------------------

export interface ReportRequest extends DatasetRequest {
  /** A model folder; else `method` (a classical filter or 'model'), else the shipped default per modality */
  model?: string;
  method?: string;
  /** Attributes to break results down by: standard names and/or DICOM keywords or tags */
  by?: string[];
  /** Noise added to series that have no reference (seeded); default per modality */
  noise?: unknown;
  seed?: number;
  /** Slices evaluated per series, evenly spaced (default 8) */
  slicesPerSeries?: number;
  /** 'psnr' (of the result, default) or 'gain' (result minus input) */
  metric?: 'psnr' | 'gain';
  /** A new folder for report.csv, report.json, report.svg and report.png */
  out?: string;
  backend?: string;
}

export interface ReportSeries {
  seriesInstanceUid: string;
  description: string;
  /** 'reference': a noisy copy compared with its clean source; 'synthetic': seeded noise added here */
  mode: 'reference' | 'synthetic';
  slices: number;
  dataRange: number;
  inputPsnr: number;
  psnr: number;
  gain: number;
  inputSsim: number;
  ssim: number;
  ssimGain: number;
  /** Mean of (result − reference) over the image, in data units: a denoiser should not shift values */
  meanShift: number;
  attributes: Record<string, string>;
}

export interface ReportSubset {
  attribute: string;
  value: string;
  n: number;
  mean: number;
  ci: [number, number] | null;
  meanGain: number;
  meanSsimGain: number;
  meanShift: number;
  flagged: boolean;
}

export interface BiasReport {
  method: string;
  backend?: string;
  metric: 'psnr' | 'gain';
  overall: { n: number; mean: number; ci: [number, number] | null; meanGain: number; meanSsimGain: number };
  subsets: ReportSubset[];
  series: ReportSeries[];
  skipped: string[];
  /** When the model's card holds its training history: last epoch's validation ÷ training loss */
  overfitting?: { trainLoss: number; valLoss: number; ratio: number; epoch: number };
  files?: { csv: string; json: string; svg: string; png?: string; pngError?: string };
  /** The chart as SVG (the same picture as report.svg/png) */
  chartSvg?: string;
}

// ---- PACS (DICOM networking) ---------------------------------------------------------------

/** A DICOM node: where it listens and its AE title; `callingAet` is ours (default DENOISESTUDIO) */
export interface PacsNodeRequest { host: string; port: number; aet: string; callingAet?: string }

export interface PacsFindRequest {
  node: PacsNodeRequest;
  /** Patients (by name or ID only), studies, or the series of one study */
  level: 'patient' | 'study' | 'series';
  patientName?: string;
  patientId?: string;
  /** YYYYMMDD or a range YYYYMMDD-YYYYMMDD */
  studyDate?: string;
  modality?: string;
  studyInstanceUid?: string;
}

/** One row of a PACS search: a patient, a study or a series (by the query's level). */
export interface PacsMatch {
  level: 'patient' | 'study' | 'series';
  /** Empty for a patient */
  studyInstanceUid: string;
  seriesInstanceUid?: string;
  patientName?: string;
  patientId?: string;
  studyDate?: string;
  description?: string;
  modality?: string;
  instances?: number;
  /** A patient's birth date, sex and number of studies */
  patientBirthDate?: string;
  patientSex?: string;
  studies?: number;
}

export interface PacsRetrieveRequest {
  node: PacsNodeRequest;
  studyInstanceUid: string;
  seriesInstanceUid?: string;
  /** C-GET (default), or C-MOVE to our storage SCP started on `listenPort` for the transfer */
  via?: 'get' | 'move';
  listenPort?: number;
}
export interface PacsRetrieveResult { folder: string; files: number; failed: number; series: string[] }
export interface PacsSendRequest { node: PacsNodeRequest; seriesInstanceUid: string }
export interface PacsSendResult { sent: number; failed: { file: string; status: string }[] }
/** A DICOMweb server: its root URL (no credentials in it) and, if it asks, a user name and password */
export interface WebServerRequest { url: string; username?: string; password?: string }
export type WebFindRequest = Omit<PacsFindRequest, 'node'> & { server: WebServerRequest };
export interface WebRetrieveRequest { server: WebServerRequest; studyInstanceUid: string; seriesInstanceUid?: string }
export interface WebSendRequest { server: WebServerRequest; seriesInstanceUid: string }
/** The storage SCP: our port and AE title, and who may send to us */
export interface PacsListenRequest { port: number; aet: string; allowedCallers: string[] }
/** A remote node as the user saved it: a DIMSE address or a DICOMweb root and user (never a password). */
export interface SavedPacsNode {
  name: string;
  protocol: 'dimse' | 'dicomweb';
  host?: string;
  port?: number;
  aet?: string;
  /** Our AE title towards this node */
  callingAet?: string;
  /** DIMSE retrieval: C-GET, or C-MOVE to our storage SCP on movePort */
  via?: 'get' | 'move';
  movePort?: number;
  url?: string;
  username?: string;
}
export interface PacsListenResult { folder: string; received: number; refused: string[] }

// ---- Models, export, backend --------------------------------------------------------------

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
  /** A model adapted to one series ("Adapt to this series"): that series' UID */
  adaptedTo?: string;
}

export interface AdaptRequest {
  /** The series to adapt the default model to (self-supervised: its own noisy slices only) */
  seriesInstanceUid: string;
  /** The new model folder (default: a new folder in the user model list) */
  out?: string;
  epochs?: number;
  backend?: string;
}

export interface ExportRequest { seriesInstanceUid: string; out: string }
export interface ExportResult { folder: string; files: number }

export interface BackendInfo {
  /** 'webgpu' | 'node-gpu' | 'node' | 'wasm' | 'cpu' */
  name: string;
  skipped: { name: string; reason: string }[];
  forced: boolean;
  /** WebGPU: the adapter in use */
  adapter?: { vendor: string; device: string; description: string; software: boolean };
}

export interface AppInfo { dataDir: string; roots: string[]; sampleStudy: string; mode: 'electron' | 'browser' }

// ---- Progress and jobs --------------------------------------------------------------------

export interface ProgressEvent {
  task: 'index' | 'denoise' | 'evaluate' | 'train' | 'sweep' | 'export' | 'addNoise' | 'report' | 'adapt' | 'pacsRetrieve' | 'pacsSend' | 'pacsListen' | 'webRetrieve' | 'webSend';
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

/** Long jobs accept an AbortSignal; a cancelled job rejects with an error named 'CancelledError'. */
export interface JobControl {
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

/** What a job emits; `seq` numbers them from 0 so a listener that re-attaches skips what it has. */
export type JobEvent = { seq: number } & (
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'done'; result: unknown }
  | { type: 'failed'; error: string }
  | { type: 'cancelled' });

export interface JobInfo {
  id: string;
  kind: JobMethod;
  state: JobState;
  started: string;
  /** The request as the service accepted it, so a re-attached page can show what runs */
  request: unknown;
  /** The newest progress event, for a page that re-attaches */
  last?: ProgressEvent;
}

// ---- The method list ----------------------------------------------------------------------

/**
 * Every API method: its request and result, and whether it is a call (answers at once) or a job
 * (runs in the service with progress, cancel and re-attach). `methods.ts` adds a schema and path
 * marks for each; the transports are generated from both.
 */
export interface ApiMethods {
  index: { kind: 'call'; request: IndexRequest; result: IndexResult };
  catalog: { kind: 'call'; request: Record<string, never>; result: CatalogPatient[] };
  slice: { kind: 'call'; request: SliceRequest; result: SliceData };
  stacks: { kind: 'call'; request: { seriesInstanceUid: string }; result: SeriesStack[] };
  tags: { kind: 'call'; request: TagsRequest; result: TagEntry[] };
  forgetSeries: { kind: 'call'; request: { seriesInstanceUid: string }; result: { forgotten: number } };
  preview: { kind: 'call'; request: PreviewRequest; result: PreviewResult };
  backend: { kind: 'call'; request: { backend?: string }; result: BackendInfo };
  models: { kind: 'call'; request: Record<string, never>; result: ModelSummary[] };
  importModel: { kind: 'call'; request: { folder: string }; result: ModelSummary };
  deleteModel: { kind: 'call'; request: { id: string }; result: { deleted: string } };
  checkTrainConfig: { kind: 'call'; request: { config: unknown }; result: TrainConfigCheck };
  denoise: { kind: 'job'; request: DenoiseRequest; result: DenoiseResult };
  evaluate: { kind: 'job'; request: EvaluateRequest; result: EvaluateResult };
  train: { kind: 'job'; request: TrainRequest; result: TrainResult };
  sweep: { kind: 'job'; request: SweepRequest; result: SweepResult };
  report: { kind: 'job'; request: ReportRequest; result: BiasReport };
  pacsEcho: { kind: 'call'; request: { node: PacsNodeRequest }; result: { ms: number } };
  pacsFind: { kind: 'call'; request: PacsFindRequest; result: PacsMatch[] };
  pacsRetrieve: { kind: 'job'; request: PacsRetrieveRequest; result: PacsRetrieveResult };
  pacsSend: { kind: 'job'; request: PacsSendRequest; result: PacsSendResult };
  pacsListen: { kind: 'job'; request: PacsListenRequest; result: PacsListenResult };
  webFind: { kind: 'call'; request: WebFindRequest; result: PacsMatch[] };
  pacsNodes: { kind: 'call'; request: Record<string, never>; result: SavedPacsNode[] };
  savePacsNode: { kind: 'call'; request: { node: SavedPacsNode }; result: SavedPacsNode[] };
  deletePacsNode: { kind: 'call'; request: { name: string }; result: SavedPacsNode[] };
  webRetrieve: { kind: 'job'; request: WebRetrieveRequest; result: PacsRetrieveResult };
  webSend: { kind: 'job'; request: WebSendRequest; result: PacsSendResult };
  adapt: { kind: 'job'; request: AdaptRequest; result: TrainResult };
  runs: { kind: 'call'; request: RunsRequest; result: RunSummary[] };
  run: { kind: 'call'; request: { id: number }; result: RunDetails };
  tagRun: { kind: 'call'; request: { id: number; add?: string[]; remove?: string[] }; result: RunSummary };
  deleteRun: { kind: 'call'; request: { id: number; files?: boolean }; result: { deleted: number; removedFolder: string | null } };
  promoteRun: { kind: 'call'; request: { id: number }; result: ModelSummary };
  addNoise: { kind: 'job'; request: AddNoiseRequest; result: DenoiseResult };
  exportSeries: { kind: 'job'; request: ExportRequest; result: ExportResult };
}

export type ApiMethod = keyof ApiMethods;
export type CallMethod = { [K in ApiMethod]: ApiMethods[K]['kind'] extends 'call' ? K : never }[ApiMethod];
export type JobMethod = { [K in ApiMethod]: ApiMethods[K]['kind'] extends 'job' ? K : never }[ApiMethod];
export type RequestOf<K extends ApiMethod> = ApiMethods[K]['request'];
export type ResultOf<K extends ApiMethod> = ApiMethods[K]['result'];

/** The method names and kinds at run time (the client and the transports enumerate these). */
export const API_METHODS: { [K in ApiMethod]: ApiMethods[K]['kind'] } = {
  index: 'call', catalog: 'call', slice: 'call', stacks: 'call', tags: 'call', forgetSeries: 'call', preview: 'call', backend: 'call', models: 'call',
  importModel: 'call', deleteModel: 'call', checkTrainConfig: 'call', runs: 'call', run: 'call', tagRun: 'call', deleteRun: 'call', promoteRun: 'call',
  denoise: 'job', evaluate: 'job', train: 'job', sweep: 'job', addNoise: 'job', exportSeries: 'job', report: 'job', adapt: 'job', pacsEcho: 'call', pacsFind: 'call', pacsRetrieve: 'job', pacsSend: 'job', pacsListen: 'job',
  webFind: 'call', webRetrieve: 'job', webSend: 'job', pacsNodes: 'call', savePacsNode: 'call', deletePacsNode: 'call',
};

/** The service: one method per table entry; jobs take a JobControl. */
export type DenoiseStudioApi = {
  [K in ApiMethod]: ApiMethods[K]['kind'] extends 'job'
    ? (request: RequestOf<K>, control?: JobControl) => Promise<ResultOf<K>>
    : (request: RequestOf<K>) => Promise<ResultOf<K>>;
};

/**
 * What a transport talks to: the service behind the method table, with path confinement and the
 * job registry (in-process for the loopback server, another process for Electron).
 */
export interface ApiEndpoint {
  call<K extends CallMethod>(method: K, request: unknown): Promise<ResultOf<K>>;
  startJob(method: JobMethod, request: unknown): Promise<JobInfo>;
  jobs(): Promise<JobInfo[]>;
  /** The job's events so far (from `afterSeq` + 1) */
  history(jobId: string, afterSeq?: number): Promise<JobEvent[]>;
  cancel(jobId: string): Promise<boolean>;
  /** Lets requests name this folder from now on (a native dialog's choice). */
  allow(folder: string): Promise<void>;
  roots(): Promise<string[]>;
}

/** An error a transport maps to a status: 400 bad request, 403 path refused, 404 unknown. */
export interface ApiErrorShape { message: string; status: number }
