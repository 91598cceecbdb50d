/**
 * Every image listed in GOLDEN_PIXELS.tsv (the GDCM + pydicom reference decode) decodes to the
 * same stored values: lossless ones bit for bit (md5 of the little-endian array), lossy ones
 * within the tolerance below; the corrupt J2K and the truncated file fail with our typed error.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { DicomError } from '../src-main/dicom/errors.js';
import { readDicomImage } from '../src-main/dicom/read.js';
import type { StoredArray } from '../src-main/dicom/pixels.js';
import { FIXTURES, corpusFile, md5, readTsv } from './helpers.js';

const rows = readTsv(path.join(FIXTURES, 'GOLDEN_PIXELS.tsv'));

const DTYPE: Record<string, string> = {
  Uint8Array: 'uint8', Int8Array: 'int8', Uint16Array: 'uint16', Int16Array: 'int16', Uint32Array: 'uint32', Int32Array: 'int32',
};

function stats(a: StoredArray) {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, max, mean: sum / a.length };
}

/** numpy's shape: frames (if >1) × rows × columns × samples (if >1) */
function shapeOf(image: { frames: number; rows: number; columns: number; samplesPerPixel: number }): string {
  return [image.frames > 1 ? image.frames : undefined, image.rows, image.columns, image.samplesPerPixel > 1 ? image.samplesPerPixel : undefined]
    .filter((v) => v !== undefined)
    .join('x');
}

test('GOLDEN_PIXELS has rows to check', () => assert.ok(rows.length >= 100));

for (const row of rows) {
  const file = corpusFile(row.file);
  const expectFailure = row.decoded_by.startsWith('FAILS') || row.file.endsWith('MR_truncated.dcm');
  test(`golden pixels: ${row.file}`, { skip: file ? false : 'GPL file, only in ../shared' }, async () => {
    if (expectFailure) {
      await assert.rejects(readDicomImage(file!), (e: unknown) => {
        assert.ok(e instanceof DicomError, `expected DicomError, got ${e}`);
        assert.ok(e.message.includes(file!), 'error names the file');
        return true;
      });
      return;
    }
    const image = await readDicomImage(file!);
    assert.equal(shapeOf(image), row.shape, 'shape');
    assert.equal(DTYPE[image.pixels.constructor.name], row.dtype, 'dtype');
    const s = stats(image.pixels);
    if (row.lossy === 'no') {
      assert.equal(md5(image.pixels), row.md5_pixel_array_LE, `md5 (min ${s.min} max ${s.max} mean ${s.mean.toFixed(4)} vs ${row.min} ${row.max} ${row.mean})`);
    } else {
      // Lossy: the standard lets conforming JPEG / J2K decoders differ by IDCT/DWT rounding, about
      // ±1 stored value per sample. So we require the mean within 0.5 and the extremes within
      // 1 % of the range of the reference (our decoder in fact matches most of them bit for bit).
      const range = Number(row.max) - Number(row.min) || 1;
      assert.ok(Math.abs(s.mean - Number(row.mean)) <= 0.5, `mean ${s.mean} vs ${row.mean}`);
      assert.ok(Math.abs(s.min - Number(row.min)) <= 0.01 * range + 1, `min ${s.min} vs ${row.min}`);
      assert.ok(Math.abs(s.max - Number(row.max)) <= 0.01 * range + 1, `max ${s.max} vs ${row.max}`);
    }
  });
}
