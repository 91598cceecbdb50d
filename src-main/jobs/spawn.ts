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
