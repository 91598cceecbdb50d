/**
 * `npm run serve -- [--root <folder>]… [--port <n>]`: the app in a browser on headless
 * workstations. Prints the address (with its one-time token) instead of opening a window.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { ApiHost } from '../api/host.js';
import { PathGuard } from '../api/path-guard.js';
import { DenoiseStudioService, defaultDataDir } from '../api/service.js';
import { ROOT_HINT, startLoopbackServer } from './server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository (or installation) root: two levels up from src-main/server, three from dist/. */
export const APP_ROOT = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
export const RENDERER_DIST = path.join(APP_ROOT, 'dist-renderer');
export const SAMPLE_STUDY = path.join(APP_ROOT, 'models', 'sample-study');

export async function serve(argv: string[]): Promise<void> {
  const program = new Command('denoise-studio-serve')
    .option('--root <folder...>', 'folders the browser may open (default: the current folder)')
    .option('--port <n>', 'port on 127.0.0.1 (default: a random free port)', (v) => Number(v))
    .parse(argv, { from: 'user' });
  const opts = program.opts<{ root?: string[]; port?: number }>();
  const service = new DenoiseStudioService();
  // A headless server is its own process: the service runs in it, behind the same API table.
  const host = new ApiHost(service, new PathGuard([...(opts.root ?? [process.cwd()]), SAMPLE_STUDY, defaultDataDir()],
    ROOT_HINT));
  const server = await startLoopbackServer({ host, staticDir: RENDERER_DIST, port: opts.port, dataDir: defaultDataDir(), sampleStudy: SAMPLE_STUDY });
  process.stdout.write(`Denoise Studio is running at ${server.launchUrl}\n(open it in a browser on this machine; Ctrl-C stops it)\n`);
  const stop = () => { void server.close().then(() => { service.close(); process.exit(0); }); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && /server[\\/]main\.[jt]s$/.test(process.argv[1])) {
  serve(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`denoise-studio serve: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
