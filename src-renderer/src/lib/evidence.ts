/**
 * What a model card's evidence says, in the shape the Models tab shows (see
 * models/recipes/card-evidence.ts for how it is written): the benchmark's targets as met or
 * missed, the bias report against the bilateral filter, the experiments that chose the recipe,
 * and the inference guard in words. Cards are read defensively: a user's model has no evidence,
 * an imported one may have anything.
 */
export interface TargetLine { met: boolean; text: string }
export interface GainSummary { mean: number; ci?: [number, number]; n: number }
export interface SubsetRow { attribute: string; value: string; n: number; model: number; bilateral?: number; flagged: boolean }
export interface ExperimentRow { name: string; change: string; steps?: number; outcome: string }

export interface Evidence {
  generated?: string;
  command?: string;
  targets: TargetLine[];
  bias?: { noise?: string; model: GainSummary; bilateral?: GainSummary; subsets: SubsetRow[] };
  experiments: ExperimentRow[];
}

const record = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** "PASS …" / "MISS …" lines of every benchmarked series (and the real-noise checks). */
function targetsOf(benchmark: Record<string, unknown> | undefined): TargetLine[] {
  return Object.values(benchmark ?? {}).flatMap((entry) => list(record(entry)?.targets))
    .map(text).filter((t): t is string => Boolean(t && /^(PASS|MISS) /.test(t)))
    .map((t) => ({ met: t.startsWith('PASS'), text: t.slice(5) }));
}

function gainOf(report: Record<string, unknown> | undefined): GainSummary | undefined {
  const overall = record(report?.overall);
  const mean = num(overall?.meanGain) ?? num(overall?.mean);
  if (mean === undefined) return undefined;
  const ci = list(overall?.ci).map(num);
  return { mean, n: num(overall?.n) ?? 0, ...(ci.length === 2 && ci.every((c) => c !== undefined) ? { ci: ci as [number, number] } : {}) };
}

export function evidenceOf(card: Record<string, unknown>): Evidence | undefined {
  const e = record(card.evidence);
  if (!e) return undefined;
  const bias = record(e.biasReport);
  const model = gainOf(record(bias?.model));
  const bilateral = record(bias?.bilateral);
  const bilateralSubsets = list(bilateral?.subsets).map(record);
  const subsets: SubsetRow[] = list(record(bias?.model)?.subsets).map(record).flatMap((s) => {
    const attribute = text(s?.attribute), value = text(s?.value), mean = num(s?.meanGain) ?? num(s?.mean);
    if (!attribute || value === undefined || mean === undefined) return [];
    const other = bilateralSubsets.find((b) => b?.attribute === attribute && b?.value === value);
    return [{ attribute, value, n: num(s?.n) ?? 0, model: mean, bilateral: num(other?.meanGain) ?? num(other?.mean), flagged: s?.flagged === true }];
  });
  const experiments = list(e.experiments).map(record).flatMap((x) => {
    const name = text(x?.name), outcome = text(x?.outcome);
    return name && outcome ? [{ name, change: text(x?.change) ?? '', steps: num(x?.steps), outcome }] : [];
  });
  return {
    generated: text(e.generated), command: text(e.command), targets: targetsOf(record(e.benchmark)),
    bias: model ? { noise: text(bias?.noise), model, bilateral: gainOf(bilateral), subsets } : undefined,
    experiments,
  };
}

/** The card's inference guard in words ("" when the card has none). */
export function guardText(card: Record<string, unknown>): string {
  const inference = record(card.inference);
  const factor = num(inference?.noiseGuard), scales = num(inference?.noiseGuardScales) ?? 2, local = num(inference?.noiseGuardLocal);
  const parts: string[] = [];
  if (factor !== undefined) parts.push(`removes at most ${factor}× the noise it measures in a slice (${scales === 1 ? 'finest scale' : `${scales} scales`})`);
  if (local !== undefined) parts.push(`at most ${local}× the noise variance over any 5×5 pixels`);
  if (inference?.riskWeighting === true) parts.push('keeps only the share of its removal that its risk estimate (SURE) says lowers the error, with the noise measured between time points where a series has them');
  return parts.length ? `Noise guard: ${parts.join('; ')}.` : '';
}
