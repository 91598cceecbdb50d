/**
 * From stored pixels to physical values (HU for CT) for one frame, as float32, and back.
 * This is the single place where a slice becomes float: the rest of a volume stays stored.
 */
import { DicomError } from './errors.js';
import { paddingMask } from './display.js';
import { frameOf, type DecodedImage, type StoredArray } from './pixels.js';
import { toStoredRange } from './write.js';
import type { ImageHeader } from './header.js';

export interface PhysicalSlice {
  values: Float32Array;
  width: number;
  height: number;
  /** 1 where the stored value is Pixel Padding; undefined when the file declares none. */
  padding?: Uint8Array;
}

export function physicalFrame(image: DecodedImage, frame = 0): PhysicalSlice {
  if (image.samplesPerPixel !== 1) {
    throw new DicomError('unsupported-image', image.file, `denoising needs greyscale images; this one has ${image.samplesPerPixel} samples per pixel (${image.photometric})`);
  }
  const stored = frameOf(image, frame);
  // Enhanced objects may rescale each frame differently.
  const { slope, intercept } = image.header.frameRescale?.[frame] ?? { slope: image.header.rescaleSlope, intercept: image.header.rescaleIntercept };
  const values = new Float32Array(stored.length);
  for (let i = 0; i < stored.length; i++) values[i] = stored[i]! * slope + intercept;
  return { values, width: image.columns, height: image.rows, padding: paddingMask(stored, image.header) };
}

/** Physical values → stored values of the source's type (rounded, clipped, clip count returned). */
export function storedFromPhysical(values: Float32Array, header: ImageHeader, frame = 0): { pixels: StoredArray; clipped: number } {
  const { slope, intercept } = header.frameRescale?.[frame] ?? { slope: header.rescaleSlope, intercept: header.rescaleIntercept };
  const raw = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) raw[i] = Math.round((values[i]! - intercept) / slope);
  return toStoredRange(raw, header);
}
