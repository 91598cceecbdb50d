/**
 * `npm run cards:evidence [ct|mr]`: writes each shipped default's evidence into its model card —
 * the held-out benchmark with its targets (bench/results/quality.json, from `npm run
 * bench:quality`), the experiments that chose the recipe (defaults.ts), and a bias report: the
 * default and the bilateral filter over every real fixture series of its modality, seeded noise
 * added, broken down by manufacturer, body part and pixel spacing. Only model-card.json changes.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BiasReport } from '../../src-main/api/contract.js';
import { findSeries } from '../../src-main/jobs/series-source.js';
import { DEFAULT_RECIPES, type DefaultRecipe } from './defaults.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'dicom');
const BY = ['manufacturer', 'bodyPart', 'pixelSpacing'];

const work = mkdtempSync(path.join(tmpdir(), 'card-evidence-'));
process.env.DENOISE_STUDIO_HOME = path.join(work, 'home');
mkdirSync(process.env.DENOISE_STUDIO_HOME);
const { DenoiseStudioService } = await import('../../src-main/api/service.js');

/** The bias report's essentials: overall, every subset, and each series with its role. */
function summarise(report: BiasReport, roles: Map<string, string>) {
  return {
    method: report.method, metric: report.metric, backend: report.backend, overall: report.overall,
    subsets: report.subsets.map((s) => ({ attribute: s.attribute, value: s.value, n: s.n, mean: s.mean, ci: s.ci, meanGain: s.meanGain, meanSsimGain: s.meanSsimGain, flagged: s.flagged })),
    series: report.series.map((s) => ({ description: s.description, file: roles.get(s.seriesInstanceUid), slices: s.slices, inputPsnr: s.inputPsnr, psnr: s.psnr, gain: s.gain })),
    skipped: report.skipped,
    overfitting: report.overfitting,
  };
}

async function evidenceFor(recipe: DefaultRecipe, quality: Record<string, unknown>) {
  const service = new DenoiseStudioService();
  try {
    const files = [...recipe.real.map((r) => ({ file: r.file, role: 'training' })), ...recipe.heldOut.map((h) => ({ file: h.file, role: 'held out' }))];
    // Series UID → "file (role)", so each row of the report says where it came from.
    const roles = new Map<string, string>();
    for (const { file, role } of files) {
      const full = path.join(FIXTURES, file);
      await service.index({ path: full });
      for (const series of (await findSeries(full)).series) roles.set(series.seriesInstanceUid, `${file} (${role})`);
    }
    const model = path.join(ROOT, 'models', recipe.folder);
    const series = [...roles.keys()];
    const report = await service.report({ series, model, by: BY, metric: 'gain' });
    const bilateral = await service.report({ series, method: 'bilateral', by: BY, metric: 'gain' });
    return {
      generated: new Date().toISOString().slice(0, 10),
      command: `npm run bench:quality && npm run cards:evidence ${recipe.modality.toLowerCase()}`,
      benchmark: Object.fromEntries(recipe.heldOut.map((h) => [h.file, quality[h.file]])
        .concat(recipe.modality === 'MR' && quality['real noise (MR)'] ? [['real noise', quality['real noise (MR)']]] : [])),
      experiments: recipe.experiments,
      biasReport: {
        data: files.map((f) => `${f.file} (${f.role})`),
        noise: recipe.modality === 'CT' ? 'Gaussian σ 20 HU, seed 1' : 'Rician 5 %, seed 1',
        model: summarise(report, roles), bilateral: summarise(bilateral, roles),
      },
    };
  } finally { service.close(); }
}

try {
  const which = process.argv[2]?.toUpperCase();
  const quality = JSON.parse(readFileSync(path.join(ROOT, 'bench', 'results', 'quality.json'), 'utf8')) as Record<string, unknown>;
  for (const recipe of DEFAULT_RECIPES) {
    if (which && which !== recipe.modality) continue;
    const file = path.join(ROOT, 'models', recipe.folder, 'model-card.json');
    const card = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    card.evidence = await evidenceFor(recipe, quality);
    writeFileSync(file, JSON.stringify(card, null, 2) + '\n');
    const b = (card.evidence as { biasReport: { model: { overall: { meanGain: number }; subsets: { flagged: boolean; attribute: string; value: string }[] }; bilateral: { overall: { meanGain: number } } } }).biasReport;
    console.log(`${recipe.folder}: evidence written — bias report gain ${b.model.overall.meanGain.toFixed(2)} dB (bilateral ${b.bilateral.overall.meanGain.toFixed(2)} dB); flagged: ${b.model.subsets.filter((s) => s.flagged).map((s) => `${s.attribute}=${s.value}`).join(', ') || 'none'}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
