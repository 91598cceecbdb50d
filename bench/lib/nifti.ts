/**
 * Reads a NIfTI volume (nifti-reader-js) as float slices for the benchmark's real-noise checks.
 * Only what the fixtures need: integer or float voxels, scl_slope/inter applied, axial slices of
 * one time point. NIfTI is stored x-fastest, like a DICOM row, so a slice is one contiguous block.
 */
import { readFileSync } from 'node:fs';
import * as nifti from 'nifti-reader-js';

export interface NiftiVolume {
  width: number;
  height: number;
  slices: number;
  timePoints: number;
  /** slice(z, t): the values of slice z at time point t. */
  slice(z: number, t?: number): Float32Array;
}

const TYPED: Record<number, (b: ArrayBuffer) => ArrayLike<number>> = {
  2: (b) => new Uint8Array(b), 4: (b) => new Int16Array(b), 8: (b) => new Int32Array(b),
  16: (b) => new Float32Array(b), 64: (b) => new Float64Array(b), 256: (b) => new Int8Array(b),
  512: (b) => new Uint16Array(b), 768: (b) => new Uint32Array(b),
};

export function readNifti(file: string): NiftiVolume {
  const bytes = readFileSync(file);
  let data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  if (nifti.isCompressed(data)) data = nifti.decompress(data) as ArrayBuffer;
  if (!nifti.isNIFTI(data)) throw new Error(`${file}: not a NIfTI file`);
  const header = nifti.readHeader(data);
  if (!header.littleEndian) throw new Error(`${file}: big-endian NIfTI is not read by the benchmark`);
  const typed = TYPED[header.datatypeCode];
  if (!typed) throw new Error(`${file}: NIfTI datatype ${header.datatypeCode} is not read by the benchmark`);
  const voxels = typed(nifti.readImage(header, data).slice(0));
  const [, width, height, slices, timePoints] = header.dims as [number, number, number, number, number];
  const slope = header.scl_slope || 1, inter = header.scl_inter || 0;
  const plane = width * height;
  return {
    width, height, slices, timePoints: Math.max(1, timePoints ?? 1),
    slice(z, t = 0) {
      const start = (t * slices + z) * plane;
      const out = new Float32Array(plane);
      for (let i = 0; i < plane; i++) out[i] = voxels[start + i]! * slope + inter;
      return out;
    },
  };
}
