/** Read side of the catalogue: the patient → study → series tree the browser and CLI show. */
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { CatalogPatient, CatalogStudy, SeriesProblemInfo } from '../api/contract.js';
import { isInside } from '../shared/fs-paths.js';

export type { CatalogPatient, CatalogSeries, CatalogStudy } from '../api/contract.js';


/** The tree, limited to series with at least one file under `folder` when given. */
export function catalogTree(db: Database, folder?: string): CatalogPatient[] {
  const prefix = folder ? path.resolve(folder) + path.sep : '';
  const rows = db
    .prepare(
      `SELECT p.id AS pid, p.patient_id, p.name, p.birth_date, p.sex,
              st.id AS stid, st.study_uid, st.study_date, st.study_time, st.description AS study_description, st.accession,
              se.*, (SELECT min(f.path) FROM files f WHERE f.series_ref = se.id) AS first_path,
              (SELECT count(*) FROM files f WHERE f.series_ref = se.id AND f.status = 'image') AS file_count
       FROM series se JOIN studies st ON st.id = se.study_ref JOIN patients p ON p.id = st.patient_ref
       WHERE (@prefix = '' OR EXISTS (SELECT 1 FROM files f WHERE f.series_ref = se.id AND f.path >= @prefix AND f.path < @prefix || char(65535)))
       ORDER BY p.name, p.patient_id, st.study_date, st.study_uid, se.series_number, se.series_uid`,
    )
    .all({ prefix }) as Record<string, unknown>[];
  const patients = new Map<number, CatalogPatient>();
  const studies = new Map<number, CatalogStudy>();
  for (const r of rows) {
    let patient = patients.get(r.pid as number);
    if (!patient) {
      patient = { patientId: r.patient_id as string, name: r.name as string, birthDate: r.birth_date as string, sex: r.sex as string, studies: [] };
      patients.set(r.pid as number, patient);
    }
    let study = studies.get(r.stid as number);
    if (!study) {
      study = { studyInstanceUid: r.study_uid as string, date: r.study_date as string, time: r.study_time as string, description: r.study_description as string, accession: r.accession as string, series: [] };
      studies.set(r.stid as number, study);
      patient.studies.push(study);
    }
    study.series.push({
      seriesInstanceUid: r.series_uid as string,
      modality: r.modality as string,
      description: r.description as string,
      seriesNumber: r.series_number as number,
      bodyPart: r.body_part as string,
      manufacturer: r.manufacturer as string,
      model: r.model as string,
      derived: r.derived === 1,
      derivedFrom: (r.derived_from as string) ?? null,
      derivation: (r.derivation as string) ?? null,
      instances: r.instance_count as number,
      copies: Math.max(0, (r.file_count as number) - (r.instance_count as number)),
      slices: r.slice_count as number,
      rows: r.rows as number,
      columns: r.columns as number,
      pixelSpacing: r.pixel_spacing ? String(r.pixel_spacing).split('\\').map(Number) : null,
      sliceSpacing: r.slice_spacing as number,
      sliceThickness: r.slice_thickness as number,
      kvp: r.kvp as number,
      orderedBy: r.ordered_by as string,
      stacks: r.stacks as number,
      problems: JSON.parse(r.problems as string) as SeriesProblemInfo[],
      folder: r.first_path ? path.dirname(r.first_path as string) : '',
    });
  }
  return [...patients.values()];
}

/**
 * The files of a series, one per SOP instance: the same instance seen in two places (an export
 * re-opened, a CD copied to disk) is one instance; its first location (by path) is the one read.
 */
export function seriesFiles(db: Database, seriesInstanceUid: string): { path: string; header: string }[] {
  return db
    .prepare(`SELECT min(f.path) AS path, f.header FROM files f JOIN series s ON s.id = f.series_ref
      WHERE s.series_uid = ? AND f.status = 'image' GROUP BY coalesce(f.sop_uid, f.path) ORDER BY path`)
    .all(seriesInstanceUid) as { path: string; header: string }[];
}

/** Every catalogued location of one SOP instance. */
export function instanceLocations(db: Database, sopInstanceUid: string): string[] {
  return (db.prepare("SELECT path FROM files WHERE sop_uid = ? AND status = 'image' ORDER BY path").all(sopInstanceUid) as { path: string }[]).map((r) => r.path);
}

/** Series Instance UIDs catalogued with a file under `folder`. */
export function seriesUnder(db: Database, folder: string): string[] {
  return catalogTree(db, folder).flatMap((p) => p.studies.flatMap((s) => s.series.map((x) => x.seriesInstanceUid)));
}

/** One catalogued series' summary, or undefined. */
export function seriesSummary(db: Database, seriesInstanceUid: string): { modality: string | null; studyUid: string; slices: number; seriesNumber: number | null; description: string | null } | undefined {
  return db.prepare(`SELECT se.modality, st.study_uid AS studyUid, se.slice_count AS slices, se.series_number AS seriesNumber, se.description
    FROM series se JOIN studies st ON st.id = se.study_ref WHERE se.series_uid = ?`).get(seriesInstanceUid) as never;
}

/** The highest Series Number in a study (a new derived series takes the next one). */
export function maxSeriesNumber(db: Database, studyInstanceUid: string): number {
  const row = db.prepare(`SELECT max(se.series_number) AS n FROM series se JOIN studies st ON st.id = se.study_ref WHERE st.study_uid = ?`)
    .get(studyInstanceUid) as { n: number | null };
  return row.n ?? 0;
}

/** Records a folder the user indexed: a source, never written into. */
export function recordSource(db: Database, folder: string): void {
  db.prepare('INSERT INTO sources (path, indexed_at) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET indexed_at = excluded.indexed_at')
    .run(folder, new Date().toISOString());
}

/** The source folder (one the user indexed) that contains `target`, if any. */
export function sourceContaining(db: Database, target: string): string | undefined {
  const rows = db.prepare('SELECT path FROM sources').all() as { path: string }[];
  return rows.map((r) => r.path).find((source) => isInside(source, target));
}

/** How a series was made from which source, when the catalogue knows (results, noisy copies). */
export function seriesDerivation(db: Database, seriesInstanceUid: string): { derivedFrom: string; derivation: string } | undefined {
  const row = db.prepare('SELECT derived_from, derivation FROM series WHERE series_uid = ? AND derived_from IS NOT NULL').get(seriesInstanceUid) as { derived_from: string; derivation: string | null } | undefined;
  return row && { derivedFrom: row.derived_from, derivation: row.derivation ?? '' };
}

/** Links a result series to its source and says how it was made. */
export function recordDerivation(db: Database, seriesInstanceUid: string, derivedFrom: string, derivation: string): void {
  db.prepare('UPDATE series SET derived_from = ?, derivation = ? WHERE series_uid = ?').run(derivedFrom, derivation, seriesInstanceUid);
}

/** Forgets a series: its file rows and, when emptied, its study and patient. Files are untouched. */
export function forgetSeries(db: Database, seriesInstanceUid: string): number {
  let removed = 0;
  db.transaction(() => {
    const row = db.prepare('SELECT id FROM series WHERE series_uid = ?').get(seriesInstanceUid) as { id: number } | undefined;
    if (!row) return;
    removed = db.prepare('DELETE FROM files WHERE series_ref = ?').run(row.id).changes;
    db.prepare('DELETE FROM series WHERE id = ?').run(row.id);
    db.prepare('DELETE FROM studies WHERE id NOT IN (SELECT DISTINCT study_ref FROM series)').run();
    db.prepare('DELETE FROM patients WHERE id NOT IN (SELECT DISTINCT patient_ref FROM studies)').run();
  })();
  return removed;
}
