/** How results relate to their source series, in one place for the study browser and the viewer. */
import type { CatalogSeries } from './types';

/** A result's short label: what made it (method, strength, time), which its description ends with in brackets. */
export function resultLabel(s: CatalogSeries | undefined): string {
  return s?.description?.match(/\[([^\]]+)\]$/)?.[1] ?? s?.description ?? 'result';
}

/** The results made from a source series among `all`, newest (highest Series Number) first. */
export function resultsOf(all: CatalogSeries[], sourceUid: string | undefined): CatalogSeries[] {
  return all.filter((s) => sourceUid && s.derivedFrom === sourceUid).sort((a, b) => (b.seriesNumber ?? 0) - (a.seriesNumber ?? 0));
}
