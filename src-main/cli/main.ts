/**
 * `denoise-studio`: the command line over the same service as the app (DESIGN.md "Command line").
 * Every command takes --json (one JSON object on stdout), exits 0 on success and 1 on a user
 * error with a one-line message on stderr, and never writes into its input folder.
 */
import { Command, CommanderError } from 'commander';
import { DenoiseStudioService } from '../api/service.js';
import type { IndexResult } from '../api/contract.js';
import { formatIndex } from './format.js';

export async function run(argv: string[], io = { out: process.stdout, err: process.stderr }): Promise<number> {
  const program = new Command('denoise-studio')
    .description('Denoise CT and MR DICOM series with denoising autoencoders (offline).')
    .option('--db <file>', 'catalogue database (default: the app data folder, or $DENOISE_STUDIO_HOME)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) });

  let exitCode = 0;
  program
    .command('index')
    .description('index a folder or DICOMDIR: patients → studies → series, with counts, geometry and problems')
    .argument('<folder>', 'folder (searched recursively) or DICOMDIR file')
    .option('--json', 'print one JSON object')
    .action(async (folder: string, opts: { json?: boolean }) => {
      const service = new DenoiseStudioService({ database: program.opts().db });
      try {
        const showProgress = !opts.json && io.err.isTTY;
        const result: IndexResult = await service.index({ path: folder }, (p) => {
          if (showProgress) io.err.write(`\rindexing ${p.done}/${p.total}`);
        });
        if (showProgress) io.err.write('\n');
        io.out.write(opts.json ? JSON.stringify(result) + '\n' : formatIndex(result));
      } finally {
        service.close();
      }
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    const message = error instanceof Error ? error.message : String(error);
    io.err.write(`denoise-studio: ${message.split('\n')[0]}\n`);
    exitCode = 1;
  }
  return exitCode;
}

const invokedDirectly = process.argv[1] && /(denoise-studio(\.js)?|cli[\\/]main\.[jt]s)$/.test(process.argv[1]);
if (invokedDirectly) {
  run(process.argv.slice(2)).then((code) => process.exit(code));
}
