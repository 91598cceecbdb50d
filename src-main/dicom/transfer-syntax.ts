/** Transfer syntaxes we know, and how each one's pixel data is stored. */

export type PixelEncoding =
  | 'native'
  | 'rle'
  | 'jpeg' // baseline, extended (8/12-bit) and lossless processes share the IJG decoder
  | 'jpeg-ls'
  | 'jpeg2000';

export interface TransferSyntax {
  uid: string;
  name: string;
  littleEndian: boolean;
  explicitVR: boolean;
  deflated: boolean;
  pixels: PixelEncoding;
  lossy: boolean;
}

const ts = (
  uid: string,
  name: string,
  pixels: PixelEncoding,
  lossy: boolean,
  extra: Partial<TransferSyntax> = {},
): TransferSyntax => ({ uid, name, littleEndian: true, explicitVR: true, deflated: false, pixels, lossy, ...extra });

export const IMPLICIT_LE = '1.2.840.10008.1.2';
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_BE = '1.2.840.10008.1.2.2';

const KNOWN: TransferSyntax[] = [
  ts(IMPLICIT_LE, 'Implicit VR Little Endian', 'native', false, { explicitVR: false }),
  ts(EXPLICIT_LE, 'Explicit VR Little Endian', 'native', false),
  ts(DEFLATED_LE, 'Deflated Explicit VR Little Endian', 'native', false, { deflated: true }),
  ts(EXPLICIT_BE, 'Explicit VR Big Endian', 'native', false, { littleEndian: false }),
  ts('1.2.840.10008.1.2.5', 'RLE Lossless', 'rle', false),
  ts('1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', 'jpeg', true),
  ts('1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', 'jpeg', true),
  ts('1.2.840.10008.1.2.4.57', 'JPEG Lossless (Process 14)', 'jpeg', false),
  ts('1.2.840.10008.1.2.4.70', 'JPEG Lossless (Process 14, SV1)', 'jpeg', false),
  ts('1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', 'jpeg-ls', false),
  ts('1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless', 'jpeg-ls', true),
  ts('1.2.840.10008.1.2.4.90', 'JPEG 2000 (Lossless Only)', 'jpeg2000', false),
  ts('1.2.840.10008.1.2.4.91', 'JPEG 2000', 'jpeg2000', true),
];

const BY_UID = new Map(KNOWN.map((t) => [t.uid, t]));

/** Known transfer syntax for a UID, or undefined (the caller reports it as unsupported). */
export function transferSyntax(uid: string): TransferSyntax | undefined {
  return BY_UID.get(uid.replace(/\0/g, '').trim());
}
