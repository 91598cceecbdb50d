/**
 * The compute context's side of the protocol: initialise the backend once, keep loaded models,
 * denoise batches of slices with the same ModelDenoiser the Node workers use. Requests are taken
 * in order; a bad request answers with an error naming it and never stops the context.
 */
import type { BackendReport } from '../model/backend-report.js';
import { modelFromArtifacts } from '../model/model-artifacts.js';
import { ModelDenoiser } from '../model/model-denoiser.js';
import type { ComputeBackend, ComputeChannel, ComputeReply, ComputeRequest } from './protocol.js';

export function serveCompute(channel: ComputeChannel, init: (force?: ComputeBackend) => Promise<BackendReport>): void {
  const models = new Map<number, ModelDenoiser>();
  let backend: Promise<BackendReport> | undefined;
  let queue: Promise<void> = Promise.resolve();
  const reply = (message: ComputeReply, transfer?: ArrayBuffer[]) => channel.postMessage(message, transfer);

  const handle = async (request: ComputeRequest): Promise<void> => {
    switch (request.type) {
      case 'init':
        backend ??= init(request.force);
        reply({ type: 'ready', backend: await backend });
        return;
      case 'load': {
        if (!backend) throw new Error('load before init');
        await backend;
        const loaded = await modelFromArtifacts(request.artifacts, request.folder, { forInference: true });
        const denoiser = ModelDenoiser.fromLoaded(loaded, { tile: request.tile });
        models.get(request.id)?.dispose();
        models.set(request.id, denoiser);
        reply({ type: 'loaded', id: request.id, name: denoiser.name });
        return;
      }
      case 'denoise': {
        const denoiser = models.get(request.model);
        if (!denoiser) throw new Error(`no model ${request.model} is loaded`);
        const outputs = await denoiser.denoiseMany(request.slices);
        reply({ type: 'result', id: request.id, outputs, keptShares: outputs.map((o) => denoiser.keptShare(o)) }, outputs.map((o) => o.buffer as ArrayBuffer));
        return;
      }
      case 'unload':
        models.get(request.model)?.dispose();
        models.delete(request.model);
        return;
    }
  };

  channel.onMessage((message) => {
    const request = message as ComputeRequest;
    queue = queue.then(() => handle(request)).catch((error: unknown) => {
      const id = request && 'id' in request ? request.id : undefined;
      reply({ type: 'error', id, message: error instanceof Error ? error.message : String(error) });
    });
  });
}
