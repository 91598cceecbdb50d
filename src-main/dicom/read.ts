/**
 * File-level entry points: a header (for indexing: reads only the first bytes of large files and
 * stops before Pixel Data) or a whole image (header + decoded stored pixels).
 */
import { open, readFile, stat } from 'node:fs/promises';
import { DicomError, describeThrown } from './errors.js';
import { readDescriptiveTags, readImageHeader, type DescriptiveTags, type ImageHeader } from './header.js';
import { initCodecs } from './codecs.js';
import { guarded, parseDicomBytes, type ParsedDicom } from './parse.js';
import { decodePixels, type DecodedImage } from './pixels.js';

/** Headers are almost always in the first few KiB; we read this much before trying the whole file. */
const HEADER_PROBE_BYTES = 256 * 1024;

export interface DicomHeader {
  file: string;
  size: number;
  mtimeMs: number;
  syntaxUid: string;
  syntaxName?: string;
  hasFileMeta: boolean;
  header: ImageHeader;
  tags: DescriptiveTags;
  /** Media Storage SOP Class of DICOMDIR files */
  isDicomdir: boolean;
}

export async function readDicomHeader(file: string): Promise<DicomHeader> {
  const info = await statFile(file);
  let parsed: ParsedDicom;
  if (info.size > HEADER_PROBE_BYTES) {
    const head = await readPrefix(file, HEADER_PROBE_BYTES);
    try {
      parsed = parseDicomBytes(head, file, { headerOnly: true });
      if (!parsed.dataSet.elements.x7fe00010 && !parsed.dataSet.elements.x00041220) throw new Error('header continues past the probe');
    } catch {
      parsed = parseDicomBytes(await readWhole(file), file, { headerOnly: true });
    }
  } else {
    parsed = parseDicomBytes(await readWhole(file), file, { headerOnly: true });
  }
  return toHeader(parsed, info);
}

export interface DicomImage extends DecodedImage {
  tags: DescriptiveTags;
  parsed: ParsedDicom;
}

export async function readDicomImage(file: string): Promise<DicomImage> {
  const bytes = await readWhole(file);
  return decodeDicomBytes(bytes, file);
}

/** Decode an in-memory file (fuzzing and tests use this directly). */
export async function decodeDicomBytes(bytes: Uint8Array, file: string): Promise<DicomImage> {
  const parsed = parseDicomBytes(bytes, file);
  const header = guarded(file, () => readImageHeader(parsed.dataSet, file));
  if (parsed.syntax && parsed.syntax.pixels !== 'native') await initCodecs();
  return guarded(file, () => ({ ...decodePixels(parsed, header), tags: readDescriptiveTags(parsed.dataSet), parsed }));
}

function toHeader(parsed: ParsedDicom, info: { size: number; mtimeMs: number }): DicomHeader {
  return guarded(parsed.file, () => headerOf(parsed, info));
}

function headerOf(parsed: ParsedDicom, info: { size: number; mtimeMs: number }): DicomHeader {
  const isDicomdir = parsed.dataSet.string('x00020002')?.trim() === '1.2.840.10008.1.3.10' || parsed.dataSet.elements.x00041220 !== undefined;
  return {
    file: parsed.file,
    size: info.size,
    mtimeMs: info.mtimeMs,
    syntaxUid: parsed.syntaxUid,
    syntaxName: parsed.syntax?.name,
    hasFileMeta: parsed.hasFileMeta,
    header: isDicomdir ? emptyHeader() : readImageHeader(parsed.dataSet, parsed.file),
    tags: readDescriptiveTags(parsed.dataSet),
    isDicomdir,
  };
}

function emptyHeader(): ImageHeader {
  return {
    sopClassUid: '1.2.840.10008.1.3.10', sopInstanceUid: '', studyInstanceUid: '', seriesInstanceUid: '', modality: '', imageType: [],
    hasPixelData: false, rows: 0, columns: 0, frames: 0, samplesPerPixel: 0, bitsAllocated: 0, bitsStored: 0, highBit: 0,
    pixelRepresentation: 0, planarConfiguration: 0, photometric: '', rescaleSlope: 1, rescaleIntercept: 0,
  };
}

async function statFile(file: string) {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new DicomError('unreadable', file, 'not a regular file');
    return info;
  } catch (thrown) {
    if (thrown instanceof DicomError) throw thrown;
    throw new DicomError('unreadable', file, osReason(thrown), { cause: thrown });
  }
}

async function readWhole(file: string): Promise<Uint8Array> {
  try {
    const buffer = await readFile(file);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (thrown) {
    throw new DicomError('unreadable', file, osReason(thrown), { cause: thrown });
  }
}

async function readPrefix(file: string, length: number): Promise<Uint8Array> {
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = new Uint8Array(length);
      const { bytesRead } = await handle.read(buffer, 0, length, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (thrown) {
    throw new DicomError('unreadable', file, osReason(thrown), { cause: thrown });
  }
}

function osReason(thrown: unknown): string {
  const code = (thrown as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'is a folder, not a file';
  return `cannot read file (${describeThrown(thrown)})`;
}
