/**
 * Pixel Data → typed arrays of stored values, exactly as the standard defines them: byte order,
 * Bits Allocated / Bits Stored / High Bit (masking and sign extension), Pixel Representation,
 * planar configuration (always returned interleaved), 1-bit packing, multi-frame, chroma
 * subsampled native YBR_FULL_422, and compressed frames through ./codecs. No rescale here: the
 * values stay in their stored type; slope and intercept travel in the header.
 */
import dicomParser from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import { decodeFrame } from './codecs.js';
import { DicomError, describeThrown } from './errors.js';
import type { ImageHeader } from './header.js';
import type { ParsedDicom } from './parse.js';
import type { TransferSyntax } from './transfer-syntax.js';

export type StoredArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** We refuse to allocate more than this for one object's decoded pixels. */
export const MAX_DECODED_BYTES = 2 ** 31 - 1;

export interface DecodedImage {
  file: string;
  header: ImageHeader;
  syntax: TransferSyntax;
  frames: number;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  /** frames × rows × columns × samples (interleaved), stored values */
  pixels: StoredArray;
  /** Photometric of `pixels` (native YBR_FULL_422 comes back expanded as YBR_FULL) */
  photometric: string;
}

export function decodePixels(parsed: ParsedDicom, header: ImageHeader): DecodedImage {
  const { file, dataSet, syntax, syntaxUid } = parsed;
  if (!syntax) throw new DicomError('unsupported-transfer-syntax', file, `unsupported transfer syntax ${syntaxUid}`);
  const element = dataSet.elements.x7fe00010;
  if (!element) throw new DicomError('no-pixel-data', file, 'no Pixel Data (7FE0,0010) in this object');
  checkGeometry(header, file);
  const { rows, columns, frames, samplesPerPixel, bitsAllocated } = header;
  const samplesPerFrame = rows * columns * samplesPerPixel;
  let pixels: StoredArray;
  let photometric = header.photometric;
  if (syntax.pixels === 'native') {
    if (element.encapsulatedPixelData) throw new DicomError('malformed', file, `Pixel Data is encapsulated but the transfer syntax (${syntax.name}) is native`);
    const native = readNative(dataSet, element, header, syntax, file);
    pixels = native.pixels;
    photometric = native.photometric;
  } else {
    if (!element.encapsulatedPixelData) throw new DicomError('malformed', file, `${syntax.name} requires encapsulated Pixel Data`);
    const bytesPerSample = bitsAllocated / 8;
    const all = new Uint8Array(frames * samplesPerFrame * bytesPerSample);
    for (let f = 0; f < frames; f++) {
      const encoded = encodedFrame(dataSet, element, f, frames, file);
      let decoded: Uint8Array;
      try {
        decoded = decodeFrame(syntax.pixels as Exclude<typeof syntax.pixels, 'native'>, encoded, header);
      } catch (thrown) {
        throw new DicomError('decode-failed', file, `${syntax.name} frame ${f + 1} could not be decoded: ${describeThrown(thrown)}`, { cause: thrown });
      }
      if (decoded.length !== samplesPerFrame * bytesPerSample) {
        throw new DicomError('decode-failed', file, `${syntax.name} frame ${f + 1} decoded to ${decoded.length} bytes, expected ${samplesPerFrame * bytesPerSample} (${rows}×${columns}×${samplesPerPixel} at ${bitsAllocated} bits)`);
      }
      all.set(decoded, f * decoded.length);
    }
    pixels = typedView(all.buffer, bitsAllocated, header.pixelRepresentation);
    // JPEG-based codecs put colour in YBR when the header says so; we keep it (see color.ts).
    if (syntax.pixels === 'jpeg' && photometric === 'YBR_FULL_422') photometric = 'YBR_FULL';
  }
  applyBitsStored(pixels, header);
  return { file, header, syntax, frames, rows, columns, samplesPerPixel, pixels, photometric };
}

/** One frame of a decoded image (a view, not a copy). */
export function frameOf(image: DecodedImage, index: number): StoredArray {
  const size = image.rows * image.columns * image.samplesPerPixel;
  return image.pixels.subarray(index * size, (index + 1) * size) as StoredArray;
}

function checkGeometry(h: ImageHeader, file: string): void {
  if (!h.rows || !h.columns) throw new DicomError('malformed', file, `Rows/Columns missing or zero (${h.rows}×${h.columns})`);
  if (![1, 8, 16, 32].includes(h.bitsAllocated)) throw new DicomError('malformed', file, `unsupported Bits Allocated ${h.bitsAllocated}`);
  if (h.samplesPerPixel !== 1 && h.samplesPerPixel !== 3) throw new DicomError('malformed', file, `unsupported Samples per Pixel ${h.samplesPerPixel}`);
  if (h.bitsStored < 1 || h.bitsStored > h.bitsAllocated) throw new DicomError('malformed', file, `Bits Stored ${h.bitsStored} does not fit Bits Allocated ${h.bitsAllocated}`);
  const bytes = h.rows * h.columns * h.samplesPerPixel * h.frames * Math.max(1, h.bitsAllocated / 8);
  if (bytes > MAX_DECODED_BYTES) throw new DicomError('too-large', file, `declared image is ${(bytes / 2 ** 30).toFixed(1)} GiB (${h.frames} frames of ${h.rows}×${h.columns}×${h.samplesPerPixel}), beyond the 2 GiB limit`);
}

function typedView(buffer: ArrayBufferLike, bitsAllocated: number, pixelRepresentation: number): StoredArray {
  const signed = pixelRepresentation === 1;
  switch (bitsAllocated) {
    case 32:
      return signed ? new Int32Array(buffer) : new Uint32Array(buffer);
    case 16:
      return signed ? new Int16Array(buffer) : new Uint16Array(buffer);
    default:
      return signed ? new Int8Array(buffer) : new Uint8Array(buffer);
  }
}

function readNative(ds: DataSet, el: Element, h: ImageHeader, syntax: TransferSyntax, file: string): { pixels: StoredArray; photometric: string } {
  const { rows, columns, frames, samplesPerPixel, bitsAllocated } = h;
  const pixelsPerFrame = rows * columns;
  const source = ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
  if (bitsAllocated === 1) {
    const needed = Math.ceil((pixelsPerFrame * samplesPerPixel * frames) / 8);
    if (source.length < needed) throw truncatedPixels(file, source.length, needed);
    const out = new Uint8Array(pixelsPerFrame * samplesPerPixel * frames);
    for (let i = 0; i < out.length; i++) out[i] = (source[i >> 3] >> (i & 7)) & 1; // LSB first
    return { pixels: out, photometric: h.photometric };
  }
  const bytesPerSample = bitsAllocated / 8;
  const subsampled = h.photometric === 'YBR_FULL_422' || h.photometric === 'YBR_PARTIAL_422';
  const storedSamplesPerFrame = subsampled ? pixelsPerFrame * 2 : pixelsPerFrame * samplesPerPixel;
  const needed = storedSamplesPerFrame * frames * bytesPerSample;
  if (source.length < needed) throw truncatedPixels(file, source.length, needed);
  const bytes = new Uint8Array(needed);
  bytes.set(source.subarray(0, needed));
  if (!syntax.littleEndian) swapBytes(bytes, el.vr === 'OW' && bitsAllocated === 8 ? 2 : bytesPerSample);
  let pixels = typedView(bytes.buffer, bitsAllocated, h.pixelRepresentation);
  let photometric = h.photometric;
  if (subsampled) {
    pixels = expand422(pixels, pixelsPerFrame * frames);
    photometric = h.photometric.replace('_422', '');
  } else if (samplesPerPixel > 1 && h.planarConfiguration === 1) {
    pixels = interleave(pixels, pixelsPerFrame, samplesPerPixel, frames);
  }
  return { pixels, photometric };
}

const truncatedPixels = (file: string, have: number, need: number) =>
  new DicomError('truncated', file, `Pixel Data holds ${have} bytes, the image needs ${need}`);

function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 2) {
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      const t = bytes[i];
      bytes[i] = bytes[i + 1];
      bytes[i + 1] = t;
    }
  } else if (width === 4) {
    for (let i = 0; i + 3 < bytes.length; i += 4) {
      let t = bytes[i];
      bytes[i] = bytes[i + 3];
      bytes[i + 3] = t;
      t = bytes[i + 1];
      bytes[i + 1] = bytes[i + 2];
      bytes[i + 2] = t;
    }
  }
}

/** R…R G…G B…B per frame → RGB RGB … */
function interleave(planar: StoredArray, pixelsPerFrame: number, samples: number, frames: number): StoredArray {
  const out = new (planar.constructor as new (n: number) => StoredArray)(planar.length);
  for (let f = 0; f < frames; f++) {
    const base = f * pixelsPerFrame * samples;
    for (let s = 0; s < samples; s++) {
      const plane = base + s * pixelsPerFrame;
      for (let p = 0; p < pixelsPerFrame; p++) out[base + p * samples + s] = planar[plane + p];
    }
  }
  return out;
}

/** Y0 Y1 Cb Cr pairs → Y0 Cb Cr Y1 Cb Cr (horizontal chroma subsampling undone). */
function expand422(packed: StoredArray, pixels: number): StoredArray {
  const out = new (packed.constructor as new (n: number) => StoredArray)(pixels * 3);
  for (let p = 0; p < pixels; p += 2) {
    const i = p * 2;
    const cb = packed[i + 2];
    const cr = packed[i + 3];
    out[p * 3] = packed[i];
    out[p * 3 + 1] = cb;
    out[p * 3 + 2] = cr;
    if (p + 1 < pixels) {
      out[p * 3 + 3] = packed[i + 1];
      out[p * 3 + 4] = cb;
      out[p * 3 + 5] = cr;
    }
  }
  return out;
}

/**
 * Keep only the Bits Stored bits (ending at High Bit) and sign-extend them for signed data. This
 * also repairs codecs that return a signed image as unsigned (J2K precision vs Pixel Representation).
 */
function applyBitsStored(pixels: StoredArray, h: ImageHeader): void {
  const { bitsStored, bitsAllocated, highBit } = h;
  if (bitsAllocated === 1 || bitsStored >= bitsAllocated) return;
  const shift = Math.max(0, highBit + 1 - bitsStored);
  const mask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
  const signBit = 2 ** (bitsStored - 1);
  const range = 2 ** bitsStored;
  const signed = h.pixelRepresentation === 1;
  for (let i = 0; i < pixels.length; i++) {
    let v = (pixels[i] >>> shift) & mask;
    if (signed && v >= signBit) v -= range;
    pixels[i] = v;
  }
}

/** The encoded bytes of frame `index`, whichever way the fragments are laid out. */
function encodedFrame(ds: DataSet, el: Element, index: number, frames: number, file: string): Uint8Array {
  const fragments = el.fragments ?? [];
  if (fragments.length === 0) throw new DicomError('malformed', file, 'encapsulated Pixel Data has no fragments');
  try {
    if (el.basicOffsetTable && el.basicOffsetTable.length > 0) {
      if (el.basicOffsetTable.length < frames) throw new Error(`Basic Offset Table lists ${el.basicOffsetTable.length} frames, header says ${frames}`);
      return dicomParser.readEncapsulatedImageFrame(ds, el, index);
    }
    if (frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length);
    if (fragments.length === frames) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, index, 1);
    // Several fragments per frame and no offset table: find JPEG frame starts.
    const table = dicomParser.createJPEGBasicOffsetTable(ds, el);
    if (table.length < frames) throw new Error(`found ${table.length} frames in the fragments, header says ${frames}`);
    return dicomParser.readEncapsulatedImageFrame(ds, el, index, table);
  } catch (thrown) {
    if (thrown instanceof DicomError) throw thrown;
    throw new DicomError('malformed', file, `cannot locate frame ${index + 1} in encapsulated Pixel Data: ${describeThrown(thrown)}`, { cause: thrown });
  }
}
