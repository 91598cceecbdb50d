/** Read side of the catalogue: the patient → study → series tree the browser and CLI show. */
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { SeriesProblem } from '../dicom/series.js';

export interface CatalogSeries {
  seriesInstanceUid: string;
  modality: string | null;
  description: string | null;
  seriesNumber: number | null;
  bodyPart: string | null;
  manufacturer: string | null;
  model: string | null;
  derived: boolean;
  instances: number;
  slices: number;
  rows: number | null;
  columns: number | null;
  pixelSpacing: number[] | null;
  sliceSpacing: number | null;
  sliceThickness: number | null;
  kvp: number | null;
  orderedBy: string | null;
  stacks: number;
  problems: SeriesProblem[];
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

/** The tree, limited to series with at least one file under `folder` when given. */
export function catalogTree(db: Database, folder?: string): CatalogPatient[] {
  const prefix = folder ? path.resolve(folder) + path.sep : '';
  const rows = db
    .prepare(
      `SELECT p.id AS pid, p.patient_id, p.name, p.birth_date, p.sex,
              st.id AS stid, st.study_uid, st.study_date, st.study_time, st.description AS study_description, st.accession,
              se.*, (SELECT min(f.path) FROM files f WHERE f.series_ref = se.id) AS first_path
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
      instances: r.instance_count as number,
      slices: r.slice_count as number,
      rows: r.rows as number,
      columns: r.columns as number,
      pixelSpacing: r.pixel_spacing ? String(r.pixel_spacing).split('\\').map(Number) : null,
      sliceSpacing: r.slice_spacing as number,
      sliceThickness: r.slice_thickness as number,
      kvp: r.kvp as number,
      orderedBy: r.ordered_by as string,
      stacks: r.stacks as number,
      problems: JSON.parse(r.problems as string) as SeriesProblem[],
      folder: r.first_path ? path.dirname(r.first_path as string) : '',
    });
  }
  return [...patients.values()];
}

/** Files of a series, for loading it. */
export function seriesFiles(db: Database, seriesInstanceUid: string): { path: string; header: string }[] {
  return db
    .prepare("SELECT f.path, f.header FROM files f JOIN series s ON s.id = f.series_ref WHERE s.series_uid = ? AND f.status = 'image' ORDER BY f.path")
    .all(seriesInstanceUid) as { path: string; header: string }[];
}
