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

/** Below any tissue or air (air is −1000 HU): in CT, what lies outside the reconstruction circle. */
export const CT_OUTSIDE_IMAGE_HU = -1100;

/**
 * Pixels that are not image: Pixel Padding, and in CT values below −1100 HU — the outside of the
 * reconstruction circle, which a lossy codec may have left as varying values instead of the one
 * padding value (a J2K-lossy head: 23 % of its slice). Simulated noise is not added there, so an
 * evaluation compares what is inside the scan (a model keeps such pixels as they come, a filter
 * smooths them: scored, they decided the comparison). undefined when there are none.
 */
export function outsideImage(slice: PhysicalSlice, modality: string | undefined): Uint8Array | undefined {
  if (modality !== 'CT') return slice.padding;
  const mask = new Uint8Array(slice.values.length);
  let any = false;
  for (let i = 0; i < mask.length; i++) {
    if (slice.padding?.[i] || slice.values[i]! < CT_OUTSIDE_IMAGE_HU) { mask[i] = 1; any = true; }
  }
  return any ? mask : undefined;
}

/** Noise added inside the image only (see outsideImage): pixels outside keep their values. */
export function keepOutside(noisy: Float32Array, clean: Float32Array, outside: Uint8Array | undefined): Float32Array {
  if (outside) for (let i = 0; i < noisy.length; i++) if (outside[i]) noisy[i] = clean[i]!;
  return noisy;
}

/** Physical values → stored values of the source's type (rounded, clipped, clip count returned). */
export function storedFromPhysical(values: Float32Array, header: ImageHeader, frame = 0): { pixels: StoredArray; clipped: number } {
  const { slope, intercept } = header.frameRescale?.[frame] ?? { slope: header.rescaleSlope, intercept: header.rescaleIntercept };
  const raw = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) raw[i] = Math.round((values[i]! - intercept) / slope);
  return toStoredRange(raw, header);
}
