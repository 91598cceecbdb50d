/**
 * The generalisation and bias report: statistics checked against textbook values, and a report
 * over phantom series where one manufacturer's scans were planted noisier — it must flag exactly
 * that subset, evaluate every noisy copy against its clean source, and write CSV, SVG and PNG.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cli, cliWorkDir } from './cli-helper.js';
import { writeSyntheticSeries } from '../src-main/dicom/synthetic.js';
import { meanCi, tQuantile975 } from '../src-main/jobs/report/stats.js';
import { ctPhantomSlice } from '../src-main/noise/phantom.js';
import type { BiasReport } from '../src-main/api/contract.js';

// The CLI's catalogue (where --data folders are indexed) lives in this file's own folder.
const work = cliWorkDir();


test('means, standard deviations and 95 % intervals match textbook values', () => {
  assert.equal(tQuantile975(1), 12.706);
  assert.equal(tQuantile975(10), 2.228);
  assert.ok(Math.abs(tQuantile975(60) - 2.000) < 2e-3);
  assert.ok(Math.abs(tQuantile975(1000) - 1.962) < 2e-3);
  const m = meanCi([1, 2, 3]);
  assert.equal(m.mean, 2);
  assert.equal(m.sd, 1);
  assert.ok(Math.abs(m.ci![1] - (2 + 4.303 / Math.sqrt(3))) < 1e-9);
  assert.equal(meanCi([5]).ci, null, 'one value: no interval');
});

test('a report over series with one manufacturer planted noisier flags exactly that subset, against the clean sources', async () => {
  // Four phantom CT series from "Alpha" and four from "Beta", then noisy copies: Beta's three times noisier.
  for (const [maker, sigma] of [['Alpha', 15], ['Beta', 45]] as const) {
    for (let k = 0; k < 4; k++) {
      await writeSyntheticSeries(2, (i) => ctPhantomSlice(128, i + k, 8, 10 + k, k % 2 ? 'head' : 'abdomen'), {
        outDir: path.join(work.dir, 'clean', maker, `s${k}`), modality: 'CT', rows: 128, columns: 128, pixelSpacing: 1.5, sliceSpacing: 2,
        seriesDescription: `phantom ${maker} ${k}`, manufacturer: maker,
      });
    }
    const noisy = await cli('add-noise', path.join(work.dir, 'clean', maker), '--out', path.join(work.dir, 'noisy', maker),
      '--noise', JSON.stringify({ kind: 'gaussian', sigma }), '--seed', '3', '--json');
    assert.equal(noisy.code, 0, noisy.err);
  }
  const out = path.join(work.dir, 'report');
  const r = await cli('report', '--data', path.join(work.dir, 'noisy'), '--by', 'manufacturer,modality,sliceThickness,PatientSex', '--slices', '2', '--out', out, '--json');
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out) as BiasReport;
  assert.equal(report.series.length, 8, 'the eight noisy copies, each once');
  assert.ok(report.series.every((s) => s.mode === 'reference'), 'each compared with its clean source, not with added noise');
  assert.ok(report.series.every((s) => s.gain > 0), 'the default CT model improves every copy');
  const flagged = report.subsets.filter((s) => s.flagged).map((s) => `${s.attribute}=${s.value}`);
  assert.deepEqual(flagged, ['manufacturer=Beta']);
  const beta = report.subsets.find((s) => s.attribute === 'manufacturer' && s.value === 'Beta')!;
  const alpha = report.subsets.find((s) => s.attribute === 'manufacturer' && s.value === 'Alpha')!;
  assert.equal(beta.n, 4);
  assert.ok(beta.mean < report.overall.mean - 1 && beta.ci![1] < report.overall.mean);
  assert.ok(alpha.mean > report.overall.mean, 'the other subset is above the mean');
  const modality = report.subsets.filter((s) => s.attribute === 'modality');
  assert.deepEqual(modality.map((s) => [s.value, s.n, s.flagged]), [['CT', 8, false]], 'a subset that is everyone is never flagged');
  assert.ok(report.subsets.some((s) => s.attribute === 'PatientSex' && s.value === '(none)'), 'a missing attribute is its own group');
  // The files a researcher takes away.
  const csv = readFileSync(report.files!.csv, 'utf8').trim().split('\n');
  assert.equal(csv[0], 'attribute,value,n,mean_psnr_db,ci_low,ci_high,mean_gain_db,mean_ssim_gain,mean_shift,flagged');
  assert.ok(csv.some((line) => line.startsWith('manufacturer,Beta,4,') && line.endsWith(',true')));
  assert.match(readFileSync(report.files!.svg, 'utf8'), /<svg[^]*Beta \(n=4\)[^]*#c62828/);
  assert.ok(report.files!.png, report.files!.pngError);
  assert.deepEqual([...readFileSync(report.files!.png!).subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'a PNG');
  const human = await cli('report', '--data', path.join(work.dir, 'noisy'), '--by', 'manufacturer', '--slices', '1');
  assert.match(human.out, /flagged \(≥ 1 dB below overall, CI excluding it\): manufacturer=Beta/);
});

test('series without a reference get seeded synthetic noise; bad attributes and metrics are refused by name', async () => {
  const r = await cli('report', '--data', path.join(work.dir, 'clean', 'Alpha'), '--method', 'gaussian', '--by', 'manufacturer', '--slices', '1', '--json');
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out) as BiasReport;
  assert.ok(report.series.every((s) => s.mode === 'synthetic'));
  const again = JSON.parse((await cli('report', '--data', path.join(work.dir, 'clean', 'Alpha'), '--method', 'gaussian', '--by', 'manufacturer', '--slices', '1', '--json')).out) as BiasReport;
  assert.deepEqual(again.series.map((s) => s.psnr), report.series.map((s) => s.psnr), 'seeded: the same numbers again');
  const bad = await cli('report', '--data', path.join(work.dir, 'clean'), '--by', 'manufacturer;drop table');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /field 'by\.0': an attribute is a name/);
  const metric = await cli('report', '--data', path.join(work.dir, 'clean'), '--metric', 'loss');
  assert.equal(metric.code, 1);
  assert.match(metric.err, /--metric must be psnr or gain/);
});
