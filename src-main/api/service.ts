/** The API's one implementation; every transport (IPC, loopback HTTP, CLI) calls this. */
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { openCatalog } from '../catalog/db.js';
import { indexPath } from '../catalog/indexer.js';
import { catalogTree, seriesFiles } from '../catalog/query.js';
import { probeBackend } from '../jobs/backend-probe.js';
import { runDenoiseJob } from '../jobs/denoise-job.js';
import { runEvaluateJob } from '../jobs/evaluate-job.js';
import { methodFromName, type MethodSpec } from '../jobs/methods.js';
import { runNoiseJob } from '../jobs/noise-job.js';
import { defaultModelFor } from '../jobs/shipped-models.js';
import { runSweep } from '../jobs/sweep-job.js';
import { runTrainJob } from '../jobs/train-job.js';
import { tilingNeeds } from '../model/architectures.js';
import { parseTrainConfig } from '../model/train-config.js';
import { deleteModel, importModel, listModels, type ModelEntry } from '../jobs/model-library.js';
import { forgetSeriesOrder, previewPreprocessing, readCatalogSlice, type PreviewResult } from '../jobs/slices.js';
import type {
  AddNoiseRequest, BackendInfo, DenoiseRequest, DenoiseResult, DenoiseStudioApi, EvaluateRequest, EvaluateResult,
  IndexRequest, IndexResult, JobControl, ModelSummary, ProgressEvent, SliceData, SliceRequest, SweepRequest, SweepResult,
  TrainConfigCheck, TrainRequest, TrainResult, CatalogPatient, ExportRequest, ExportResult, PreviewRequest,
} from './contract.js';
import {
  AddNoiseRequestSchema, BackendRequestSchema, DenoiseRequestSchema, EvaluateRequestSchema, IndexRequestSchema,
  SweepRequestSchema, TrainRequestSchema, validate, SliceRequestSchema, ImportModelSchema, DeleteModelSchema, ExportRequestSchema, PreviewRequestSchema,
} from './validate.js';

/** Where the catalogue and user models live: $DENOISE_STUDIO_HOME, else the platform's data folder. */
export function defaultDataDir(): string {
  if (process.env.DENOISE_STUDIO_HOME) return path.resolve(process.env.DENOISE_STUDIO_HOME);
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'Denoise Studio');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'Denoise Studio');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'denoise-studio');
}

export interface ServiceOptions {
  /** SQLite file; defaults to <data dir>/catalog.sqlite */
  database?: string;
  /** Where trained and imported models go; defaults to <data dir>/models */
  userModels?: string;
}

function summary(m: ModelEntry): ModelSummary {
  return {
    id: m.id, folder: m.folder, shipped: m.shipped, name: m.card.name, version: m.card.version,
    modality: m.card.task.modality, architecture: m.card.architecture.kind, card: m.card as unknown as Record<string, unknown>,
  };
}

/** A request's method: a classical filter by name, an explicit model folder, or undefined (defaults). */
function methodOf(request: { model?: string; method?: string }, fallbackModality = 'CT'): MethodSpec | undefined {
  if (request.method && request.method !== 'model') return methodFromName(request.method, '');
  if (request.model) return { kind: 'model', folder: path.resolve(request.model) };
  return request.method === 'model' ? { kind: 'model', folder: defaultModelFor(fallbackModality) } : undefined;
}

export class DenoiseStudioService implements DenoiseStudioApi {
  readonly databasePath: string;
  readonly userModelsDir: string;
  private db: Database | undefined;

  constructor(options: ServiceOptions = {}) {
    this.databasePath = options.database ?? path.join(defaultDataDir(), 'catalog.sqlite');
    this.userModelsDir = options.userModels ?? path.join(path.dirname(this.databasePath), 'models');
  }

  private database(): Database {
    this.db ??= openCatalog(this.databasePath);
    return this.db;
  }

  async index(request: IndexRequest, onProgress?: (event: ProgressEvent) => void): Promise<IndexResult> {
    const { path: requested } = validate(IndexRequestSchema, request, 'index');
    const started = performance.now();
    const target = path.resolve(requested);
    const stats = await indexPath(this.database(), target, {
      onProgress: (p) => onProgress?.({ task: 'index', done: p.done, total: p.total }),
    });
    forgetSeriesOrder();
    return {
      path: target,
      database: this.databasePath,
      files: { scanned: stats.scanned, read: stats.read, unchanged: stats.unchanged, removed: stats.removed, unreadable: stats.unreadable.length },
      patients: catalogTree(this.database(), stats.folder),
      unreadable: stats.unreadable,
      seconds: (performance.now() - started) / 1000,
    };
  }

  async backend(request: { backend?: string } = {}): Promise<BackendInfo> {
    const { backend } = validate(BackendRequestSchema, request, 'backend');
    return probeBackend(backend);
  }

  async denoise(request: DenoiseRequest, control: JobControl = {}): Promise<DenoiseResult> {
    const r = validate(DenoiseRequestSchema, request, 'denoise');
    const result = await runDenoiseJob({
      input: r.input, outDir: r.out, method: methodOf(r), strength: r.strength, workers: r.workers, backend: r.backend,
      seriesUids: r.seriesUids, signal: control.signal,
      onProgress: (p) => control.onProgress?.({ task: 'denoise', ...p }),
    });
    // The derived series join the catalogue, so they can be browsed and compared at once.
    if (this.db) for (const s of result.series) await indexPath(this.db, s.output);
    forgetSeriesOrder();
    return { backend: result.backend, model: result.model, series: result.series, failed: result.failed, unreadable: result.unreadable, seconds: result.seconds };
  }

  async evaluate(request: EvaluateRequest, control: JobControl = {}): Promise<EvaluateResult> {
    const r = validate(EvaluateRequestSchema, request, 'evaluate');
    return runEvaluateJob({
      reference: r.reference, input: r.input, method: methodOf(r), strength: r.strength, dataRange: r.dataRange,
      workers: r.workers, backend: r.backend, onProgress: (done, total) => control.onProgress?.({ task: 'evaluate', done, total }),
    });
  }

  async train(request: TrainRequest, control: JobControl = {}): Promise<TrainResult> {
    const r = validate(TrainRequestSchema, request, 'train');
    // Refuse an existing model folder now, not after the training run has finished.
    if (!r.resume && await stat(path.resolve(r.out)).then(() => true, () => false)) {
      throw new Error(`out: ${path.resolve(r.out)} already exists; choose a new model folder`);
    }
    return runTrainJob({
      data: r.data.map((d) => path.resolve(d)), config: r.config, outDir: path.resolve(r.out),
      checkpointDir: r.checkpoint && path.resolve(r.checkpoint), resume: r.resume, backend: r.backend,
      command: `denoise-studio train --data ${r.data.join(' ')} --config <config> --out ${r.out}`,
    }, {
      signal: control.signal,
      onProgress: (e) => {
        if (e.type === 'batch') control.onProgress?.({ task: 'train', done: e.batch, total: e.batches, epoch: e.epoch, epochs: e.epochs, batch: e.batch, batches: e.batches, loss: e.loss, etaSeconds: e.etaSeconds });
        else if (e.type === 'epoch') control.onProgress?.({ task: 'train', done: e.record.epoch, total: e.epochs, epoch: e.record.epoch, epochs: e.epochs, record: e.record, etaSeconds: e.etaSeconds });
        else control.onProgress?.({ task: 'train', done: 0, total: 0, message: e.text });
      },
    });
  }

  async checkTrainConfig(config: unknown): Promise<TrainConfigCheck> {
    try {
      const c = parseTrainConfig(config);
      const receptiveField = 2 * tilingNeeds(c.architecture).margin + 1;
      const patches = c.epochs * c.stepsPerEpoch * c.batchSize;
      const arch = c.architecture;
      const shape = arch.kind === 'dncnn' ? `DnCNN ${arch.depth}×${arch.width}` : arch.kind === 'unet' ? `U-Net ${arch.levels} levels × ${arch.baseFilters}`
        : arch.kind === 'conv-ae' ? `conv autoencoder ${arch.filters.join('-')}, bottleneck ${arch.bottleneck}` : `dense ${arch.patchSize ** 2}-${arch.hidden.join('-')}`;
      return {
        ok: true, patches, receptiveField,
        summary: `${shape}, ${c.mode}; ${c.epochs} epochs × ${c.stepsPerEpoch} steps × ${c.batchSize} patches = ${patches.toLocaleString('en')} patches`
          + (arch.kind === 'dense' ? '' : `; receptive field ${receptiveField} px`),
      };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }

  async sweep(request: SweepRequest, control: JobControl = {}): Promise<SweepResult> {
    const r = validate(SweepRequestSchema, request, 'sweep');
    return runSweep(r.spec as never, {
      outDir: r.out, data: r.data?.map((d) => path.resolve(d)), backend: r.backend, signal: control.signal,
      onProgress: (run, e) => {
        if (e.type === 'epoch') control.onProgress?.({ task: 'sweep', run, done: e.record.epoch, total: e.epochs, record: e.record, etaSeconds: e.etaSeconds });
        else if (e.type === 'finished') control.onProgress?.({ task: 'sweep', run, done: 1, total: 1, message: e.error ? `${run} failed: ${e.error}` : `${run} finished` });
        else if (e.type === 'message') control.onProgress?.({ task: 'sweep', run, done: 0, total: 0, message: e.text });
      },
    });
  }

  async addNoise(request: AddNoiseRequest, control: JobControl = {}): Promise<DenoiseResult> {
    const r = validate(AddNoiseRequestSchema, request, 'add-noise');
    const result = await runNoiseJob({
      input: r.input, outDir: r.out, noise: r.noise, seed: r.seed, signal: control.signal,
      onProgress: (p) => control.onProgress?.({ task: 'denoise', ...p }),
    });
    return { backend: 'js', model: 'noise simulation', series: result.series, failed: result.failed, unreadable: result.unreadable, seconds: result.seconds };
  }

  async catalog(): Promise<CatalogPatient[]> {
    return catalogTree(this.database());
  }

  async slice(request: SliceRequest): Promise<SliceData> {
    const r = validate(SliceRequestSchema, request, 'slice');
    const { padding: _padding, ...data } = await readCatalogSlice(this.database(), r.seriesInstanceUid, r.index);
    return data;
  }

  async models(): Promise<ModelSummary[]> {
    return (await listModels(this.userModelsDir)).map(summary);
  }

  async importModel(request: { folder: string }): Promise<ModelSummary> {
    const r = validate(ImportModelSchema, request, 'importModel');
    return summary(await importModel(r.folder, this.userModelsDir));
  }

  async deleteModel(request: { id: string }): Promise<void> {
    const r = validate(DeleteModelSchema, request, 'deleteModel');
    await deleteModel(r.id, this.userModelsDir);
  }

  async preview(request: PreviewRequest): Promise<PreviewResult> {
    const r = validate(PreviewRequestSchema, request, 'preview');
    return previewPreprocessing(this.database(), r.seriesInstanceUid, r.index, r.normalisation, r.imputation);
  }

  async exportSeries(request: ExportRequest): Promise<ExportResult> {
    const r = validate(ExportRequestSchema, request, 'export');
    const files = seriesFiles(this.database(), r.seriesInstanceUid);
    if (files.length === 0) throw new Error(`series ${r.seriesInstanceUid} is not in the catalogue`);
    const folder = path.resolve(r.out);
    const sources = new Set(files.map((f) => path.dirname(f.path)));
    for (const s of sources) {
      const rel = path.relative(s, folder);
      if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) throw new Error(`out: ${folder} is inside the series' own folder`);
    }
    if (await stat(folder).then(() => true, () => false)) throw new Error(`out: ${folder} already exists; choose a new folder`);
    await mkdir(folder, { recursive: true });
    for (const f of files) await copyFile(f.path, path.join(folder, path.basename(f.path)), 1 /* COPYFILE_EXCL */);
    return { folder, files: files.length };
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}

/** Reads a JSON file for the CLI's --config/--spec, naming the file on failure. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
}
