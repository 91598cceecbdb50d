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
import { API_METHODS, type AppInfo, type CallMethod, type JobEvent, type JobMethod } from '../api/contract.js';
import type { ApiHost } from '../api/host.js';
import { encodeWire, hasBinary, WIRE_HEADER } from '../api/wire.js';
import { isInside } from '../shared/fs-paths.js';
import { contentSecurityPolicyFor } from '../shared/csp.js';

/** What a browser user is told when a folder lies outside the server's roots. */
export const ROOT_HINT = 'to open folders elsewhere, restart with npm start -- --root <folder> (several --root are allowed)';

export interface LoopbackOptions {
  /** The service behind the method table, with its path guard (its roots: the folders requests may name) */
  host: ApiHost;
  /** Shown to the UI: where results go by default, and the sample study */
  dataDir?: string;
  sampleStudy?: string;
  /** Built renderer (index.html + assets) to serve at / */
  staticDir?: string;
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
  const host = options.host;
  let origin = '';

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  /** Results with pixels go as one binary body and a JSON header (api/wire.ts); the rest as JSON. */
  const reply = (res: http.ServerResponse, status: number, body: unknown) => {
    if (!hasBinary(body)) return json(res, status, body);
    const wire = encodeWire(body);
    res.writeHead(status, { 'content-type': 'application/octet-stream', [WIRE_HEADER]: wire.header, 'cache-control': 'no-store' });
    res.end(wire.body);
  };

  // Routes, all generated from the method table: calls at /api/<method> (GET when the request is
  // empty, else POST with a JSON body), jobs at POST /api/jobs/<method>, then the job routes.
  const api = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const name = url.pathname.slice('/api/'.length);
    if (req.method === 'GET' && name === 'info') {
      const info: AppInfo = { dataDir: options.dataDir ?? '', roots: await host.roots(), sampleStudy: options.sampleStudy ?? '', mode: 'browser' };
      return json(res, 200, info);
    }
    if (Object.hasOwn(API_METHODS, name) && API_METHODS[name as CallMethod] === 'call' && (req.method === 'GET' || req.method === 'POST')) {
      const body = req.method === 'POST' ? await readBody(req) : {};
      return reply(res, 200, await host.call(name as CallMethod, body));
    }
    if (req.method === 'GET' && name === 'jobs') return json(res, 200, await host.jobs());
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && (m = /^jobs\/([\w-]{1,64})\/events$/.exec(name))) {
      // Server-Sent Events: the events kept so far (after ?after=<seq>), then live ones.
      const after = Number(url.searchParams.get('after') ?? -1);
      const { jobRegistry } = host;
      const send = (e: JobEvent) => { if (e.seq > after) res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`); };
      jobRegistry.history(m[1]!); // 404 before the stream starts
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      const stop = jobRegistry.subscribe(m[1]!, send);
      req.on('close', stop);
      return;
    }
    if (req.method === 'POST' && (m = /^jobs\/([\w-]{1,64})\/cancel$/.exec(name))) return json(res, 200, { cancelled: await host.cancel(m[1]!) });
    if (req.method === 'POST' && (m = /^jobs\/(\w{1,64})$/.exec(name)) && Object.hasOwn(API_METHODS, m[1]!) && API_METHODS[m[1] as JobMethod] === 'job') {
      return json(res, 202, await host.startJob(m[1] as JobMethod, await readBody(req)));
    }
    throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
  };

  const serveStatic = (res: http.ServerResponse, pathname: string) => {
    const dir = options.staticDir;
    if (!dir) throw new HttpError(404, 'no user interface is built (npm run build:renderer)');
    const file = path.resolve(dir, '.' + (pathname === '/' ? '/index.html' : decodeURIComponent(pathname)));
    if (!isInside(dir, file) || !existsSync(file) || !statSync(file).isFile()) throw new HttpError(404, 'not found');
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-security-policy': contentSecurityPolicyFor(pathname === '/' ? '/index.html' : pathname),
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
