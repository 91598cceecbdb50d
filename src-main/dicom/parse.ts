/**
 * Bytes → dicom-parser DataSet, for every layout real archives contain: Part 10 files, raw data
 * sets without preamble or meta header (the syntax is sniffed from the first element), meta
 * headers that lack a transfer syntax, deflated data sets (inflated with a size cap so a zip bomb
 * cannot exhaust memory).
 */
import { inflateRawSync } from 'node:zlib';
import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { DicomError, describeThrown } from './errors.js';
import { EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, transferSyntax, type TransferSyntax } from './transfer-syntax.js';

/** Largest inflated size we accept for a deflated data set. */
const MAX_INFLATED_BYTES = 1 << 30;
const PIXEL_DATA = 'x7fe00010';

export interface ParsedDicom {
  file: string;
  dataSet: DataSet;
  syntaxUid: string;
  syntax: TransferSyntax | undefined;
  /** False for raw data sets (no preamble / File Meta), whose syntax we sniffed. */
  hasFileMeta: boolean;
}

export interface ParseOptions {
  /** Stop before Pixel Data: enough for indexing, and far cheaper. */
  headerOnly?: boolean;
}

export function parseDicomBytes(bytes: Uint8Array, file: string, options: ParseOptions = {}): ParsedDicom {
  const untilTag = options.headerOnly ? PIXEL_DATA : undefined;
  const isPart10 = bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
  let dataSet: DataSet;
  let hasFileMeta = isPart10;
  try {
    if (isPart10) {
      dataSet = parsePart10(bytes, file, untilTag);
    } else {
      const sniffed = sniffRawSyntax(bytes, 0);
      if (!sniffed) throw new DicomError('not-dicom', file, 'not a DICOM file (no "DICM" prefix and no data set at the start)');
      dataSet = dicomParser.parseDicom(bytes, { TransferSyntaxUID: sniffed, untilTag, inflater });
      hasFileMeta = false;
    }
  } catch (thrown) {
    throw asDicomError(thrown, file);
  }
  return guarded(file, () => finish(dataSet, file, hasFileMeta, options.headerOnly ?? false));
}

function finish(dataSet: DataSet, file: string, hasFileMeta: boolean, headerOnly: boolean): ParsedDicom {
  const syntaxUid = (dataSet.string('x00020010') ?? IMPLICIT_LE).replace(/\0/g, '').trim();
  checkNotTruncated(dataSet, file, headerOnly);
  return { file, dataSet, syntaxUid, syntax: transferSyntax(syntaxUid), hasFileMeta };
}

function parsePart10(bytes: Uint8Array, file: string, untilTag: string | undefined): DataSet {
  const meta = dicomParser.readPart10Header(bytes);
  const declared = meta.string('x00020010');
  if (declared) {
    const uid = declared.replace(/\0/g, '').trim();
    if (!transferSyntax(uid)) {
      throw new DicomError('unsupported-transfer-syntax', file, `unsupported transfer syntax ${uid}`);
    }
    return dicomParser.parseDicom(bytes, { untilTag, inflater });
  }
  // File Meta without (0002,0010): sniff the data set that follows it, then re-attach the meta.
  const start = (meta as DataSet & { position: number }).position;
  const sniffed = sniffRawSyntax(bytes, start);
  if (!sniffed) throw new DicomError('malformed', file, 'File Meta lacks Transfer Syntax UID (0002,0010) and the data set after it is unreadable');
  const body = dicomParser.parseDicom(bytes.subarray(start), { TransferSyntaxUID: sniffed, untilTag });
  Object.assign(body.elements, meta.elements, { x00020010: body.elements.x00020010 });
  return body;
}

/** Run `work` (which reads a parsed data set lazily) turning any failure into a DicomError. */
export function guarded<T>(file: string, work: () => T): T {
  try {
    return work();
  } catch (thrown) {
    throw asDicomError(thrown, file);
  }
}

/** Guess the syntax of a raw data set from its first element's tag and VR bytes. */
export function sniffRawSyntax(bytes: Uint8Array, offset: number): string | undefined {
  if (bytes.length - offset < 8) return undefined;
  const b = bytes.subarray(offset);
  const vrIsLetters = isUpper(b[4]) && isUpper(b[5]);
  const groupLE = b[0] | (b[1] << 8);
  const groupBE = (b[0] << 8) | b[1];
  // Data sets start with a low group (0008 usually; 0001 in some broken files).
  const plausible = (group: number) => group >= 0x0001 && group <= 0x0028;
  if (plausible(groupLE) && vrIsLetters) return EXPLICIT_LE;
  if (plausible(groupBE) && vrIsLetters) return EXPLICIT_BE;
  if (plausible(groupLE)) {
    // Implicit VR: the 4-byte length must fit in the file.
    const length = (b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)) >>> 0;
    if (length === 0xffffffff || length <= b.length - 8) return IMPLICIT_LE;
  }
  return undefined;
}

const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;

function inflater(bytes: Uint8Array, position: number): Uint8Array {
  const inflated = inflateRawSync(bytes.subarray(position), { maxOutputLength: MAX_INFLATED_BYTES });
  const whole = new Uint8Array(position + inflated.length);
  whole.set(bytes.subarray(0, position));
  whole.set(inflated, position);
  return whole;
}

/** dicom-parser tolerates a Pixel Data element that claims more bytes than the file has; we don't. */
function checkNotTruncated(dataSet: DataSet, file: string, headerOnly: boolean): void {
  if (headerOnly) return;
  const pixel = dataSet.elements[PIXEL_DATA];
  if (!pixel || pixel.encapsulatedPixelData) return;
  const available = dataSet.byteArray.length - pixel.dataOffset;
  if (pixel.length > available) {
    throw new DicomError('truncated', file, `Pixel Data (7FE0,0010) declares ${pixel.length} bytes but only ${Math.max(0, available)} remain in the file`);
  }
}

/** Any failure while reading `file` as our typed error (dicom-parser throws plain strings). */
export function asDicomError(thrown: unknown, file: string): DicomError {
  if (thrown instanceof DicomError) return thrown;
  const text = describeThrown(thrown);
  if (/DICM prefix not found/i.test(text)) return new DicomError('not-dicom', file, 'not a DICOM file (no "DICM" prefix)', { cause: thrown });
  if (/buffer overread|past the end|beyond|end of buffer|overrun|out of range|offset is outside|cannot be greater than|invalid value for parameter 'maxP/i.test(text)) {
    return new DicomError('truncated', file, `file ends inside an element (${text})`, { cause: thrown });
  }
  if (/transfer syntax/i.test(text) && /not supported|unsupported/i.test(text)) {
    return new DicomError('unsupported-transfer-syntax', file, text, { cause: thrown });
  }
  if (/maxOutputLength|Cannot create a Buffer larger/i.test(text)) {
    return new DicomError('too-large', file, 'deflated data set inflates past 1 GiB', { cause: thrown });
  }
  if (/incorrect header check|invalid (block|stored|distance|code)|unexpected end of file/i.test(text)) {
    return new DicomError('malformed', file, `deflated data set is corrupt (${text})`, { cause: thrown });
  }
  return new DicomError('malformed', file, text, { cause: thrown });
}
