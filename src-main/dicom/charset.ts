/**
 * Text elements decoded with the data set's Specific Character Set (0008,0005), so names in
 * Cyrillic, Arabic, Japanese… read correctly; dicom-parser alone reads bytes as Latin-1.
 */
import type { DataSet } from 'dicom-parser';

const ENCODINGS: Record<string, string> = {
  'ISO_IR 100': 'iso-8859-1', 'ISO 2022 IR 100': 'iso-8859-1',
  'ISO_IR 101': 'iso-8859-2', 'ISO 2022 IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3', 'ISO 2022 IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4', 'ISO 2022 IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5', 'ISO 2022 IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6', 'ISO 2022 IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7', 'ISO 2022 IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8', 'ISO 2022 IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9', 'ISO 2022 IR 148': 'iso-8859-9',
  'ISO_IR 166': 'windows-874', 'ISO 2022 IR 166': 'windows-874',
  'ISO_IR 13': 'shift_jis', 'ISO 2022 IR 13': 'shift_jis',
  'ISO 2022 IR 87': 'iso-2022-jp', 'ISO 2022 IR 159': 'iso-2022-jp',
  'ISO 2022 IR 149': 'iso-2022-kr',
  'ISO 2022 IR 58': 'gb2312',
  'ISO_IR 192': 'utf-8', GB18030: 'gb18030', GBK: 'gbk',
};

/** The TextDecoder label for a data set's character set (last term wins for code extensions). */
export function encodingOf(ds: DataSet): string {
  const terms = (ds.string('x00080005') ?? '').split('\\').map((t) => t.trim()).filter(Boolean);
  // ISO 2022 with several terms: the non-ASCII extension decides (escape sequences switch inside).
  for (const term of [...terms].reverse()) {
    const label = ENCODINGS[term];
    if (label) return terms.some((t) => t.startsWith('ISO 2022 IR 87')) ? 'iso-2022-jp' : label;
  }
  return 'iso-8859-1';
}

/** A text element's value, decoded; NULs and trailing padding removed. */
export function decodeText(ds: DataSet, tag: string, encoding = encodingOf(ds)): string | undefined {
  const el = ds.elements[tag];
  if (!el || !el.length || el.dataOffset + el.length > ds.byteArray.length) return undefined;
  const bytes = ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
  let text: string;
  try {
    text = new TextDecoder(encoding).decode(bytes);
  } catch {
    text = new TextDecoder('iso-8859-1').decode(bytes);
  }
  text = text.replace(/\0/g, '').replace(/\s+$/, '').replace(/^\s+/, '');
  return text || undefined;
}
