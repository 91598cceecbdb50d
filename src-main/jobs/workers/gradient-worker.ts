/** A data-parallel training helper: its own backend and model replica; shards in, gradients out. */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from '../../model/backend.js';
import { ShardGradients } from '../../model/train.js';

type Request =
  | { type: 'init'; modelTopology: string }
  | { type: 'compute'; id: number; weights: Float32Array[]; shard: { x: Float32Array; y: Float32Array; w: Float32Array; n: number; size: number; levels?: Float32Array } };

const port = parentPort!;
const { backend } = workerData as { backend?: BackendName };
let replica: ShardGradients | undefined;
const ready = initBackend({ force: backend });

port.on('message', (m: Request) => {
  void (async () => {
    try {
      await ready;
      if (m.type === 'init') {
        replica?.dispose();
        replica = await ShardGradients.fromTopology(m.modelTopology);
        port.postMessage({ type: 'ready' });
        return;
      }
      if (!replica) throw new Error('gradient helper used before init');
      const { grads, lossSum } = replica.compute(m.weights, m.shard);
      port.postMessage({ type: 'result', id: m.id, grads, lossSum }, grads.map((g) => g.buffer as ArrayBuffer));
    } catch (error) {
      port.postMessage({ type: 'error', id: 'id' in m ? m.id : undefined, message: (error as Error).message });
    }
  })();
});
