/**
 * What a series is, for the bias report: the attributes people break results down by, read from
 * its first file's header (the tag browser's reader), plus any DICOM attribute the user names by
 * keyword (PatientSex) or tag (0018,0050). Values are grouped into bands where raw values would
 * make every series its own subset (age, slice thickness, pixel spacing, noise level).
 */
import type { TagEntry } from '../../api/contract.js';

export const STANDARD_ATTRIBUTES = ['modality', 'bodyPart', 'manufacturer', 'model', 'kvp', 'sliceThickness', 'pixelSpacing', 'noiseLevel', 'sex', 'ageBand'] as const;

const KEYWORDS: Record<string, string> = {
  modality: 'Modality', bodyPart: 'BodyPartExamined', manufacturer: 'Manufacturer', model: 'ManufacturerModelName',
  kvp: 'KVP', sliceThickness: 'SliceThickness', pixelSpacing: 'PixelSpacing', sex: 'PatientSex',
};

function first(tags: TagEntry[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  const tag = /^\(?([0-9a-f]{4}),?([0-9a-f]{4})\)?$/i.exec(name);
  const hit = tags.find((t) => t.depth === 0 && (tag ? t.tag.replace(/\W/g, '').toLowerCase() === `${tag[1]}${tag[2]}`.toLowerCase() : t.name.toLowerCase() === wanted));
  const value = hit?.value.trim();
  return value ? value : undefined;
}

function band(value: number | undefined, edges: number[], unit: string): string | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  for (let i = 0; i < edges.length; i++) if (value < edges[i]!) return i === 0 ? `< ${edges[0]} ${unit}` : `${edges[i - 1]}–${edges[i]} ${unit}`;
  return `≥ ${edges.at(-1)} ${unit}`;
}

/** Age in years from Patient's Age (045Y, 006M…), else from birth and study dates. */
export function ageYears(tags: TagEntry[]): number | undefined {
  const age = first(tags, 'PatientAge');
  const m = age && /^(\d{3})([DWMY])$/.exec(age);
  if (m) return Number(m[1]) / ({ D: 365.25, W: 52.18, M: 12, Y: 1 } as Record<string, number>)[m[2]!]!;
  const birth = first(tags, 'PatientBirthDate'), study = first(tags, 'StudyDate');
  if (birth && study && /^\d{8}$/.test(birth) && /^\d{8}$/.test(study)) {
    const d = (s: string) => Date.UTC(Number(s.slice(0, 4)), Number(s.slice(4, 6)) - 1, Number(s.slice(6, 8)));
    return (d(study) - d(birth)) / (365.25 * 86400e3);
  }
  return undefined;
}

/** A series' value for each requested attribute ('(none)' when the header does not say). */
export function seriesAttributes(tags: TagEntry[], requested: string[], noisePercent: number | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of requested) {
    let value: string | undefined;
    switch (name) {
      case 'ageBand': { const y = ageYears(tags); value = y === undefined ? undefined : `${Math.floor(y / 10) * 10}–${Math.floor(y / 10) * 10 + 9} y`; break; }
      case 'sliceThickness': value = band(Number(first(tags, 'SliceThickness')), [1.5, 3, 5], 'mm'); break;
      case 'pixelSpacing': value = band(Number(first(tags, 'PixelSpacing')?.split('\\')[0]), [0.5, 0.8, 1.2], 'mm'); break;
      case 'kvp': { const k = Number(first(tags, 'KVP')); value = Number.isFinite(k) && k > 0 ? `${Math.round(k)} kV` : undefined; break; }
      case 'noiseLevel': value = band(noisePercent, [2, 5, 10], '% of range'); break;
      default: value = first(tags, KEYWORDS[name] ?? name);
    }
    out[name] = value ?? '(none)';
  }
  return out;
}
