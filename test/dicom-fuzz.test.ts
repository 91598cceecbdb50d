/**
 * Fuzzing the reader: 2,400 seeded mutations (bit flips, truncations, corrupted length fields,
 * garbage runs) of fixture files in every transfer syntax. Each must decode or fail with our
 * DicomError — never another exception, never a hang (each < 1 s), with memory bounded.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DicomError } from '../src-main/dicom/errors.js';
import { decodeDicomBytes, readDicomHeader } from '../src-main/dicom/read.js';
import { parseDicomBytes } from '../src-main/dicom/parse.js';
import { fixture } from './helpers.js';

const SEEDS = [
  'pydicom/MR_small.dcm', 'pydicom/MR_small_implicit.dcm', 'pydicom/MR_small_bigendian.dcm', 'pydicom/MR_small_RLE.dcm',
  'pydicom/MR_small_jp2klossless.dcm', 'pydicom/MR_small_jpeg_ls_lossless.dcm', 'pydicom/image_dfl.dcm', 'pydicom/SC_rgb_jpeg_dcmtk.dcm',
  'pydicom/SC_rgb_jpeg_gdcm.dcm', 'pydicom/rtdose_rle.dcm', 'pydicom/JPGExtended.dcm', 'pydicom/liver_1frame.dcm',
  'pydicom/no_meta.dcm', 'pydicom/ExplVR_BigEndNoMeta.dcm', 'pydicom/SC_ybr_full_422_uncompressed.dcm', 'pydicom/dicomdirtests/DICOMDIR',
];
const CASES_PER_SEED = 150;
const MAX_MS = 1000;
const MAX_RSS = 3 * 2 ** 30;

/** mulberry32: small, seeded, good enough for choosing mutations. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(original: Uint8Array, random: () => number): { bytes: Uint8Array; how: string } {
  const int = (n: number) => Math.floor(random() * n);
  const kind = int(5);
  if (kind === 0) {
    const length = int(original.length);
    return { bytes: original.slice(0, length), how: `truncate at ${length}` };
  }
  const bytes = original.slice();
  // Most structure sits in the first 2 KiB; bias mutations there.
  const where = () => (random() < 0.8 ? int(Math.min(bytes.length, 2048)) : int(bytes.length));
  if (kind === 1) {
    const flips = 1 + int(8);
    for (let i = 0; i < flips; i++) bytes[where()] ^= 1 << int(8);
    return { bytes, how: `${flips} bit flips` };
  }
  if (kind === 2) {
    // Length fields: overwrite a 2- or 4-byte little-endian value with an extreme one.
    const at = where();
    const values = [0xffffffff, 0x7fffffff, 0xfffffffe, 0, 1, bytes.length * 2, 0xffff];
    const v = values[int(values.length)];
    for (let i = 0; i < 4 && at + i < bytes.length; i++) bytes[at + i] = (v >>> (8 * i)) & 0xff;
    return { bytes, how: `length 0x${v.toString(16)} at ${at}` };
  }
  if (kind === 3) {
    const at = where();
    const run = 1 + int(64);
    for (let i = 0; i < run && at + i < bytes.length; i++) bytes[at + i] = int(256);
    return { bytes, how: `${run} random bytes at ${at}` };
  }
  // Image-module values: rows/columns/bits/frames set to extremes.
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, Math.min(bytes.length, 4096)));
  const tags = ['\x28\x00\x10\x00', '\x28\x00\x11\x00', '\x28\x00\x00\x01', '\x28\x00\x01\x01', '\x28\x00\x08\x00', '\x28\x00\x02\x00'];
  const tag = tags[int(tags.length)];
  const at = text.indexOf(tag);
  if (at >= 0 && at + 10 < bytes.length) {
    const valueAt = at + 8;
    bytes[valueAt] = int(256);
    bytes[valueAt + 1] = int(256);
  }
  return { bytes, how: `image module value near ${at}` };
}

test(`fuzz: ${SEEDS.length * CASES_PER_SEED} mutated files parse or fail with DicomError, each under ${MAX_MS} ms`, async () => {
  let parsed = 0;
  let rejected = 0;
  let slowest = 0;
  let maxRss = 0;
  for (const [s, seed] of SEEDS.entries()) {
    const original = new Uint8Array(readFileSync(fixture(seed)));
    const random = rng(0x5eed + s);
    for (let c = 0; c < CASES_PER_SEED; c++) {
      const { bytes, how } = mutate(original, random);
      const name = `${seed}#${c} (${how})`;
      const started = performance.now();
      try {
        parseDicomBytes(bytes, name, { headerOnly: true });
        await decodeDicomBytes(bytes, name);
        parsed++;
      } catch (error) {
        if (!(error instanceof DicomError)) assert.fail(`${name}: threw ${error instanceof Error ? error.stack : String(error)}`);
        assert.ok(error.message.startsWith(name), `${name}: error names the file`);
        rejected++;
      }
      const ms = performance.now() - started;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < MAX_MS, `${name} took ${ms.toFixed(0)} ms`);
      if (c % 25 === 0) {
        maxRss = Math.max(maxRss, process.memoryUsage().rss);
        assert.ok(maxRss < MAX_RSS, `resident memory ${(maxRss / 2 ** 20).toFixed(0)} MiB after ${name}`);
      }
    }
  }
  assert.equal(parsed + rejected, SEEDS.length * CASES_PER_SEED);
  assert.ok(rejected > 0 && parsed > 0, `both outcomes seen (${parsed} parsed, ${rejected} rejected)`);
  console.log(`fuzz: ${parsed} parsed, ${rejected} rejected with DicomError, slowest ${slowest.toFixed(0)} ms, peak RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB`);
});

test('bad files give one clear typed error each', async () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty.dcm', new Uint8Array(0), /not a DICOM file/],
    ['text.dcm', new TextEncoder().encode('hello, this is not DICOM at all'), /not a DICOM file/],
    ['preamble-only.dcm', (() => { const b = new Uint8Array(132); b.set([0x44, 0x49, 0x43, 0x4d], 128); return b; })(), /./],
    ['truncated.dcm', new Uint8Array(readFileSync(fixture('pydicom/MR_truncated.dcm'))), /file ends inside an element|declares 8192 bytes but only 8130 remain/],
  ];
  for (const [name, bytes, reason] of cases) {
    await assert.rejects(decodeDicomBytes(bytes, name), (e: unknown) => e instanceof DicomError && e.message.startsWith(`${name}: `) && reason.test(e.reason));
  }
  // Unknown transfer syntax: patch the UID in the meta header of a real file.
  const bytes = new Uint8Array(readFileSync(fixture('pydicom/MR_small.dcm')));
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, 400));
  const at = text.indexOf('1.2.840.10008.1.2.1');
  bytes.set(new TextEncoder().encode('1.2.840.10008.1.2.9'), at);
  await assert.rejects(decodeDicomBytes(bytes, 'odd-syntax.dcm'), (e: unknown) => e instanceof DicomError && e.code === 'unsupported-transfer-syntax' && /unsupported transfer syntax 1\.2\.840\.10008\.1\.2\.9/.test(e.message));
  await assert.rejects(readDicomHeader('/nonexistent/file.dcm'), (e: unknown) => e instanceof DicomError && e.code === 'unreadable' && /file not found/.test(e.message));
});
