/**
 * The API over loopback HTTP for headless workstations and the end-to-end tests: bound to
 * 127.0.0.1 on a random port, a random per-launch token required on every request (as a Bearer
 * header, a `token` query parameter, or the HttpOnly cookie set when the page is first opened
 * with it), Host and Origin checked against our own address, request paths confined to the
 * folders opened in this session. Progress streams as Server-Sent Events.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { DenoiseStudioApi } from '../api/contract.js';
import { JobRegistry, type JobEvent } from '../api/jobs.js';
import { PathGuard } from '../api/path-guard.js';

export interface LoopbackOptions {
  service: DenoiseStudioApi;
  /** Shown to the UI: where results go by default, and the sample study */
  dataDir?: string;
  sampleStudy?: string;
  /** Built renderer (index.html + assets) to serve at / */
  staticDir?: string;
  /** Folders requests may name (more are added by POST /api/open) */
  roots: string[];
  port?: number;
  token?: string;
}

export interface LoopbackServer {
  url: string;
  token: string;
  /** The page address with the token, to open in a browser */
  launchUrl: string;
  close(): Promise<void>;
}

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
const MAX_BODY = 1 << 20;
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.woff2': 'font/woff2', '.wasm': 'application/wasm' };

class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new HttpError(413, 'request body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!chunks.length) return resolve({});
      try {
        const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
        resolve(value as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, 'request body must be a JSON object'));
      }
    });
    req.on('error', reject);
  });
}

function sameToken(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startLoopbackServer(options: LoopbackOptions): Promise<LoopbackServer> {
  const token = options.token ?? randomBytes(24).toString('hex');
  const guard = new PathGuard(options.roots);
  const jobs = new JobRegistry();
  const service = options.service;
  let origin = '';

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const startJob = (kind: string, body: Record<string, unknown>, pathFields: string[]) => {
    guard.checkRequest(body, pathFields);
    const run = {
      denoise: (c: Parameters<DenoiseStudioApi['denoise']>[1]) => service.denoise(body as never, c),
      train: (c: Parameters<DenoiseStudioApi['train']>[1]) => service.train(body as never, c),
      evaluate: (c: Parameters<DenoiseStudioApi['evaluate']>[1]) => service.evaluate(body as never, c),
      sweep: (c: Parameters<DenoiseStudioApi['sweep']>[1]) => service.sweep(body as never, c),
      'add-noise': (c: Parameters<DenoiseStudioApi['addNoise']>[1]) => service.addNoise(body as never, c),
      export: () => service.exportSeries(body as never),
    }[kind];
    if (!run) throw new HttpError(404, `unknown job kind ${kind}`);
    // Outputs land in an allowed root; a trained model becomes usable at once.
    const info = jobs.start(kind, async (control) => {
      const result = await run(control);
      if (kind === 'denoise' || kind === 'add-noise') for (const s of (result as { series: { output: string }[] }).series) guard.allow(s.output);
      return result;
    });
    return info;
  };

  const api = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const route = `${req.method} ${url.pathname}`;
    let m: RegExpExecArray | null;
    if (route === 'GET /api/catalog') return json(res, 200, await service.catalog());
    if (route === 'GET /api/backend') return json(res, 200, await service.backend());
    if (route === 'GET /api/models') return json(res, 200, await service.models());
    if (route === 'GET /api/info') return json(res, 200, { dataDir: options.dataDir ?? '', roots: guard.list(), sampleStudy: options.sampleStudy ?? '', mode: 'browser' });
    if (route === 'GET /api/jobs') return json(res, 200, jobs.list());
    if ((m = /^GET \/api\/series\/([0-9.]{1,64})\/slices\/(\d{1,6})$/.exec(route))) {
      const slice = await service.slice({ seriesInstanceUid: m[1]!, index: Number(m[2]) });
      const { values, ...info } = slice;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-slice': JSON.stringify(info), 'cache-control': 'no-store' });
      return res.end(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    }
    if ((m = /^GET \/api\/jobs\/([\w-]{1,64})\/events$/.exec(route))) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      const send = (e: JobEvent) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      const stop = jobs.subscribe(m[1]!, send);
      req.on('close', stop);
      return;
    }
    if (req.method !== 'POST') throw new HttpError(404, `no route ${route}`);
    const body = await readBody(req);
    if (route === 'POST /api/open') {
      // Browser mode has no native dialog: only folders under the command line's roots can be opened.
      const folder = guard.check(String(body.path ?? ''), 'path');
      return json(res, 200, await service.index({ path: folder }));
    }
    if (route === 'POST /api/preview') {
      const p = await service.preview(body as never);
      const { normalised, mask, ...info } = p;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-preview': JSON.stringify(info), 'cache-control': 'no-store' });
      return res.end(Buffer.concat([Buffer.from(normalised.buffer, normalised.byteOffset, normalised.byteLength), Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength)]));
    }
    if (route === 'POST /api/index') { guard.checkRequest(body, ['path']); return json(res, 200, await service.index(body as never)); }
    if (route === 'POST /api/models/import') { guard.checkRequest(body, ['folder']); return json(res, 200, await service.importModel(body as never)); }
    if (route === 'POST /api/train/check') return json(res, 200, await service.checkTrainConfig(body.config));
    if (route === 'POST /api/models/delete') { await service.deleteModel(body as never); return json(res, 200, { deleted: body.id }); }
    if ((m = /^POST \/api\/jobs\/([\w-]{1,64})\/cancel$/.exec(route))) return json(res, 200, { cancelled: jobs.cancel(m[1]!) });
    if ((m = /^POST \/api\/jobs\/(denoise|train|evaluate|sweep|add-noise|export)$/.exec(route))) {
      const fields = { denoise: ['input', 'out', 'model'], train: ['data', 'out', 'checkpoint'], evaluate: ['reference', 'input', 'model'], sweep: ['out', 'data'], 'add-noise': ['input', 'out'], export: ['out'] }[m[1] as 'denoise'];
      return json(res, 202, startJob(m[1]!, body, fields));
    }
    throw new HttpError(404, `no route ${route}`);
  };

  const serveStatic = (res: http.ServerResponse, pathname: string) => {
    const dir = options.staticDir;
    if (!dir) throw new HttpError(404, 'no user interface is built (npm run build:renderer)');
    const file = path.resolve(dir, '.' + (pathname === '/' ? '/index.html' : decodeURIComponent(pathname)));
    if (path.relative(dir, file).startsWith('..') || !existsSync(file) || !statSync(file).isFile()) throw new HttpError(404, 'not found');
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-security-policy': CSP,
      'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', origin);
        // DNS rebinding and cross-site requests: only our own host and origin.
        if (req.headers.host !== new URL(origin).host) throw new HttpError(403, 'wrong host');
        if (req.headers.origin && req.headers.origin !== origin) throw new HttpError(403, 'cross-origin request refused');
        const cookie = /(?:^|;\s*)ds_token=([a-f0-9]+)/.exec(req.headers.cookie ?? '')?.[1];
        const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
        const query = url.searchParams.get('token') ?? undefined;
        if (!sameToken(bearer ?? cookie ?? query, token) && !sameToken(query, token)) throw new HttpError(401, 'missing or wrong token');
        if (query && req.method === 'GET' && !url.pathname.startsWith('/api/')) {
          // First visit with ?token=…: keep it in a cookie the page's scripts cannot read.
          res.writeHead(303, { location: url.pathname, 'set-cookie': `ds_token=${token}; HttpOnly; SameSite=Strict; Path=/` });
          return res.end();
        }
        if (url.pathname.startsWith('/api/')) return await api(req, res, url);
        serveStatic(res, url.pathname);
      } catch (error) {
        const status = error instanceof HttpError ? error.status : (error as { status?: number }).status ?? 400;
        if (!res.headersSent) json(res, status, { error: (error as Error).message.split('\n')[0] });
        else res.end();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: origin, token, launchUrl: `${origin}/?token=${token}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
