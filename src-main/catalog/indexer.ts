/**
 * Folder → catalogue. Walks the folder, reads only the headers of new or changed files (size +
 * mtime), records every unreadable file with its reason (one bad file never stops the folder),
 * forgets files that vanished, then re-assembles the affected series (ordering, spacing, gaps,
 * duplicates, mixed geometry) and stores their summaries. Reads files only; never writes them.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { DicomError, describeThrown } from '../dicom/errors.js';
import type { ImageHeader } from '../dicom/header.js';
import { readDicomHeader, type DicomHeader } from '../dicom/read.js';
import { readDicomdir } from '../dicom/dicomdir.js';
import { assembleSeries, seriesProblems } from '../dicom/series.js';
import { recordSource } from './query.js';

export interface IndexProgress {
  done: number;
  total: number;
  file: string;
}

export interface IndexStats {
  folder: string;
  scanned: number;
  read: number;
  unchanged: number;
  removed: number;
  unreadable: { file: string; code: string; reason: string }[];
  seriesUpdated: number;
}

export interface IndexOptions {
  onProgress?: (p: IndexProgress) => void;
  /** Header reads in flight at once (I/O overlap; parsing itself is cheap) */
  concurrency?: number;
  signal?: AbortSignal;
}

/** Index a folder (recursively) or the files a DICOMDIR references. */
export async function indexPath(db: Database, target: string, options: IndexOptions = {}): Promise<IndexStats> {
  const resolved = path.resolve(target);
  const info = await stat(resolved).catch((e: unknown) => {
    throw new DicomError('unreadable', resolved, `cannot open: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : describeThrown(e)}`);
  });
  // What the user indexes is a source: the service never writes into it.
  recordSource(db, info.isDirectory() ? resolved : path.dirname(resolved));
  if (info.isDirectory()) return indexFiles(db, resolved, await walk(resolved), true, options);
  // A file: a DICOMDIR lists the files of a CD; any other DICOM file is indexed on its own.
  const header = await readDicomHeader(resolved).catch(() => undefined);
  if (header && !header.isDicomdir) return indexFiles(db, path.dirname(resolved), [resolved], false, options);
  const entries = await readDicomdir(resolved);
  const files = [...new Set(entries.map((e) => e.file))];
  const stats = await indexFiles(db, path.dirname(resolved), files, false, options);
  for (const e of entries.filter((x) => !x.exists)) stats.unreadable.push({ file: e.file, code: 'unreadable', reason: 'referenced by DICOMDIR but missing' });
  return stats;
}

/** Every regular file under a folder (symlinks skipped); unreadable folders are returned as entries. */
export async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  const pending = [root];
  while (pending.length) {
    const dir = pending.pop()!;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      out.push(dir); // reported as unreadable below
      continue;
    }
    for (const name of names.sort()) {
      const p = path.join(dir, name);
      const s = await lstat(p).catch(() => undefined);
      if (!s || s.isSymbolicLink()) continue; // symlinks could loop or leave the folder
      if (s.isDirectory()) pending.push(p);
      else if (s.isFile()) out.push(p);
    }
  }
  return out;
}

type Outcome = { file: string; size: number; mtimeMs: number } & ({ header: DicomHeader } | { error: DicomError });

async function indexFiles(db: Database, folder: string, files: string[], forgetMissing: boolean, options: IndexOptions): Promise<IndexStats> {
  const known = new Map<string, { size: number; mtime_ms: number; series_ref: number | null }>();
  const prefix = folder.endsWith(path.sep) ? folder : folder + path.sep;
  for (const row of db.prepare('SELECT path, size, mtime_ms, series_ref FROM files WHERE path >= ? AND path < ?').iterate(prefix, prefix + '\uffff') as Iterable<{ path: string; size: number; mtime_ms: number; series_ref: number | null }>) {
    known.set(row.path, row);
  }
  const stats: IndexStats = { folder, scanned: files.length, read: 0, unchanged: 0, removed: 0, unreadable: [], seriesUpdated: 0 };
  const touchedSeries = new Set<number>();
  const toRead: { file: string; size: number; mtimeMs: number }[] = [];
  for (const file of files) {
    const s = await stat(file).catch(() => undefined);
    const previous = known.get(file);
    if (s && previous && previous.size === s.size && previous.mtime_ms === s.mtimeMs) {
      stats.unchanged++;
      continue;
    }
    toRead.push({ file, size: s?.size ?? 0, mtimeMs: s?.mtimeMs ?? 0 });
  }
  const write = prepareWriters(db);
  let done = stats.unchanged;
  const concurrency = options.concurrency ?? 8;
  for (let start = 0; start < toRead.length; start += 64) {
    if (options.signal?.aborted) throw new Error('indexing cancelled');
    const batch = toRead.slice(start, start + 64);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < batch.length; i += concurrency) {
      outcomes.push(...(await Promise.all(batch.slice(i, i + concurrency).map(readOne))));
    }
    db.transaction(() => {
      for (const o of outcomes) {
        const old = known.get(o.file)?.series_ref;
        if (old) touchedSeries.add(old);
        if ('error' in o) {
          stats.unreadable.push({ file: o.file, code: o.error.code, reason: o.error.reason });
          write.file.run({ path: o.file, size: o.size, mtime_ms: o.mtimeMs, status: 'error', error_code: o.error.code, error: o.error.reason, series_ref: null, sop_uid: null, instance_number: null, frames: null, rows: null, columns: null, transfer_syntax: null, header: null });
        } else {
          const seriesRef = o.header.isDicomdir ? null : write.upsertHierarchy(o.header);
          if (seriesRef) touchedSeries.add(seriesRef);
          const h = o.header.header;
          write.file.run({
            path: o.file, size: o.size, mtime_ms: o.mtimeMs, status: o.header.isDicomdir ? 'dicomdir' : 'image', error_code: null, error: null,
            series_ref: seriesRef, sop_uid: h.sopInstanceUid || null, instance_number: h.instanceNumber ?? null, frames: h.frames, rows: h.rows, columns: h.columns,
            transfer_syntax: o.header.syntaxUid, header: o.header.isDicomdir ? null : JSON.stringify(h),
          });
        }
        stats.read++;
      }
    })();
    done += batch.length;
    options.onProgress?.({ done, total: files.length, file: batch[batch.length - 1].file });
  }
  if (forgetMissing) {
    const present = new Set(files);
    const forget = db.prepare('DELETE FROM files WHERE path = ?');
    db.transaction(() => {
      for (const [file, row] of known) {
        if (present.has(file)) continue;
        if (row.series_ref) touchedSeries.add(row.series_ref);
        forget.run(file);
        stats.removed++;
      }
    })();
  }
  // Earlier unreadable files that are still unreadable and unchanged stay reported.
  for (const row of db.prepare("SELECT path, error_code, error FROM files WHERE status = 'error' AND path >= ? AND path < ?").iterate(prefix, prefix + '\uffff') as Iterable<{ path: string; error_code: string; error: string }>) {
    if (!stats.unreadable.some((u) => u.file === row.path)) stats.unreadable.push({ file: row.path, code: row.error_code, reason: row.error });
  }
  stats.unreadable.sort((a, b) => a.file.localeCompare(b.file));
  stats.seriesUpdated = refreshSeries(db, touchedSeries);
  return stats;
}

async function readOne(entry: { file: string; size: number; mtimeMs: number }): Promise<Outcome> {
  try {
    return { ...entry, header: await readDicomHeader(entry.file) };
  } catch (thrown) {
    const error = thrown instanceof DicomError ? thrown : new DicomError('malformed', entry.file, describeThrown(thrown));
    return { ...entry, error };
  }
}

function prepareWriters(db: Database) {
  const patient = db.prepare(`INSERT INTO patients (patient_key, patient_id, name, birth_date, sex) VALUES (@key, @patient_id, @name, @birth_date, @sex)
    ON CONFLICT(patient_key) DO UPDATE SET birth_date = coalesce(excluded.birth_date, birth_date), sex = coalesce(excluded.sex, sex) RETURNING id`);
  const study = db.prepare(`INSERT INTO studies (study_uid, patient_ref, study_date, study_time, description, accession, study_id)
    VALUES (@uid, @patient_ref, @date, @time, @description, @accession, @study_id)
    ON CONFLICT(study_uid) DO UPDATE SET patient_ref = excluded.patient_ref, study_date = coalesce(excluded.study_date, study_date),
      study_time = coalesce(excluded.study_time, study_time), description = coalesce(excluded.description, description),
      accession = coalesce(excluded.accession, accession), study_id = coalesce(excluded.study_id, study_id) RETURNING id`);
  const series = db.prepare(`INSERT INTO series (series_uid, study_ref, modality, description, series_number, body_part, manufacturer, model, series_date, derived, kvp)
    VALUES (@uid, @study_ref, @modality, @description, @number, @body_part, @manufacturer, @model, @date, @derived, @kvp)
    ON CONFLICT(series_uid) DO UPDATE SET study_ref = excluded.study_ref, modality = excluded.modality,
      description = coalesce(excluded.description, description), series_number = coalesce(excluded.series_number, series_number),
      body_part = coalesce(excluded.body_part, body_part), manufacturer = coalesce(excluded.manufacturer, manufacturer),
      model = coalesce(excluded.model, model), series_date = coalesce(excluded.series_date, series_date), derived = excluded.derived,
      kvp = coalesce(excluded.kvp, kvp) RETURNING id`);
  const file = db.prepare(`INSERT INTO files (path, size, mtime_ms, status, error_code, error, series_ref, sop_uid, instance_number, frames, rows, columns, transfer_syntax, header)
    VALUES (@path, @size, @mtime_ms, @status, @error_code, @error, @series_ref, @sop_uid, @instance_number, @frames, @rows, @columns, @transfer_syntax, @header)
    ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, status = excluded.status, error_code = excluded.error_code,
      error = excluded.error, series_ref = excluded.series_ref, sop_uid = excluded.sop_uid, instance_number = excluded.instance_number,
      frames = excluded.frames, rows = excluded.rows, columns = excluded.columns, transfer_syntax = excluded.transfer_syntax, header = excluded.header`);
  const upsertHierarchy = (d: DicomHeader): number => {
    const t = d.tags;
    const h = d.header;
    const key = `${t.patientId ?? ''}\u0000${t.patientName ?? ''}`;
    const patientRef = (patient.get({ key, patient_id: t.patientId ?? null, name: t.patientName ?? null, birth_date: t.patientBirthDate ?? null, sex: t.patientSex ?? null }) as { id: number }).id;
    const studyRef = (study.get({ uid: h.studyInstanceUid, patient_ref: patientRef, date: t.studyDate ?? null, time: t.studyTime ?? null, description: t.studyDescription ?? null, accession: t.accessionNumber ?? null, study_id: t.studyId ?? null }) as { id: number }).id;
    return (series.get({
      uid: h.seriesInstanceUid, study_ref: studyRef, modality: h.modality, description: t.seriesDescription ?? null, number: t.seriesNumber ?? null,
      body_part: t.bodyPart ?? null, manufacturer: t.manufacturer ?? null, model: t.manufacturerModel ?? null, date: t.seriesDate ?? null,
      derived: h.imageType[0] === 'DERIVED' ? 1 : 0, kvp: t.kvp ?? null,
    }) as { id: number }).id;
  };
  return { file, upsertHierarchy };
}

/** Re-run series assembly for the given series from the stored headers; drop emptied series. */
function refreshSeries(db: Database, seriesRefs: Set<number>): number {
  // One row per SOP instance: copies of an instance elsewhere never lengthen the series.
  const filesOf = db.prepare("SELECT min(path) AS path, header FROM files WHERE series_ref = ? AND status = 'image' GROUP BY coalesce(sop_uid, path)");
  const update = db.prepare(`UPDATE series SET instance_count = @instances, slice_count = @slices, rows = @rows, columns = @columns, pixel_spacing = @pixel_spacing,
    slice_spacing = @slice_spacing, slice_thickness = @thickness, ordered_by = @ordered_by, stacks = @stacks, problems = @problems WHERE id = @id`);
  let updated = 0;
  db.transaction(() => {
    for (const id of seriesRefs) {
      const rows = filesOf.all(id) as { path: string; header: string }[];
      if (rows.length === 0) {
        db.prepare('DELETE FROM series WHERE id = ?').run(id);
        continue;
      }
      const inputs = rows.map((r) => ({ file: r.path, header: JSON.parse(r.header) as ImageHeader }));
      const stacks = assembleSeries(inputs);
      const main = stacks.reduce((a, b) => (b.slices.length > a.slices.length ? b : a));
      const first = inputs[0].header;
      update.run({
        id, instances: rows.length, slices: stacks.reduce((n, s) => n + s.slices.length, 0), rows: main.rows, columns: main.columns,
        pixel_spacing: main.pixelSpacing ? main.pixelSpacing.join('\\') : null, slice_spacing: main.sliceSpacing ?? null,
        thickness: first.sliceThickness ?? null, ordered_by: main.orderedBy, stacks: stacks.length,
        problems: JSON.stringify(seriesProblems(stacks)),
      });
      updated++;
    }
    db.prepare('DELETE FROM studies WHERE id NOT IN (SELECT DISTINCT study_ref FROM series)').run();
    db.prepare('DELETE FROM patients WHERE id NOT IN (SELECT DISTINCT patient_ref FROM studies)').run();
  })();
  return updated;
}
