/**
 * Turning stored pixels into something a screen shows: 8-bit RGB for colour images (RGB, YBR_FULL
 * and its 4:2:2 form, palette colour) and windowed grey for monochrome (rescale, then the DICOM
 * linear VOI function; MONOCHROME1 inverted). Also the Pixel Padding mask: padding is reported
 * as "not tissue" so later stages can ignore or impute it.
 */
import type { DataSet } from 'dicom-parser';
import type { ImageHeader } from './header.js';
import type { StoredArray } from './pixels.js';
import { frameOf, type DecodedImage } from './pixels.js';

/** 1 where the stored value is Pixel Padding (or inside the padding range), else 0. */
export function paddingMask(frame: StoredArray, header: Pick<ImageHeader, 'paddingValue' | 'paddingRangeLimit'> & { modality?: string }): Uint8Array | undefined {
  const { paddingValue, paddingRangeLimit } = header;
  if (paddingValue === undefined) return undefined;
  // MR and other scanners write Pixel Padding Value 0 while 0 is their real background (air):
  // outside CT a lone zero padding value marks ordinary pixels, so it is not treated as padding.
  if (paddingValue === 0 && paddingRangeLimit === undefined && header.modality !== undefined && header.modality !== 'CT') return undefined;
  const low = Math.min(paddingValue, paddingRangeLimit ?? paddingValue);
  const high = Math.max(paddingValue, paddingRangeLimit ?? paddingValue);
  const mask = new Uint8Array(frame.length);
  for (let i = 0; i < frame.length; i++) mask[i] = frame[i] >= low && frame[i] <= high ? 1 : 0;
  return mask;
}

export interface Window {
  center: number;
  width: number;
}

/** Rescaled (e.g. HU) values → 8-bit grey through a window; MONOCHROME1 is inverted. */
export function windowToGrey(frame: StoredArray, header: Pick<ImageHeader, 'rescaleSlope' | 'rescaleIntercept' | 'photometric'>, window: Window): Uint8Array {
  const out = new Uint8Array(frame.length);
  const { rescaleSlope: slope, rescaleIntercept: intercept } = header;
  const invert = header.photometric === 'MONOCHROME1';
  // PS3.3 C.11.2.1.2.1: linear function with centre c and width w.
  const c = window.center - 0.5;
  const w = Math.max(window.width - 1, 1);
  for (let i = 0; i < frame.length; i++) {
    const x = frame[i] * slope + intercept;
    const y = x <= c - w / 2 ? 0 : x > c + w / 2 ? 255 : Math.round(((x - c) / w + 0.5) * 255);
    out[i] = invert ? 255 - y : y;
  }
  return out;
}

/** A frame of a colour image as interleaved 8-bit RGB. */
export function colourFrameToRGB(image: DecodedImage & { parsed?: { dataSet: DataSet } }, index: number): Uint8Array {
  const frame = frameOf(image, index);
  const pixels = image.rows * image.columns;
  const out = new Uint8Array(pixels * 3);
  const photometric = image.photometric;
  if (photometric === 'PALETTE COLOR') {
    if (!image.parsed) throw new Error('palette colour needs the data set for its lookup tables');
    const luts = [readLut(image.parsed.dataSet, '1101', '1201'), readLut(image.parsed.dataSet, '1102', '1202'), readLut(image.parsed.dataSet, '1103', '1203')];
    for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = lookup(luts[c], frame[p]);
    return out;
  }
  if (image.samplesPerPixel !== 3) throw new Error(`${photometric} is not a colour image`);
  const shift = Math.max(0, image.header.bitsStored - 8);
  if (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') {
    // ITU-R BT.601 full range, as PS3.3 C.7.6.3.1.2 defines YBR_FULL.
    for (let p = 0; p < pixels; p++) {
      const y = frame[p * 3] >> shift;
      const cb = (frame[p * 3 + 1] >> shift) - 128;
      const cr = (frame[p * 3 + 2] >> shift) - 128;
      out[p * 3] = clamp8(y + 1.402 * cr);
      out[p * 3 + 1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
      out[p * 3 + 2] = clamp8(y + 1.772 * cb);
    }
    return out;
  }
  // RGB, and YBR_RCT / YBR_ICT whose inverse transform the JPEG 2000 decoder already applied.
  for (let i = 0; i < out.length; i++) out[i] = frame[i] >> shift;
  return out;
}

interface Lut {
  entries: number;
  firstMapped: number;
  data: Uint16Array | Uint8Array;
  bits: number;
}

function readLut(ds: DataSet, descriptorTag: string, dataTag: string): Lut {
  const descriptor = ds.elements[`x0028${descriptorTag}`];
  const data = ds.elements[`x0028${dataTag}`];
  if (!descriptor || !data) throw new Error(`palette colour lookup table (0028,${dataTag}) missing`);
  const entries = ds.uint16(`x0028${descriptorTag}`, 0) || 65536;
  const firstMapped = ds.uint16(`x0028${descriptorTag}`, 1) ?? 0;
  const bits = ds.uint16(`x0028${descriptorTag}`, 2) ?? 16;
  const raw = ds.byteArray.slice(data.dataOffset, data.dataOffset + data.length);
  const words = bits > 8 || data.length >= entries * 2 ? new Uint16Array(raw.buffer, 0, Math.floor(raw.length / 2)) : raw;
  return { entries, firstMapped, data: words, bits };
}

function lookup(lut: Lut, value: number): number {
  const index = Math.min(Math.max(value - lut.firstMapped, 0), lut.entries - 1);
  const v = lut.data[Math.min(index, lut.data.length - 1)];
  return lut.bits > 8 ? v >> 8 : v & 0xff;
}

const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** A lookup table as cornerstone takes it: the first input value mapped, then one output per input. */
export interface LookupTable { firstValueMapped: number; lut: number[] }

/** How a slice is meant to be displayed beyond its window: PS3.3 C.11.1 (Modality LUT) and C.11.2 (VOI LUT). */
export interface DisplayTransforms {
  voiFunction?: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
  modalityLut?: LookupTable;
  voiLut?: LookupTable;
}

/** A LUT from a Modality or VOI LUT Sequence item: LUT Descriptor (entries, first value, bits) and LUT Data. */
function lutOf(item: DataSet | undefined, signedInput: boolean): LookupTable | undefined {
  const descriptor = item?.elements.x00283002;
  const data = item?.elements.x00283006;
  if (!item || !descriptor || descriptor.length < 6 || !data) return undefined;
  const entries = item.uint16('x00283002', 0) || 65536;
  const first = item.uint16('x00283002', 1)!;
  const count = Math.min(entries, Math.floor(data.length / 2));
  if (count < 2) return undefined;
  return {
    firstValueMapped: signedInput && first >= 0x8000 ? first - 0x10000 : first,
    lut: Array.from({ length: count }, (_, i) => item.uint16('x00283006', i)!),
  };
}

/** The display transforms a file asks for; stored values are never changed by them (denoising uses rescale only). */
export function readDisplayTransforms(ds: DataSet, pixelRepresentation: number): DisplayTransforms {
  const fn = ds.string('x00281056')?.trim().toUpperCase();
  const out: DisplayTransforms = {};
  if (fn === 'LINEAR' || fn === 'LINEAR_EXACT' || fn === 'SIGMOID') out.voiFunction = fn;
  const modality = lutOf(ds.elements.x00283000?.items?.[0]?.dataSet, pixelRepresentation === 1);
  if (modality) out.modalityLut = modality;
  const voi = lutOf(ds.elements.x00283010?.items?.[0]?.dataSet, false);
  if (voi) out.voiLut = voi;
  return out;
}
