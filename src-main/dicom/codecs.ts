/**
 * Compressed-frame decoders: one per pixel encoding behind one function, all from one maintained
 * WebAssembly build of DCMTK's codecs (IJG JPEG 8/12/16-bit and lossless, CharLS JPEG-LS,
 * OpenJPEG JPEG 2000, DICOM RLE) shipped in the `dcmjs-codecs` npm package. Its output matched
 * the pydicom/GDCM reference decode (GOLDEN_PIXELS.tsv) bit for bit on every fixture, lossy
 * ones included. Colour stays in its stored space (YBR is converted for display only).
 */
import dcmjsCodecs from 'dcmjs-codecs';
import type { PixelEncoding } from './transfer-syntax.js';

const { NativeCodecs, Context } = dcmjsCodecs;

let ready: Promise<void> | undefined;

/** Load the codec WebAssembly once per thread; reading compressed pixels awaits this. */
export function initCodecs(): Promise<void> {
  ready ??= NativeCodecs.isInitialized() ? Promise.resolve() : NativeCodecs.initializeAsync({ logCodecsInfo: false, logCodecsTrace: false });
  return ready;
}

export function codecsReady(): boolean {
  return NativeCodecs.isInitialized();
}

export interface FrameGeometry {
  rows: number;
  columns: number;
  bitsAllocated: number;
  bitsStored: number;
  samplesPerPixel: number;
  pixelRepresentation: number;
  planarConfiguration: number;
  photometric: string;
}

/** Decode one compressed frame to little-endian stored values (samples interleaved). */
export function decodeFrame(encoding: Exclude<PixelEncoding, 'native'>, encoded: Uint8Array, g: FrameGeometry): Uint8Array {
  if (!NativeCodecs.isInitialized()) throw new Error('codecs not initialised: await initCodecs() first');
  const context = new Context({
    width: g.columns,
    height: g.rows,
    bitsAllocated: g.bitsAllocated,
    bitsStored: g.bitsStored,
    samplesPerPixel: g.samplesPerPixel,
    pixelRepresentation: g.pixelRepresentation,
    planarConfiguration: g.planarConfiguration,
    photometricInterpretation: g.photometric,
    encodedBuffer: encoded,
  });
  let decoded;
  switch (encoding) {
    case 'rle':
      decoded = NativeCodecs.decodeRle(context);
      break;
    case 'jpeg':
      decoded = NativeCodecs.decodeJpeg(context, { convertColorspaceToRgb: false });
      break;
    case 'jpeg-ls':
      decoded = NativeCodecs.decodeJpegLs(context);
      break;
    case 'jpeg2000':
      decoded = NativeCodecs.decodeJpeg2000(context);
      break;
  }
  const out = decoded.getDecodedBuffer();
  if (!out) throw new Error('codec returned no pixels');
  return out;
}
