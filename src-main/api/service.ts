/** The API's one implementation; every transport (IPC, loopback HTTP, CLI) calls this. */
import { copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { openCatalog } from '../catalog/db.js';
import { indexPath } from '../catalog/indexer.js';
import {
  catalogTree, forgetSeries, maxSeriesNumber, recordDerivation, seriesDerivation, seriesFiles, seriesSummary, seriesUnder, sourceContaining,
} from '../catalog/query.js';
import { probeBackend } from '../jobs/workers/backend-probe.js';
import { runDenoiseJob } from '../jobs/denoise-job.js';
import { runEvaluateJob } from '../jobs/evaluate-job.js';
import { methodForSeries, methodOf } from '../jobs/methods.js';
import { runNoiseJob } from '../jobs/noise-job.js';
import { runSweep, SWEEP_SPEC_FILE } from '../jobs/sweep-job.js';
import { runTrainJob } from '../jobs/train-job.js';
import type { DatasetSource } from '../jobs/training-data.js';
import { noiseMapScales, tilingNeeds } from '../model/architectures.js';
import { parseTrainConfig } from '../model/train-config.js';
import { deleteModel, importModel, listModels, type ModelEntry } from '../jobs/models/model-library.js';
import { forgetSeriesOrder, orderedSeries, previewPreprocessing, readCatalogSlice, stackList } from '../jobs/viewer/slices.js';
import { readTags } from '../dicom/tags.js';
import type {
  AddNoiseRequest, BackendInfo, CatalogPatient, DenoiseRequest, DenoiseResult, DenoiseStudioApi, EvaluateRequest,
  EvaluateResult, ExportRequest, ExportResult, IndexRequest, IndexResult, JobControl, ModelSummary, PreviewRequest,
  AdaptRequest, BiasReport, PacsFindRequest, PacsMatch, PacsNodeRequest, PacsRetrieveRequest, PacsRetrieveResult, PacsSendRequest, PacsSendResult, SavedPacsNode, WebFindRequest, WebRetrieveRequest, WebSendRequest, PacsListenRequest, PacsListenResult, ReportRequest, PreviewResult, RunDetails, RunsRequest, RunSummary, SeriesStack, SliceData, SliceRequest, TagEntry, TagsRequest, SweepRequest, SweepResult,
  TrainConfigCheck, TrainRequest, TrainResult,
} from './contract.js';
import { deletePacsNode, listPacsNodes, savePacsNode } from '../catalog/pacs-nodes.js';
import { deleteRunRow, failRun, finishRun, getRun, listRuns, recordEpoch, setRunTags, startRun } from '../catalog/runs.js';
import type { RunTracker } from '../jobs/train-job.js';
import { runReportJob, type ReportTarget } from '../jobs/report/report-job.js';
import { DEFAULT_AET, echo, find, move, retrieve, send } from '../pacs/dimse.js';
import { StorageScp } from '../pacs/storage-scp.js';
import { webFind, webRetrieve, webSend } from '../pacs/dicomweb.js';

/**
 * The self-supervised fine-tune of "Adapt to this series": Recorrupted-to-Recorrupted pairs drawn
 * from the series' own measured noise spectrum (white or correlated, whatever the reconstruction
 * kernel made of it), starting from the default, with a warm-up so its first steps keep what it knows.
 */
function adaptConfig(modality: string, epochs: number | undefined, name: string): Record<string, unknown> {
  return {
    name, modality: modality === 'CT' || modality === 'MR' ? modality : 'any', mode: 'recorrupted',
    recorrupted: { alpha: 1 },
    epochs: epochs ?? 8, stepsPerEpoch: 30, batchSize: 16, patchSize: 64,
    optimizer: { kind: 'adam', learningRate: 1e-3 }, schedule: { kind: 'cosine', minRate: 1e-5 },
    fineTune: { freezeLayers: 0, warmupSteps: 10 },
    validation: { fraction: 0.15, patches: 64 }, earlyStopping: { patience: 3, minDelta: 0, restoreBest: true },
  };
}

/** A study or series query's fields as DICOM keys (the modality goes in the level's own attribute). */
function queryKeys(r: { level: 'patient' | 'study' | 'series'; patientName?: string; patientId?: string; studyDate?: string; studyInstanceUid?: string; modality?: string }) {
  return {
    PatientName: r.patientName, PatientID: r.patientId, StudyDate: r.studyDate, StudyInstanceUID: r.studyInstanceUid,
    ...(r.modality ? (r.level === 'study' ? { ModalitiesInStudy: r.modality } : { Modality: r.modality }) : {}),
  };
}

/** One C-FIND or QIDO-RS answer (keyword → value; a person name as { Alphabetic }) as a match. */
function toMatch(level: PacsMatch['level'], row: Record<string, unknown>): PacsMatch {
  const text = (v: unknown) => (v === undefined || v === null || v === '' ? undefined
    : typeof v === 'object' ? String((v as { Alphabetic?: string }).Alphabetic ?? '') || undefined : String(v));
  return {
    level, studyInstanceUid: String(row.StudyInstanceUID ?? ''), seriesInstanceUid: text(row.SeriesInstanceUID),
    patientName: text(row.PatientName), patientId: text(row.PatientID), studyDate: text(row.StudyDate),
    description: text(row.SeriesDescription ?? row.StudyDescription), modality: text(row.Modality ?? row.ModalitiesInStudy),
    instances: Number(row.NumberOfSeriesRelatedInstances ?? row.NumberOfStudyRelatedInstances) || undefined,
    patientBirthDate: text(row.PatientBirthDate), patientSex: text(row.PatientSex),
    studies: Number(row.NumberOfPatientRelatedStudies) || undefined,
  };
}

/** How add-noise marks the copies it makes (their source is their clean reference). */
const NOISY_COPY = 'simulated noise';
import { ApiError, parseRequest } from './methods.js';
import { defaultDataDir } from './data-dir.js';

/** How the training check names a supervised loss weighting (train-config's lossWeighting). */
const LOSS_WEIGHTING: Record<'uniform' | 'noise-sd' | 'noise-level', string> = {
  uniform: '', 'noise-sd': ', loss ÷ noise σ', 'noise-level': ', loss ÷ noise power',
};

export { defaultDataDir } from './data-dir.js';

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
    ...(m.card.adaptedTo ? { adaptedTo: m.card.adaptedTo.seriesInstanceUid } : {}),
  };
}

/** Cancels a job before it starts writing (checked between steps that take long). */
function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'CancelledError' });
}

export class DenoiseStudioService implements DenoiseStudioApi {
  readonly databasePath: string;
  readonly userModelsDir: string;
  private db: Database | undefined;
  /** Series Numbers handed out in this process, so concurrent runs never share one. */
  private readonly issuedNumbers = new Map<string, number>();

  constructor(options: ServiceOptions = {}) {
    this.databasePath = options.database ?? path.join(defaultDataDir(), 'catalog.sqlite');
    this.userModelsDir = options.userModels ?? path.join(path.dirname(this.databasePath), 'models');
  }

  private database(): Database {
    this.db ??= openCatalog(this.databasePath);
    return this.db;
  }

  /** Every training run, whoever starts it, is recorded in the catalogue through this. */
  private runTracker(origin: 'train' | 'sweep'): RunTracker {
    const db = () => this.database();
    return {
      started: (run) => startRun(db(), { ...run, origin }),
      epoch: (id, record, preview) => recordEpoch(db(), id, record, preview),
      finished: (id, summary) => finishRun(db(), id, summary),
      failed: (id, error) => failRun(db(), id, error),
    };
  }

  private runOrThrow(id: number): RunDetails {
    const run = getRun(this.database(), id);
    if (!run) throw new ApiError(404, `id: no run ${id}`);
    return run;
  }

  /**
   * Never write into a source: an output folder inside a folder the catalogue knows as the source
   * of indexed series is refused (status 403), for every job that writes (CLI and app alike).
   */
  private refuseSourceFolder(out: string, field: string): string {
    const target = path.resolve(out);
    const source = sourceContaining(this.database(), target);
    if (source) throw new ApiError(403, `${field}: ${target} is inside ${source}, a folder of indexed source series; results are never written into a source — choose another folder`);
    return target;
  }

  async index(request: IndexRequest, onProgress?: JobControl['onProgress']): Promise<IndexResult> {
    const { path: requested } = parseRequest('index', request);
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
    const { backend } = parseRequest('backend', request);
    return probeBackend(backend);
  }

  async denoise(request: DenoiseRequest, control: JobControl = {}): Promise<DenoiseResult> {
    const r = parseRequest('denoise', request);
    const out = this.refuseSourceFolder(r.out, 'out');
    const db = this.database();
    const result = await runDenoiseJob({
      input: r.input, outDir: out, method: methodOf(r), strength: r.strength, workers: r.workers, backend: r.backend,
      seriesUids: r.seriesUids, signal: control.signal,
      seriesNumber: (series) => this.nextSeriesNumber(series.studyInstanceUid),
      onProgress: (p) => control.onProgress?.({ task: 'denoise', ...p }),
    });
    // Each result is its own series: catalogued at once, linked to its source, saying how it was made.
    for (const s of result.series) {
      await indexPath(db, s.output);
      recordDerivation(db, s.outputSeriesInstanceUid, s.seriesInstanceUid, s.description);
    }
    forgetSeriesOrder();
    return { backend: result.backend, model: result.model, series: result.series, failed: result.failed, unreadable: result.unreadable, seconds: result.seconds };
  }

  private nextSeriesNumber(studyInstanceUid: string): number {
    const next = Math.max(maxSeriesNumber(this.database(), studyInstanceUid), this.issuedNumbers.get(studyInstanceUid) ?? 0, 999) + 1;
    this.issuedNumbers.set(studyInstanceUid, next);
    return next;
  }

  async evaluate(request: EvaluateRequest, control: JobControl = {}): Promise<EvaluateResult> {
    const r = parseRequest('evaluate', request);
    // Evaluate denoises only when a model or filter is named ('model' alone: the CT default).
    const method = methodOf(r, false);
    return runEvaluateJob({
      reference: r.reference, input: r.input, seriesUids: r.series, method: method && methodForSeries(method, 'CT'), strength: r.strength, dataRange: r.dataRange,
      workers: r.workers, backend: r.backend, onProgress: (done, total) => control.onProgress?.({ task: 'evaluate', done, total }),
    });
  }

  /**
   * A dataset is a list of catalogued series: UIDs as given, plus every series under each data
   * folder (indexed first). Each series is read from its own files only, one location per instance.
   */
  private async dataset(r: { series?: string[]; data?: string[] }, signal?: AbortSignal): Promise<DatasetSource[]> {
    const db = this.database();
    const uids = [...(r.series ?? [])];
    for (const folder of r.data ?? []) {
      throwIfCancelled(signal);
      await indexPath(db, path.resolve(folder));
      const found = seriesUnder(db, path.resolve(folder));
      if (found.length === 0) throw new ApiError(400, `data: no image series in ${path.resolve(folder)}`);
      uids.push(...found);
    }
    forgetSeriesOrder();
    const sources: DatasetSource[] = [];
    for (const uid of new Set(uids)) {
      const source = this.sourceOf(uid);
      if (!source) throw new ApiError(400, `series: ${uid} is not in the catalogue (open its folder first)`);
      sources.push(source);
    }
    if (sources.length === 0) throw new ApiError(400, 'series: give at least one series or data folder');
    return sources;
  }

  async train(request: TrainRequest, control: JobControl = {}): Promise<TrainResult> {
    const r = parseRequest('train', request);
    const out = this.refuseSourceFolder(r.out, 'out');
    if (r.checkpoint) this.refuseSourceFolder(r.checkpoint, 'checkpoint');
    // Refuse an existing model folder now, not after the training run has finished.
    if (!r.resume && await stat(out).then(() => true, () => false)) {
      throw new ApiError(400, `out: ${out} already exists; choose a new model folder`);
    }
    const sources = await this.dataset(r, control.signal);
    return runTrainJob({
      sources, config: r.config, outDir: out,
      checkpointDir: r.checkpoint && path.resolve(r.checkpoint), resume: r.resume, backend: r.backend,
      init: r.initDefault ? 'default' : r.init && path.resolve(r.init),
      command: `denoise-studio train ${sources.map((s) => `--series ${s.seriesInstanceUid}`).join(' ')} --config <config> --out ${r.out}${r.initDefault ? ' --init default' : r.init ? ` --init ${r.init}` : ''}`,
    }, {
      signal: control.signal, tracker: this.runTracker('train'),
      onProgress: (e) => {
        if (e.type === 'batch') control.onProgress?.({ task: 'train', done: e.batch, total: e.batches, epoch: e.epoch, epochs: e.epochs, batch: e.batch, batches: e.batches, loss: e.loss, etaSeconds: e.etaSeconds });
        else if (e.type === 'epoch') control.onProgress?.({ task: 'train', done: e.record.epoch, total: e.epochs, epoch: e.record.epoch, epochs: e.epochs, record: e.record, etaSeconds: e.etaSeconds });
        else control.onProgress?.({ task: 'train', done: 0, total: 0, message: e.text });
      },
    });
  }

  async checkTrainConfig(request: { config: unknown }): Promise<TrainConfigCheck> {
    const { config } = parseRequest('checkTrainConfig', request);
    try {
      const c = parseTrainConfig(config);
      const receptiveField = 2 * tilingNeeds(c.architecture).margin + 1;
      const patches = c.epochs * c.stepsPerEpoch * c.batchSize;
      const arch = c.architecture;
      const shape = arch.kind === 'dncnn' ? `DnCNN ${arch.depth}×${arch.width}${arch.dilations?.some((d) => d > 1) ? `, dilations ${arch.dilations.join(",")}` : ''}${(arch.downscale ?? 1) > 1 ? ', on 2×2 sub-images' : ''}` : arch.kind === 'unet' ? `U-Net ${arch.levels} levels × ${arch.baseFilters}${arch.pooling === 'average' || arch.upsampling === 'bilinear' ? `, ${arch.pooling} pooling, ${arch.upsampling} upsampling` : ''}`
        : arch.kind === 'conv-ae' ? `conv autoencoder ${arch.filters.join('-')}, bottleneck ${arch.bottleneck}` : `dense ${arch.patchSize ** 2}-${arch.hidden.join('-')}`;
      const told = noiseMapScales(arch) ? `, told the noise level (${noiseMapScales(arch)} scales)` : '';
      return {
        ok: true, patches, receptiveField,
        summary: `${shape}${told}, ${c.mode}${c.mode === 'supervised' ? LOSS_WEIGHTING[c.lossWeighting] : ''}; ${c.epochs} epochs × ${c.stepsPerEpoch} steps × ${c.batchSize} patches = ${patches.toLocaleString('en')} patches`
          + (arch.kind === 'dense' ? '' : `; receptive field ${receptiveField} px`),
      };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }

  async sweep(request: SweepRequest, control: JobControl = {}): Promise<SweepResult> {
    const r = parseRequest('sweep', request);
    const out = this.refuseSourceFolder(r.out, 'out');
    // Resume reads the spec the sweep was started with. Its series UIDs are used again; folder
    // paths read from a file are not (every path a request uses is one the request names).
    let specJson: unknown = r.spec;
    if (r.resume) {
      const saved = await readFile(path.join(out, SWEEP_SPEC_FILE), 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>, () => {
        throw new ApiError(400, `out: ${out} holds no ${SWEEP_SPEC_FILE}; it is not a sweep this app started`);
      });
      const { data: _folders, ...rest } = saved;
      specJson = rest;
    }
    const spec = specJson as { series?: string[]; data?: string[] };
    // The request's dataset wins over the spec's; either is series and/or folders.
    const wanted = r.series?.length || r.data?.length ? r : spec;
    if (!wanted.series?.length && !wanted.data?.length) throw new ApiError(400, 'sweep: no training data (give --series/--data or "series"/"data" in the spec)');
    const sources = await this.dataset(wanted, control.signal);
    return runSweep(specJson as never, {
      outDir: out, sources, backend: r.backend, signal: control.signal, tracker: this.runTracker('sweep'),
      onProgress: (run, e) => {
        if (e.type === 'epoch') control.onProgress?.({ task: 'sweep', run, done: e.record.epoch, total: e.epochs, record: e.record, etaSeconds: e.etaSeconds });
        else if (e.type === 'finished') control.onProgress?.({ task: 'sweep', run, done: 1, total: 1, message: e.error ? `${run} failed: ${e.error}` : `${run} finished` });
        else if (e.type === 'message') control.onProgress?.({ task: 'sweep', run, done: 0, total: 0, message: e.text });
      },
    });
  }

  async addNoise(request: AddNoiseRequest, control: JobControl = {}): Promise<DenoiseResult> {
    const r = parseRequest('addNoise', request);
    const out = this.refuseSourceFolder(r.out, 'out');
    const result = await runNoiseJob({
      input: r.input, outDir: out, noise: r.noise, seed: r.seed, signal: control.signal,
      onProgress: (p) => control.onProgress?.({ task: 'addNoise', ...p }),
    });
    // A noisy copy knows its clean source (catalogued too): the report evaluates it against that reference.
    const db = this.database();
    await indexPath(db, path.resolve(r.input));
    for (const s of result.series) {
      await indexPath(db, s.output);
      recordDerivation(db, s.outputSeriesInstanceUid, s.seriesInstanceUid, `${NOISY_COPY} ${JSON.stringify(r.noise)}`);
    }
    forgetSeriesOrder();
    return { backend: 'js', model: 'noise simulation', series: result.series, failed: result.failed, unreadable: result.unreadable, seconds: result.seconds };
  }

  async catalog(): Promise<CatalogPatient[]> {
    return catalogTree(this.database());
  }

  async slice(request: SliceRequest): Promise<SliceData> {
    const r = parseRequest('slice', request);
    const { padding: _padding, ...data } = await readCatalogSlice(this.database(), r.seriesInstanceUid, r.index, r.stack);
    return data;
  }

  /** A series' stacks (echoes, time points, acquisitions), for the viewer's stack chooser. */
  async stacks(request: { seriesInstanceUid: string }): Promise<SeriesStack[]> {
    const r = parseRequest('stacks', request);
    return stackList(this.database(), r.seriesInstanceUid);
  }

  /** The header of the file a slice comes from, for the tag browser. */
  async tags(request: TagsRequest): Promise<TagEntry[]> {
    const r = parseRequest('tags', request);
    const series = orderedSeries(this.database(), r.seriesInstanceUid, r.stack);
    const ref = series.slices[r.index];
    if (!ref) throw new ApiError(400, `slice ${r.index} is outside the series (0–${series.slices.length - 1})`);
    return readTags(ref.file);
  }

  /** Removes a series from the catalogue (its files are untouched; re-opening the folder brings it back). */
  async forgetSeries(request: { seriesInstanceUid: string }): Promise<{ forgotten: number }> {
    const r = parseRequest('forgetSeries', request);
    const forgotten = forgetSeries(this.database(), r.seriesInstanceUid);
    if (!forgotten) throw new ApiError(400, `series ${r.seriesInstanceUid} is not in the catalogue`);
    forgetSeriesOrder();
    return { forgotten };
  }

  async models(): Promise<ModelSummary[]> {
    return (await listModels(this.userModelsDir)).map(summary);
  }

  async importModel(request: { folder: string }): Promise<ModelSummary> {
    const r = parseRequest('importModel', request);
    return summary(await importModel(r.folder, this.userModelsDir));
  }

  async deleteModel(request: { id: string }): Promise<{ deleted: string }> {
    const r = parseRequest('deleteModel', request);
    await deleteModel(r.id, this.userModelsDir);
    return { deleted: r.id };
  }

  /**
   * "Adapt to this series": a self-supervised fine-tune of the shipped default on the series
   * itself — recorrupted pairs of its own measured noise (see adaptConfig) — saved into the
   * model list, linked to that series.
   */
  async adapt(request: AdaptRequest, control: JobControl = {}): Promise<TrainResult> {
    const r = parseRequest('adapt', request);
    const source = this.sourceOf(r.seriesInstanceUid);
    if (!source) throw new ApiError(400, `seriesInstanceUid: ${r.seriesInstanceUid} is not in the catalogue (open its folder first)`);
    const short = r.seriesInstanceUid.replace(/\D/g, '').slice(-8);
    const stamp = new Date().toISOString().slice(0, 19).replace(/\D/g, '');
    const out = r.out ? this.refuseSourceFolder(r.out, 'out') : path.join(this.userModelsDir, `adapted-${short}-${stamp}`);
    if (await stat(out).then(() => true, () => false)) throw new ApiError(400, `out: ${out} already exists; choose a new model folder`);
    const config = adaptConfig(source.modality, r.epochs, `${source.modality === 'MR' ? 'mr' : 'ct'}-default-adapted-${short}`);
    const description = seriesSummary(this.database(), r.seriesInstanceUid)?.description ?? undefined;
    return runTrainJob({
      sources: [source], config, outDir: out, backend: r.backend, init: 'default',
      adaptedTo: { seriesInstanceUid: r.seriesInstanceUid, description },
      command: `denoise-studio adapt --series ${r.seriesInstanceUid}${r.out ? ` --out ${r.out}` : ''}${r.epochs ? ` --epochs ${r.epochs}` : ''}`,
    }, {
      signal: control.signal, tracker: this.runTracker('train'),
      onProgress: (e) => {
        if (e.type === 'batch') control.onProgress?.({ task: 'adapt', done: e.batch, total: e.batches, epoch: e.epoch, epochs: e.epochs, batch: e.batch, batches: e.batches, loss: e.loss, etaSeconds: e.etaSeconds });
        else if (e.type === 'epoch') control.onProgress?.({ task: 'adapt', done: e.record.epoch, total: e.epochs, epoch: e.record.epoch, epochs: e.epochs, record: e.record, etaSeconds: e.etaSeconds });
        else control.onProgress?.({ task: 'adapt', done: 0, total: 0, message: e.text });
      },
    });
  }

  async report(request: ReportRequest, control: JobControl = {}): Promise<BiasReport> {
    const r = parseRequest('report', request);
    const out = r.out ? this.refuseSourceFolder(r.out, 'out') : undefined;
    if (out && await stat(out).then(() => true, () => false)) throw new ApiError(400, `out: ${out} already exists; choose a new folder`);
    const sources = await this.dataset(r, control.signal);
    const db = this.database();
    const byUid = new Map(sources.map((s) => [s.seriesInstanceUid, s]));
    // A noisy copy is compared with its clean source; a source that is some copy's reference is not evaluated itself.
    const targets: ReportTarget[] = [];
    const references = new Set<string>();
    for (const source of sources) {
      const derivation = seriesDerivation(db, source.seriesInstanceUid);
      if (derivation && !derivation.derivation.startsWith(NOISY_COPY)) continue; // results are outputs, not test data
      const reference = derivation && (byUid.get(derivation.derivedFrom) ?? this.sourceOf(derivation.derivedFrom));
      if (reference) references.add(reference.seriesInstanceUid);
      targets.push({ input: source, reference: reference || undefined });
    }
    const method = methodOf(r, false) ?? 'default';
    return runReportJob({
      targets: targets.filter((t) => t.reference || !references.has(t.input.seriesInstanceUid)),
      method, by: r.by, noise: r.noise, seed: r.seed, slicesPerSeries: r.slicesPerSeries, metric: r.metric, outDir: out, backend: r.backend,
      signal: control.signal, onProgress: (done, total) => control.onProgress?.({ task: 'report', done, total }),
    });
  }

  /** A catalogued series as a dataset source, if the catalogue has its files. */
  private sourceOf(seriesInstanceUid: string): DatasetSource | undefined {
    const db = this.database();
    const files = seriesFiles(db, seriesInstanceUid).map((f) => f.path);
    const summary = seriesSummary(db, seriesInstanceUid);
    return files.length && summary ? { seriesInstanceUid, modality: summary.modality ?? '', files } : undefined;
  }

  async pacsEcho(request: { node: PacsNodeRequest }): Promise<{ ms: number }> {
    const { node } = parseRequest('pacsEcho', request);
    return echo(node, { callingAet: node.callingAet });
  }

  async pacsFind(request: PacsFindRequest): Promise<PacsMatch[]> {
    const r = parseRequest('pacsFind', request);
    return (await find(r.node, r.level, queryKeys(r), { callingAet: r.node.callingAet })).map((row) => toMatch(r.level, row));
  }

  /** The saved remote nodes, by name. */
  async pacsNodes(request: Record<string, never> = {}): Promise<SavedPacsNode[]> {
    parseRequest('pacsNodes', request);
    return listPacsNodes(this.database());
  }

  /** Saves a node (replacing one of the same name); the list after it. */
  async savePacsNode(request: { node: SavedPacsNode }): Promise<SavedPacsNode[]> {
    const r = parseRequest('savePacsNode', request);
    savePacsNode(this.database(), r.node);
    return listPacsNodes(this.database());
  }

  async deletePacsNode(request: { name: string }): Promise<SavedPacsNode[]> {
    const r = parseRequest('deletePacsNode', request);
    if (!deletePacsNode(this.database(), r.name)) throw new ApiError(404, `no saved node is named '${r.name}'`);
    return listPacsNodes(this.database());
  }

  /** QIDO-RS: the same search and answer as pacsFind, against a DICOMweb server. */
  async webFind(request: WebFindRequest): Promise<PacsMatch[]> {
    const r = parseRequest('webFind', request);
    return (await webFind(r.server, r.level, queryKeys(r))).map((row) => toMatch(r.level, row));
  }

  /** C-GET (or C-MOVE) into a new folder of the data folder, indexed at once: the retrieved series open like any other. */
  async pacsRetrieve(request: PacsRetrieveRequest, control: JobControl = {}): Promise<PacsRetrieveResult> {
    const r = parseRequest('pacsRetrieve', request);
    const folder = this.receivedFolder(r.studyInstanceUid);
    const what = { studyInstanceUid: r.studyInstanceUid, seriesInstanceUid: r.seriesInstanceUid };
    const onProgress = (done: number, total: number) => control.onProgress?.({ task: 'pacsRetrieve', done, total });
    const got = r.via === 'move' ? await this.moveHere(r.node, what, folder, r.listenPort!, onProgress)
      : await retrieve(r.node, what, folder, { callingAet: r.node.callingAet, onProgress });
    return this.indexRetrieved(folder, got, r.seriesInstanceUid ?? r.studyInstanceUid);
  }

  /** WADO-RS into a new folder of the data folder, indexed at once, as pacsRetrieve. */
  async webRetrieve(request: WebRetrieveRequest, control: JobControl = {}): Promise<PacsRetrieveResult> {
    const r = parseRequest('webRetrieve', request);
    const folder = this.receivedFolder(r.studyInstanceUid);
    const got = await webRetrieve(r.server, { studyInstanceUid: r.studyInstanceUid, seriesInstanceUid: r.seriesInstanceUid }, folder,
      { onProgress: (done, total) => control.onProgress?.({ task: 'webRetrieve', done, total }) });
    return this.indexRetrieved(folder, got, r.seriesInstanceUid ?? r.studyInstanceUid);
  }

  private receivedFolder(studyInstanceUid: string): string {
    return path.join(path.dirname(this.databasePath), 'received', `${new Date().toISOString().replace(/[:.]/g, '-')}-${studyInstanceUid.slice(-8)}`);
  }

  private async indexRetrieved(folder: string, got: { files: string[]; failed: number }, what: string): Promise<PacsRetrieveResult> {
    if (!got.files.length) throw new ApiError(404, `nothing was retrieved: the node has no instances of ${what}`);
    const db = this.database();
    await indexPath(db, folder);
    forgetSeriesOrder();
    return { folder, files: got.files.length, failed: got.failed, series: seriesUnder(db, folder) };
  }

  /**
   * C-MOVE to ourselves: our storage SCP runs on `port` for the transfer, taking only what the
   * node sends (its AE title as caller); the node must know our AE title with this host and port.
   */
  private async moveHere(node: PacsNodeRequest, what: { studyInstanceUid: string; seriesInstanceUid?: string }, folder: string, port: number,
    onProgress: (done: number, total: number) => void): Promise<{ files: string[]; failed: number }> {
    const files: string[] = [];
    const ours = node.callingAet ?? DEFAULT_AET;
    const scp = new StorageScp({ port, aet: ours, allowedCallers: [node.aet], folder, onStored: (f) => files.push(f) });
    await scp.start();
    try {
      const moved = await move(node, what, ours, { callingAet: ours, onProgress });
      return { files, failed: moved.failed };
    } finally { scp.stop(); }
  }

  /** C-STORE of a catalogued series (a denoised result, typically) to a node. */
  async pacsSend(request: PacsSendRequest, control: JobControl = {}): Promise<PacsSendResult> {
    const r = parseRequest('pacsSend', request);
    return send(r.node, this.filesToSend(r.seriesInstanceUid), { callingAet: r.node.callingAet, onProgress: (done, total) => control.onProgress?.({ task: 'pacsSend', done, total }) });
  }

  /** STOW-RS of a catalogued series to a DICOMweb server. */
  async webSend(request: WebSendRequest, control: JobControl = {}): Promise<PacsSendResult> {
    const r = parseRequest('webSend', request);
    return webSend(r.server, this.filesToSend(r.seriesInstanceUid), { onProgress: (done, total) => control.onProgress?.({ task: 'webSend', done, total }) });
  }

  private filesToSend(seriesInstanceUid: string): string[] {
    const files = seriesFiles(this.database(), seriesInstanceUid).map((f) => f.path);
    if (!files.length) throw new ApiError(400, `seriesInstanceUid: ${seriesInstanceUid} is not in the catalogue`);
    return files;
  }

  /**
   * The storage SCP, until the job is cancelled: instances from the allowed callers land in the
   * data folder's received/ and are indexed as they arrive; refusals are reported with their reason.
   */
  async pacsListen(request: PacsListenRequest, control: JobControl = {}): Promise<PacsListenResult> {
    const r = parseRequest('pacsListen', request);
    const folder = path.join(path.dirname(this.databasePath), 'received', `scp-${r.aet.trim().replace(/\W+/g, '_')}`);
    const db = this.database();
    const refused: string[] = [];
    let received = 0;
    let indexing = Promise.resolve();
    const scp = new StorageScp({
      port: r.port, aet: r.aet.trim(), allowedCallers: r.allowedCallers, folder,
      onStored: (file) => {
        received++;
        // Indexed one folder at a time, in arrival order; the catalogue skips files it already knows.
        indexing = indexing.then(() => indexPath(db, path.dirname(file))).then(() => {
          forgetSeriesOrder();
          control.onProgress?.({ task: 'pacsListen', done: received, total: 0, message: `received ${received} instance(s)` });
        }, () => undefined);
      },
      onRefused: (reason) => { refused.push(reason); control.onProgress?.({ task: 'pacsListen', done: received, total: 0, message: reason }); },
    });
    await scp.start();
    control.onProgress?.({ task: 'pacsListen', done: 0, total: 0, message: `listening on port ${r.port} as ${r.aet.trim()}` });
    try {
      await new Promise<void>((resolve) => {
        if (control.signal?.aborted) return resolve();
        control.signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      scp.stop();
      await indexing;
    }
    return { folder, received, refused };
  }

  async runs(request: RunsRequest = {}): Promise<RunSummary[]> {
    const r = parseRequest('runs', request);
    return listRuns(this.database(), { ...r, sweep: r.sweep && path.resolve(r.sweep) });
  }

  async run(request: { id: number }): Promise<RunDetails> {
    return this.runOrThrow(parseRequest('run', request).id);
  }

  async tagRun(request: { id: number; add?: string[]; remove?: string[] }): Promise<RunSummary> {
    const r = parseRequest('tagRun', request);
    const run = this.runOrThrow(r.id);
    const remove = new Set(r.remove ?? []);
    setRunTags(this.database(), r.id, [...run.tags, ...(r.add ?? [])].filter((t) => !remove.has(t)));
    return this.runOrThrow(r.id);
  }

  /**
   * Forgets a run; with `files`, also deletes the model folder it wrote — only a folder that
   * holds a model card (what the run wrote), never anything else, and never a running run's.
   */
  async deleteRun(request: { id: number; files?: boolean }): Promise<{ deleted: number; removedFolder: string | null }> {
    const r = parseRequest('deleteRun', request);
    const run = this.runOrThrow(r.id);
    if (run.status === 'running') throw new ApiError(409, `id: run ${r.id} is still running; stop it first`);
    let removedFolder: string | null = null;
    // Only a finished run wrote its folder (saving is atomic, at the end): anything else there is not ours to delete.
    if (r.files && run.status === 'finished' && run.modelDir && await stat(path.join(run.modelDir, 'model-card.json')).then(() => true, () => false)) {
      await rm(run.modelDir, { recursive: true });
      removedFolder = run.modelDir;
    }
    deleteRunRow(this.database(), r.id);
    return { deleted: r.id, removedFolder };
  }

  /** Copies a finished run's model into the model list (what Denoise and the viewer offer). */
  async promoteRun(request: { id: number }): Promise<ModelSummary> {
    const run = this.runOrThrow(parseRequest('promoteRun', request).id);
    if (run.status !== 'finished' || !run.modelDir) throw new ApiError(409, `id: run ${run.id} has no saved model (${run.status})`);
    return summary(await importModel(run.modelDir, this.userModelsDir));
  }

  async preview(request: PreviewRequest): Promise<PreviewResult> {
    const r = parseRequest('preview', request);
    return previewPreprocessing(this.database(), r.seriesInstanceUid, r.index, r.normalisation, r.imputation, r.stack);
  }

  async exportSeries(request: ExportRequest, control: JobControl = {}): Promise<ExportResult> {
    const r = parseRequest('exportSeries', request);
    const files = seriesFiles(this.database(), r.seriesInstanceUid);
    if (files.length === 0) throw new ApiError(400, `series ${r.seriesInstanceUid} is not in the catalogue`);
    const folder = this.refuseSourceFolder(r.out, 'out');
    if (await stat(folder).then(() => true, () => false)) throw new ApiError(400, `out: ${folder} already exists; choose a new folder`);
    await mkdir(folder, { recursive: true });
    for (const [i, f] of files.entries()) {
      throwIfCancelled(control.signal);
      // Numbered names: instances from several folders may share a file name.
      await copyFile(f.path, path.join(folder, `IM${String(i + 1).padStart(6, '0')}.dcm`), 1 /* COPYFILE_EXCL */);
      control.onProgress?.({ task: 'export', done: i + 1, total: files.length });
    }
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
