/**
 * The Models tab's reading of a card's evidence: for the shipped cards, every PASS/MISS line the
 * benchmark wrote, the bias report's overall gains and subsets against bilateral, the experiments
 * in order, and the guard in words; a card without evidence (a user's model) gives none.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { evidenceOf, guardText } from '../src-renderer/src/lib/evidence.js';
import { ROOT } from './helpers.js';

const cardOf = (folder: string) => JSON.parse(readFileSync(path.join(ROOT, 'models', folder, 'model-card.json'), 'utf8')) as Record<string, unknown>;

test('the shipped cards\' evidence reads as targets met and missed, gains against bilateral, and the experiments', () => {
  for (const folder of ['ct-default', 'mr-default']) {
    const card = cardOf(folder);
    const raw = card.evidence as { benchmark: Record<string, { targets: string[] }>; experiments: { name: string }[]; biasReport: { model: { overall: { meanGain: number }; subsets: unknown[] }; bilateral: { overall: { meanGain: number } } } };
    const lines = Object.values(raw.benchmark).flatMap((b) => b.targets);
    const e = evidenceOf(card)!;
    assert.equal(e.targets.length, lines.length, folder);
    assert.equal(e.targets.filter((t) => t.met).length, lines.filter((l) => l.startsWith('PASS')).length, folder);
    assert.ok(e.targets.every((t) => !/^(PASS|MISS)/.test(t.text)), 'the verdict word is not repeated in the text');
    assert.equal(e.bias!.model.mean, raw.biasReport.model.overall.meanGain);
    assert.equal(e.bias!.bilateral!.mean, raw.biasReport.bilateral.overall.meanGain);
    assert.equal(e.bias!.subsets.length, raw.biasReport.model.subsets.length);
    assert.ok(e.bias!.subsets.every((s) => s.bilateral !== undefined), 'each subset has its bilateral gain');
    assert.deepEqual(e.experiments.map((x) => x.name), raw.experiments.map((x) => x.name));
    assert.match(guardText(card), /at most 1× the noise it measures .*at most 2× the noise variance over any 5×5 pixels/);
  }
  // The MR card checks real noise too: its b=0 line is among the targets; it weighs its removal by its risk estimate, the CT card does not.
  assert.ok(evidenceOf(cardOf('mr-default'))!.targets.some((t) => /real b=0/.test(t.text)));
  assert.match(guardText(cardOf('mr-default')), /risk estimate \(SURE\)/);
  assert.doesNotMatch(guardText(cardOf('ct-default')), /SURE/);
  assert.equal(evidenceOf({ name: 'mine', version: '1' }), undefined);
  assert.equal(guardText({ inference: { noiseGuard: null, noiseGuardScales: 2, noiseGuardLocal: null } }), '');
  assert.deepEqual(evidenceOf({ evidence: { benchmark: { x: { targets: ['PASS a', 'nonsense', 3] } }, experiments: 'no' } }), { generated: undefined, command: undefined, targets: [{ met: true, text: 'a' }], bias: undefined, experiments: [] });
});
