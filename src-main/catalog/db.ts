/**
 * The study catalogue: one SQLite file (better-sqlite3) holding patients → studies → series →
 * files, with the tags the browser needs and each file's size/mtime (so re-indexing reads only
 * new or changed files) and problems. Schema changes are numbered migrations applied in order
 * and recorded in PRAGMA user_version.
 */
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const MIGRATIONS: string[] = [
  // 1: initial schema
  `
  CREATE TABLE patients (
    id INTEGER PRIMARY KEY,
    patient_key TEXT NOT NULL UNIQUE,      -- Patient ID + name: IDs alone collide across sites
    patient_id TEXT, name TEXT, birth_date TEXT, sex TEXT
  );
  CREATE TABLE studies (
    id INTEGER PRIMARY KEY,
    study_uid TEXT NOT NULL UNIQUE,
    patient_ref INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    study_date TEXT, study_time TEXT, description TEXT, accession TEXT, study_id TEXT
  );
  CREATE TABLE series (
    id INTEGER PRIMARY KEY,
    series_uid TEXT NOT NULL UNIQUE,
    study_ref INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    modality TEXT, description TEXT, series_number REAL, body_part TEXT, manufacturer TEXT, model TEXT,
    series_date TEXT, derived INTEGER NOT NULL DEFAULT 0,
    -- filled by series assembly after each index run
    instance_count INTEGER NOT NULL DEFAULT 0, slice_count INTEGER NOT NULL DEFAULT 0,
    rows INTEGER, columns INTEGER, pixel_spacing TEXT, slice_spacing REAL, slice_thickness REAL, kvp REAL,
    ordered_by TEXT, stacks INTEGER NOT NULL DEFAULT 1, problems TEXT NOT NULL DEFAULT '[]'
  );
  CREATE TABLE files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL, mtime_ms REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('image', 'dicomdir', 'error')),
    error_code TEXT, error TEXT,
    series_ref INTEGER REFERENCES series(id) ON DELETE SET NULL,
    sop_uid TEXT, instance_number REAL, frames INTEGER, rows INTEGER, columns INTEGER,
    transfer_syntax TEXT, header TEXT            -- ImageHeader JSON: series assembly needs no re-read
  );
  CREATE INDEX files_series ON files(series_ref);
  CREATE INDEX studies_patient ON studies(patient_ref);
  CREATE INDEX series_study ON series(study_ref);
  `,
  // 2: results know their source; the folders the user indexed are sources nothing is written into;
  //    an instance seen in two places is one instance (indexed by SOP Instance UID)
  `
  ALTER TABLE series ADD COLUMN derived_from TEXT;
  ALTER TABLE series ADD COLUMN derivation TEXT;
  CREATE TABLE sources (path TEXT PRIMARY KEY, indexed_at TEXT NOT NULL);
  CREATE INDEX files_sop ON files(series_ref, sop_uid);
  `,
  // 3: every training run (UI, CLI, sweep) with its config, data split, per-epoch metrics and outcome
  `
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('train', 'sweep')),
    sweep_dir TEXT, sweep_run TEXT,           -- a sweep's folder and the run's name in it
    config TEXT NOT NULL, config_hash TEXT NOT NULL,
    series TEXT NOT NULL DEFAULT '[]',        -- [{ seriesInstanceUid, modality, slices, role }]
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'stopped', 'failed')),
    error TEXT,
    backend TEXT, seconds REAL, parameters INTEGER,
    model_dir TEXT, parent TEXT,              -- parent: { name, version, valPsnr, … } when fine-tuned
    saved_epoch INTEGER, val_loss REAL, val_psnr REAL, val_ssim REAL,
    started_at TEXT NOT NULL, finished_at TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    pid INTEGER                               -- the process running it, to tell a killed run from a live one
  );
  CREATE TABLE run_epochs (
    run_ref INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL, train_loss REAL, val_loss REAL, val_psnr REAL, val_ssim REAL, learning_rate REAL, seconds REAL,
    preview BLOB,                             -- one validation patch, 8-bit: input | output | target
    preview_width INTEGER, preview_height INTEGER,
    PRIMARY KEY (run_ref, epoch)
  );
  CREATE INDEX runs_sweep ON runs(sweep_dir, sweep_run);
  `,
  // 4: remote PACS nodes, by name (DIMSE address or DICOMweb root and user; never a password)
  `
  CREATE TABLE pacs_nodes (
    name TEXT PRIMARY KEY,
    settings TEXT NOT NULL,                   -- the SavedPacsNode as JSON
    updated_at TEXT NOT NULL
  );
  `,
  // 5: headers now hold Acquisition Number (repeats without a Temporal Position Identifier are
  //    split by it): stored headers are read again at the next index of their folder
  `
  UPDATE files SET mtime_ms = -1 WHERE status = 'image';
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function openCatalog(file: string): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`catalogue schema version ${current} is newer than this app (${MIGRATIONS.length}); update Denoise Studio`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
