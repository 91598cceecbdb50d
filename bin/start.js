#!/usr/bin/env node
// `npm start`: the desktop app when the Electron runtime is installed; otherwise the same UI on a
// loopback address in the browser (headless workstations, or installs made with
// ELECTRON_SKIP_BINARY_DOWNLOAD=1), with a message instead of a failure.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import process from 'node:process';

let electron;
try {
  electron = (await import('electron')).default;
} catch {
  electron = undefined;
}
if (typeof electron === 'string' && existsSync(electron)) {
  const child = spawn(electron, ['.', ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  process.stdout.write('No Electron runtime is installed here, so Denoise Studio runs in your browser instead.\n');
  const { serve } = await import('../dist/src-main/server/main.js');
  await serve(process.argv.slice(2));
}
