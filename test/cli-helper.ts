/**
 * Test support: the CLI's `run()` in this process with its output captured, and a work folder
 * that is also the CLI's home (its catalogue, where --data folders are indexed) for one test file.
 */
import { Writable } from 'node:stream';
import { after, before } from 'node:test';
import { run } from '../src-main/cli/main.js';
import { tempDir } from './helpers.js';

export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const sink = (append: (s: string) => void) => new Writable({ write(chunk, _e, cb) { append(String(chunk)); cb(); } });
  const code = await run(args, { out: sink((s) => { out += s; }) as never, err: sink((s) => { err += s; }) as never });
  return { code, out, err };
}

/** A fresh folder for this test file, set as DENOISE_STUDIO_HOME; removed after the file's tests. */
export function cliWorkDir(): { readonly dir: string } {
  let work: { dir: string; cleanup: () => void } | undefined;
  before(() => { work = tempDir(); process.env.DENOISE_STUDIO_HOME = work.dir; });
  after(() => work?.cleanup());
  return { get dir() { return work!.dir; } };
}
