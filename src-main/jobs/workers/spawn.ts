/**
 * Starts a worker thread on one of our modules, from compiled JavaScript (dist/) or, in
 * development and tests, from TypeScript source through tsx's loader (workers do not inherit it).
 */
import { Worker } from 'node:worker_threads';

const fromSource = import.meta.url.endsWith('.ts');

export function spawnWorker(name: string, workerData: unknown): Worker {
  const target = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, import.meta.url);
  if (!fromSource) return new Worker(target, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `(async () => { const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(target.href)}); })();`;
  return new Worker(code, { eval: true, workerData });
}

/**
 * Calls `onDeath` once if the worker fails: an uncaught error, or an exit nobody asked for (a
 * crash, an out-of-memory kill, process.exit in the worker). Without this a worker that exits
 * without an error leaves its callers' promises pending for ever. Returns "I am closing it now".
 */
export function watchWorker(worker: Worker, name: string, onDeath: (error: Error) => void): () => void {
  let closing = false;
  let dead = false;
  const die = (error: Error) => { if (!dead) { dead = true; onDeath(error); } };
  worker.on('error', (e) => die(e instanceof Error ? e : new Error(String(e))));
  worker.on('exit', (code) => { if (!closing) die(new Error(`${name} worker exited unexpectedly (code ${code})`)); });
  return () => { closing = true; };
}
