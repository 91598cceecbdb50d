/**
 * The service's own process. Electron starts it with utilityProcess.fork (tests with Node's
 * child_process.fork): indexing, decoding, previews, exports and every SQLite call run here, so
 * the window's main process never blocks; jobs run in worker threads started from here.
 * argv[2]: JSON { roots: string[], database?: string } — the folders requests may name at start.
 */
import { JobRegistry } from './jobs.js';
import { ApiHost } from './host.js';
import { PathGuard } from './path-guard.js';
import { DenoiseStudioService } from './service.js';
import { serveEndpoint } from './remote.js';
import { attachComputeContext, detachComputeContext } from '../jobs/workers/slice-pools.js';
import { COMPUTE_PORT_MESSAGE } from '../compute/protocol.js';

/** Electron's MessagePortMain, as much of it as we use. */
interface PortMain { postMessage(m: unknown): void; on(event: 'message', l: (e: { data: unknown }) => void): void; on(event: 'close', l: () => void): void; start(): void; close(): void }
interface ParentPort { postMessage(m: unknown): void; on(event: 'message', l: (e: { data: unknown; ports?: PortMain[] }) => void): void }


function computePortChannel(port: PortMain) {
  return {
    postMessage: (m: unknown) => port.postMessage(m),
    onMessage: (l: (m: unknown) => void) => { port.on('message', (e) => l(e.data)); port.start(); },
    close: () => port.close(),
  };
}

const options = JSON.parse(process.argv[2] ?? '{}') as { roots?: string[]; database?: string };
const service = new DenoiseStudioService({ database: options.database });
const host = new ApiHost(service, new PathGuard(options.roots ?? [], 'choose the folder with File › Open Folder… first'));
const registry: JobRegistry = host.jobRegistry;
const endpoint = Object.assign(host, { onJobEvent: (l: Parameters<JobRegistry['onEvent']>[0]) => registry.onEvent(l) });

// Electron's utility process has process.parentPort; a Node child has process.send.
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
if (parentPort) {
  serveEndpoint(endpoint, {
    postMessage: (m) => parentPort.postMessage(m),
    onMessage: (l) => parentPort.on('message', (e) => {
      const port = e.ports?.[0];
      if ((e.data as { type?: string } | null)?.type !== COMPUTE_PORT_MESSAGE) return l(e.data);
      if (!port) return;
      port.on('close', () => detachComputeContext('the compute window went away'));
      attachComputeContext(computePortChannel(port));
    }),
  });
} else if (process.send) {
  serveEndpoint(endpoint, { postMessage: (m) => process.send!(m), onMessage: (l) => process.on('message', l) });
  process.on('disconnect', () => { service.close(); process.exit(0); });
} else {
  throw new Error('process-host: start me with utilityProcess.fork or child_process.fork');
}
