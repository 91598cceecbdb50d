/**
 * Training runs in the catalogue: a row when a run starts, one per epoch as it goes, the outcome
 * when it ends (finished, stopped, or failed and why). Whoever starts a run — the app, the CLI,
 * a sweep — goes through the service, which records it here.
 */
import type { Database } from 'better-sqlite3';
import type { DatasetSeries, EpochPreview, EpochRecord, RunDetails, RunsRequest, RunStatus, RunSummary, TrainResult } from '../api/contract.js';

export interface RunStart {
  name: string;
  origin: 'train' | 'sweep';
  sweep?: { dir: string; run: string };
  config: Record<string, unknown>;
  configHash: string;
  modelDir: string;
}

interface RunRow {
  id: number; name: string; origin: 'train' | 'sweep'; sweep_dir: string | null; sweep_run: string | null;
  config: string; config_hash: string; series: string; status: RunStatus; error: string | null;
  backend: string | null; seconds: number | null; parameters: number | null; model_dir: string | null; parent: string | null;
  saved_epoch: number | null; val_loss: number | null; val_psnr: number | null; val_ssim: number | null;
  started_at: string; finished_at: string | null; tags: string;
  epochs: number; last_train_loss: number | null; last_val_loss: number | null;
}

const SELECT = `
  SELECT r.*, (SELECT COUNT(*) FROM run_epochs e WHERE e.run_ref = r.id) AS epochs,
    (SELECT train_loss FROM run_epochs e WHERE e.run_ref = r.id ORDER BY epoch DESC LIMIT 1) AS last_train_loss,
    (SELECT val_loss FROM run_epochs e WHERE e.run_ref = r.id ORDER BY epoch DESC LIMIT 1) AS last_val_loss
  FROM runs r`;

function summaryOf(row: RunRow): RunSummary {
  return {
    id: row.id, name: row.name, origin: row.origin, ...(row.sweep_dir ? { sweep: { dir: row.sweep_dir, run: row.sweep_run ?? '' } } : {}),
    status: row.status, error: row.error, configHash: row.config_hash, backend: row.backend, seconds: row.seconds,
    parameters: row.parameters, modelDir: row.model_dir, parent: row.parent ? JSON.parse(row.parent) as TrainResult['parent'] : null,
    savedEpoch: row.saved_epoch, valLoss: row.val_loss, valPsnr: row.val_psnr, valSsim: row.val_ssim,
    trainLoss: row.last_train_loss, lastValLoss: row.last_val_loss, epochs: row.epochs,
    series: JSON.parse(row.series) as DatasetSeries[], startedAt: row.started_at, finishedAt: row.finished_at, tags: JSON.parse(row.tags) as string[],
  };
}

export function startRun(db: Database, run: RunStart): number {
  const info = db.prepare(`INSERT INTO runs (name, origin, sweep_dir, sweep_run, config, config_hash, status, model_dir, started_at, pid)
    VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)`).run(run.name, run.origin, run.sweep?.dir ?? null, run.sweep?.run ?? null,
    JSON.stringify(run.config), run.configHash, run.modelDir, new Date().toISOString(), process.pid);
  return Number(info.lastInsertRowid);
}

export function recordEpoch(db: Database, runId: number, e: EpochRecord, preview?: EpochPreview): void {
  db.prepare(`INSERT OR REPLACE INTO run_epochs (run_ref, epoch, train_loss, val_loss, val_psnr, val_ssim, learning_rate, seconds, preview, preview_width, preview_height)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(runId, e.epoch, e.trainLoss, e.valLoss, e.valPsnr, e.valSsim, e.learningRate, e.seconds,
    preview ? Buffer.from(preview.pixels.buffer, preview.pixels.byteOffset, preview.pixels.byteLength) : null, preview?.width ?? null, preview?.height ?? null);
}

export function finishRun(db: Database, runId: number, result: TrainResult): void {
  db.prepare(`UPDATE runs SET status = ?, error = NULL, backend = ?, seconds = ?, parameters = ?, series = ?, parent = ?,
    saved_epoch = ?, val_loss = ?, val_psnr = ?, val_ssim = ?, finished_at = ?, model_dir = ? WHERE id = ?`).run(
    result.stoppedBy === 'cancelled' ? 'stopped' : 'finished', result.backend, result.seconds, result.parameters, JSON.stringify(result.series),
    result.parent ? JSON.stringify(result.parent) : null, result.savedEpoch, result.savedValLoss, result.savedValPsnr, result.savedValSsim,
    new Date().toISOString(), result.stoppedBy === 'cancelled' ? null : result.outDir, runId);
}

export function failRun(db: Database, runId: number, error: string): void {
  db.prepare(`UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?`).run(error, new Date().toISOString(), runId);
}

function alive(pid: number | null): boolean {
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch (error) { return (error as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** A run left 'running' by a process that is gone (killed) is stopped, not running for ever. */
export function settleOrphanedRuns(db: Database): void {
  const running = db.prepare(`SELECT id, pid FROM runs WHERE status = 'running'`).all() as { id: number; pid: number | null }[];
  const stop = db.prepare(`UPDATE runs SET status = 'stopped', error = 'the process running it ended before it finished', finished_at = ? WHERE id = ?`);
  for (const r of running) if (!alive(r.pid)) stop.run(new Date().toISOString(), r.id);
}

export function listRuns(db: Database, filter: RunsRequest = {}): RunSummary[] {
  settleOrphanedRuns(db);
  const where: string[] = [];
  const args: unknown[] = [];
  if (filter.status) { where.push('r.status = ?'); args.push(filter.status); }
  if (filter.sweep) { where.push('r.sweep_dir = ?'); args.push(filter.sweep); }
  if (filter.tag) { where.push('EXISTS (SELECT 1 FROM json_each(r.tags) WHERE value = ?)'); args.push(filter.tag); }
  const rows = db.prepare(`${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.id DESC`).all(...args) as RunRow[];
  return rows.map(summaryOf);
}

export function getRun(db: Database, id: number): RunDetails | undefined {
  const row = db.prepare(`${SELECT} WHERE r.id = ?`).get(id) as RunRow | undefined;
  if (!row) return undefined;
  const rows = db.prepare('SELECT * FROM run_epochs WHERE run_ref = ? ORDER BY epoch').all(id) as {
    epoch: number; train_loss: number; val_loss: number | null; val_psnr: number | null; val_ssim: number | null; learning_rate: number; seconds: number;
    preview: Buffer | null; preview_width: number | null; preview_height: number | null;
  }[];
  const history = rows.map((e) => ({ epoch: e.epoch, trainLoss: e.train_loss, valLoss: e.val_loss, valPsnr: e.val_psnr, valSsim: e.val_ssim, learningRate: e.learning_rate, seconds: e.seconds }));
  const previews = rows.map((e) => (e.preview && e.preview_width && e.preview_height ? { width: e.preview_width, height: e.preview_height, pixels: new Uint8Array(e.preview) } : null));
  return { ...summaryOf(row), config: JSON.parse(row.config) as Record<string, unknown>, history, previews };
}

export function setRunTags(db: Database, id: number, tags: string[]): void {
  db.prepare('UPDATE runs SET tags = ? WHERE id = ?').run(JSON.stringify([...new Set(tags)].sort()), id);
}

export function deleteRunRow(db: Database, id: number): void {
  db.prepare('DELETE FROM runs WHERE id = ?').run(id);
}

/** The finished runs of a sweep folder, by run name: what a resumed sweep need not train again. */
export function finishedSweepRuns(db: Database, sweepDir: string): Map<string, RunDetails> {
  const rows = db.prepare(`SELECT id, sweep_run FROM runs WHERE sweep_dir = ? AND status = 'finished' ORDER BY id`).all(sweepDir) as { id: number; sweep_run: string }[];
  return new Map(rows.map((r) => [r.sweep_run, getRun(db, r.id)!]));
}
