/**
 * A slice file's header as the tag browser lists it: every element in file order with its name
 * (dcmjs's data dictionary), VR and value as text — numbers decoded by VR, text in the file's
 * character set, sequences as their items (indented), binary values as their length. Pixel Data
 * is never read. Nothing here is logged: headers hold patient data.
 */
import { readFile } from 'node:fs/promises';
import dcmjs from 'dcmjs';
import type { DataSet, Element } from 'dicom-parser';
import { decodeText, encodingOf } from './charset.js';
import { parseDicomBytes } from './parse.js';

const { DicomMetaDictionary } = dcmjs.data;

import type { TagEntry } from '../api/contract.js';

export type { TagEntry } from '../api/contract.js';

const TEXT_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
const MAX_VALUE = 200;

function numbers(el: Element, size: number, read: (offset: number) => number): string {
  const count = Math.floor(el.length / size);
  const shown = Array.from({ length: Math.min(count, 16) }, (_, i) => read(el.dataOffset + i * size));
  return shown.join('\\') + (count > 16 ? `\\… (${count} values)` : '');
}

function valueOf(ds: DataSet, key: string, el: Element, vr: string, encoding: string, little: boolean): string {
  if (TEXT_VRS.has(vr)) return decodeText(ds, key, encoding) ?? '';
  const view = new DataView(ds.byteArray.buffer, ds.byteArray.byteOffset, ds.byteArray.byteLength);
  // File Meta (group 0002) is always little endian; the rest follows the transfer syntax.
  little ||= key.startsWith('x0002');
  switch (vr) {
    case 'US': return numbers(el, 2, (o) => view.getUint16(o, little));
    case 'SS': return numbers(el, 2, (o) => view.getInt16(o, little));
    case 'UL': return numbers(el, 4, (o) => view.getUint32(o, little));
    case 'SL': return numbers(el, 4, (o) => view.getInt32(o, little));
    case 'FL': return numbers(el, 4, (o) => view.getFloat32(o, little));
    case 'FD': return numbers(el, 8, (o) => view.getFloat64(o, little));
    case 'AT': return numbers(el, 4, (o) => view.getUint32(o, little)).replace(/\d+/g, (n) => Number(n).toString(16).padStart(8, '0'));
    default: return `(${el.length} bytes)`;
  }
}

function walk(ds: DataSet, encoding: string, little: boolean, depth: number, out: TagEntry[]): void {
  for (const [key, el] of Object.entries(ds.elements)) {
    const hex = key.slice(1).toUpperCase();
    if (hex === '7FE00010') { out.push({ tag: '(7FE0,0010)', name: 'PixelData', vr: el.vr ?? 'OW', value: `(${el.length} bytes, not shown)`, depth }); continue; }
    const tag = `(${hex.slice(0, 4)},${hex.slice(4)})`;
    const entry = DicomMetaDictionary.dictionary[tag] as { name?: string; vr?: string } | undefined;
    const vr = el.vr ?? entry?.vr ?? 'UN';
    const name = entry?.name ?? (parseInt(hex.slice(0, 4), 16) % 2 ? 'private' : 'unknown');
    if (el.items) {
      out.push({ tag, name, vr: 'SQ', value: `${el.items.length} item(s)`, depth });
      el.items.forEach((item, i) => {
        out.push({ tag: '(FFFE,E000)', name: `Item ${i + 1}`, vr: '', value: '', depth: depth + 1 });
        if (item.dataSet) walk(item.dataSet, encoding, little, depth + 2, out);
      });
      continue;
    }
    const value = valueOf(ds, key, el, vr, encoding, little);
    out.push({ tag, name, vr, value: value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}…` : value, depth });
  }
}

export async function readTags(file: string): Promise<TagEntry[]> {
  const bytes = new Uint8Array(await readFile(file));
  const { dataSet, syntax } = parseDicomBytes(bytes, file, { headerOnly: true });
  const out: TagEntry[] = [];
  walk(dataSet, encodingOf(dataSet), syntax?.littleEndian ?? true, 0, out);
  return out;
}
