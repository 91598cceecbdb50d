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

interface ParentPort { postMessage(m: unknown): void; on(event: 'message', l: (e: { data: unknown }) => void): void }

const options = JSON.parse(process.argv[2] ?? '{}') as { roots?: string[]; database?: string };
const service = new DenoiseStudioService({ database: options.database });
const host = new ApiHost(service, new PathGuard(options.roots ?? [], 'choose the folder with File › Open Folder… first'));
const registry: JobRegistry = host.jobRegistry;
const endpoint = Object.assign(host, { onJobEvent: (l: Parameters<JobRegistry['onEvent']>[0]) => registry.onEvent(l) });

// Electron's utility process has process.parentPort; a Node child has process.send.
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
if (parentPort) {
  serveEndpoint(endpoint, { postMessage: (m) => parentPort.postMessage(m), onMessage: (l) => parentPort.on('message', (e) => l(e.data)) });
} else if (process.send) {
  serveEndpoint(endpoint, { postMessage: (m) => process.send!(m), onMessage: (l) => process.on('message', l) });
  process.on('disconnect', () => { service.close(); process.exit(0); });
} else {
  throw new Error('process-host: start me with utilityProcess.fork or child_process.fork');
}
