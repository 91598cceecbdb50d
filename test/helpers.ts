/** Shared test helpers: where fixtures live, and temp folders that clean up after themselves. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'dicom');
/** The full corpus (GPL files included) when ../shared is beside the checkout. */
export const SHARED = path.resolve(ROOT, '..', 'shared', 'data', 'dicom');

/** A corpus file: the committed copy when we have one, else ../shared, else undefined. */
export function corpusFile(relative: string): string | undefined {
  for (const base of [FIXTURES, SHARED]) {
    const candidate = path.join(base, relative);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function fixture(relative: string): string {
  const file = path.join(FIXTURES, relative);
  if (!existsSync(file)) throw new Error(`missing fixture ${relative}`);
  return file;
}

export function readTsv(file: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const columns = head.split('\t');
  return lines.map((line) => Object.fromEntries(line.split('\t').map((v, i) => [columns[i], v ?? ''])));
}

export function tempDir(prefix = 'denoise-studio-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function md5(bytes: ArrayBufferView): string {
  return createHash('md5').update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest('hex');
}

/** sha256 of every file under a folder, for "inputs untouched" checks. */
export function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), `${s.size}:${s.mtimeMs}:${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

export const HAS_DCIODVFY = (() => {
  try { execFileSync('dciodvfy', [], { stdio: 'ignore' }); return true; } catch (e) { return (e as NodeJS.ErrnoException).code !== 'ENOENT'; }
})();

/** dciodvfy's errors for a file, each reduced to what identifies it across source and copy. */
export function dciodvfyErrors(file: string): string[] {
  let out = '';
  try {
    out = execFileSync('dciodvfy', ['-new', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  return out.split('\n').filter((l) => l.startsWith('Error')).map((line) => {
    // "Error - </A(gggg,eeee)[1]/B(gggg,eeee)> - message": an inherited bad UID is the same value
    // wherever it is referenced; otherwise the attribute (last path step) and the message.
    const m = /^Error - <\/?([^>]*)> - (.*)$/.exec(line);
    if (!m) return line;
    const message = m[2]!.replace(/\s+$/, '');
    if (/Illegal root for UID|Nothing but zero components/.test(message)) return message;
    const attribute = m[1]!.split('/').at(-1)!.replace(/\[\d+\]/g, '');
    return `${attribute}: ${message}`;
  });
}

