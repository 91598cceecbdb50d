/**
 * `npm run bench:dicom`: header-parse and full-decode throughput (files/s, MB/s) over the
 * DICOM corpus (test fixtures, plus ../shared/data/dicom when present), and — when
 * /usr/bin/python3 has pydicom — pydicom's figures over the same files in the same run, with the
 * ratio. Decode is compared on the files both can decode.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initCodecs } from '../src-main/dicom/codecs.js';
import { readDicomHeader, readDicomImage } from '../src-main/dicom/read.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(ROOT, '..', 'shared', 'data', 'dicom');
const corpus = existsSync(SHARED) ? SHARED : path.join(ROOT, 'test', 'fixtures', 'dicom');
const REPS = Number(process.env.BENCH_REPS ?? 3);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : /\.(tsv|txt|md|nii|gz)$|README/.test(name) ? [] : [p];
  });
}

async function measure(files: string[], work: (f: string) => Promise<unknown>) {
  const ok: string[] = [];
  for (const f of files) {
    try {
      await work(f);
      ok.push(f);
    } catch {
      /* not decodable: excluded from the timing */
    }
  }
  const started = performance.now();
  for (let r = 0; r < REPS; r++) for (const f of ok) await work(f);
  const seconds = (performance.now() - started) / 1000;
  const bytes = ok.reduce((n, f) => n + statSync(f).size, 0) * REPS;
  return { files: ok, seconds, bytes };
}

const rate = (m: { files: string[]; seconds: number; bytes: number }) => ({
  filesPerSecond: (m.files.length * REPS) / m.seconds,
  mbPerSecond: m.bytes / 2 ** 20 / m.seconds,
});

const fmt = (r: { filesPerSecond: number; mbPerSecond: number }) => `${r.filesPerSecond.toFixed(0).padStart(7)} files/s ${r.mbPerSecond.toFixed(1).padStart(8)} MB/s`;

async function main() {
  await initCodecs();
  const files = walk(corpus).sort();
  console.log(`corpus: ${corpus} (${files.length} files), ${REPS} repetitions, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, Node ${process.version}`);
  const header = await measure(files, (f) => readDicomHeader(f));
  const decode = await measure(files, (f) => readDicomImage(f));
  const ours = { header: rate(header), decode: rate(decode) };
  console.log(`denoise-studio header parse: ${fmt(ours.header)}  (${header.files.length} files)`);
  console.log(`denoise-studio full decode:  ${fmt(ours.decode)}  (${decode.files.length} files)`);

  const python = '/usr/bin/python3';
  const probe = existsSync(python) && spawnSync(python, ['-c', 'import pydicom, numpy']).status === 0;
  if (!probe) {
    console.log('pydicom: not installed for /usr/bin/python3 (apt-get install python3-pydicom) — no comparison');
    return;
  }
  const py = spawnSync(python, [path.join(ROOT, 'bench', 'pydicom_reference.py'), String(REPS)], { input: files.join('\n'), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (py.status !== 0) {
    console.log(`pydicom run failed: ${py.stderr.split('\n').slice(-2).join(' ')}`);
    return;
  }
  const ref = JSON.parse(py.stdout) as { version: string; header: { files: string[]; seconds: number; bytes: number }; decode: { files: string[]; seconds: number; bytes: number } };
  // Like for like: time both over the files both can handle.
  const both = (a: string[], b: string[]) => a.filter((f) => b.includes(f));
  const headerBoth = both(header.files, ref.header.files);
  const decodeBoth = both(decode.files, ref.decode.files);
  const oursHeader = rate(await measure(headerBoth, (f) => readDicomHeader(f)));
  const oursDecode = rate(await measure(decodeBoth, (f) => readDicomImage(f)));
  const pyOn = (list: string[]) => JSON.parse(spawnSync(python, [path.join(ROOT, 'bench', 'pydicom_reference.py'), String(REPS)], { input: list.join('\n'), encoding: 'utf8', maxBuffer: 64 << 20 }).stdout);
  const pyHeader = rate(pyOn(headerBoth).header);
  const pyDecode = rate(pyOn(decodeBoth).decode);
  console.log(`pydicom ${ref.version} reads ${ref.header.files.length} headers (force=True) and decodes ${ref.decode.files.length} files with its installed handlers`);
  console.log(`same ${headerBoth.length} files, header parse:  denoise-studio ${fmt(oursHeader)} | pydicom ${fmt(pyHeader)} → ${(oursHeader.filesPerSecond / pyHeader.filesPerSecond).toFixed(2)}×`);
  console.log(`same ${decodeBoth.length} files, full decode:   denoise-studio ${fmt(oursDecode)} | pydicom ${fmt(pyDecode)} → ${(oursDecode.filesPerSecond / pyDecode.filesPerSecond).toFixed(2)}×`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
