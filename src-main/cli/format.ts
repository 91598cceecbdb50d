/** Human-readable CLI output (the --json form is the contract; this is for people). */
import path from 'node:path';
import type { BiasReport, DenoiseResult, EvaluateResult, IndexResult, PacsMatch, ProgressEvent, RunSummary, SweepResult, TrainResult } from '../api/contract.js';

export function formatIndex(r: IndexResult): string {
  const lines: string[] = [];
  const f = r.files;
  lines.push(`${r.path}: ${f.scanned} files (${f.read} read, ${f.unchanged} unchanged, ${f.removed} removed, ${f.unreadable} unreadable) in ${r.seconds.toFixed(1)} s`);
  for (const p of r.patients) {
    lines.push(`Patient ${p.name ?? '(no name)'}  ID ${p.patientId ?? '-'}`);
    for (const s of p.studies) {
      lines.push(`  Study ${s.date ?? '????????'} ${s.description ?? ''}  [${s.studyInstanceUid}]`);
      for (const se of s.series) {
        const geometry = `${se.rows ?? '?'}×${se.columns ?? '?'}${se.pixelSpacing ? ` @ ${se.pixelSpacing.map((v) => v.toFixed(3)).join('×')} mm` : ''}${se.sliceSpacing ? `, spacing ${se.sliceSpacing.toFixed(2)} mm` : ''}`;
        lines.push(`    ${se.modality ?? '??'} #${se.seriesNumber ?? '-'} ${se.description ?? ''}: ${se.instances} files, ${se.slices} slices, ${geometry}${se.derived ? ' (derived)' : ''}`);
        for (const problem of se.problems) lines.push(`      ! ${problem.kind}: ${problem.message}`);
      }
    }
  }
  if (r.unreadable.length) {
    lines.push(`Unreadable files (${r.unreadable.length}):`);
    for (const u of r.unreadable) lines.push(`  ${u.file}: ${u.reason}`);
  }
  return lines.join('\n') + '\n';
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  return m < 60 ? `${m} min ${s} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** One line of progress for any job. */
export function progressLine(e: ProgressEvent): string | undefined {
  const eta = e.etaSeconds !== undefined ? `, ETA ${duration(e.etaSeconds)}` : '';
  const run = e.run ? `${e.run}: ` : '';
  if (e.message && !(e.total > 0)) return `${run}${e.message}`;
  if (e.record) {
    const r = e.record;
    const val = r.valLoss !== null ? `, val loss ${r.valLoss.toExponential(3)}` : '';
    const q = r.valPsnr !== null ? `, val PSNR ${r.valPsnr.toFixed(2)} dB, SSIM ${r.valSsim?.toFixed(4)}` : '';
    return `${run}epoch ${r.epoch}/${e.epochs}: loss ${r.trainLoss.toExponential(3)}${val}${q}, lr ${r.learningRate.toExponential(2)}, ${r.seconds.toFixed(1)} s${eta}`;
  }
  if (e.task === 'train' && e.epoch) return `${run}epoch ${e.epoch}/${e.epochs} ${bar(e.batch ?? 0, e.batches ?? 1)} batch ${e.batch}/${e.batches} loss ${e.loss?.toExponential(3)}${eta}`;
  if (e.total > 0) return `${run}${e.task} ${bar(e.done, e.total)} ${e.done}/${e.total}${eta}${e.message ? `  ${e.message}` : ''}`;
  return undefined;
}

export function formatDenoise(r: DenoiseResult): string {
  const lines = [`${r.model}${r.backend === 'none' ? '' : ` on backend ${r.backend}`}: ${r.series.length} series in ${duration(r.seconds)}`];
  for (const s of r.series) {
    lines.push(`  ${s.slices} slices → ${s.output} (${duration(s.seconds)}${s.clippedPixels ? `, ${s.clippedPixels} pixels clipped to the stored range` : ''})`);
    if (s.derivation) lines.push(`    ${s.derivation}`);
    for (const p of s.problems) lines.push(`    ! ${p}`);
  }
  for (const f of r.failed) lines.push(`  FAILED ${f.input}: ${f.error}`);
  if (r.unreadable.length) lines.push(`  ${r.unreadable.length} unreadable files skipped (first: ${r.unreadable[0]!.file}: ${r.unreadable[0]!.reason})`);
  return lines.join('\n') + '\n';
}

export function formatEvaluate(r: EvaluateResult): string {
  const q = (x: { psnr: number; ssim: number; mae: number }) => `PSNR ${x.psnr.toFixed(2)} dB  SSIM ${x.ssim.toFixed(4)}  MAE ${x.mae.toFixed(2)}`;
  const lines = [`data range: ${typeof r.dataRange === 'number' ? r.dataRange : 'reference max − min, per series'}${r.method ? `; denoised with ${r.method} on ${r.backend}` : ''}`];
  for (const p of r.pairs) {
    lines.push(`${p.input} vs ${p.reference} (${p.slices} slices, data range ${p.dataRange}):`);
    lines.push(`  input     ${q(p.inputQuality)}`);
    if (p.denoisedQuality) lines.push(`  denoised  ${q(p.denoisedQuality)}  (${(p.denoisedQuality.psnr - p.inputQuality.psnr >= 0 ? '+' : '')}${(p.denoisedQuality.psnr - p.inputQuality.psnr).toFixed(2)} dB)`);
  }
  return lines.join('\n') + '\n';
}

export function formatTrain(r: TrainResult): string {
  return [
    `${r.stoppedBy === 'cancelled' ? 'cancelled' : `model saved to ${r.outDir}`} after ${r.epochs} epochs (${r.stoppedBy}) in ${duration(r.seconds)} on ${r.backend}`,
    `  ${r.series.length} series (${r.series.map((s) => `${s.modality} …${s.seriesInstanceUid.slice(-8)} ${s.slices} slices${s.role === 'validation' ? ', validation' : ''}`).join('; ')}), ${r.slices} slices, ${r.parameters} parameters`,
    `  saved weights: epoch ${r.savedEpoch ?? '-'}, validation loss ${r.savedValLoss ?? '-'}, PSNR ${r.savedValPsnr?.toFixed(2) ?? '-'} dB, SSIM ${r.savedValSsim?.toFixed(4) ?? '-'} (data units)`,
    ...(r.parent ? [`  fine-tuned from ${r.parent.name} ${r.parent.version}: it scored PSNR ${r.parent.valPsnr?.toFixed(2) ?? '-'} dB, SSIM ${r.parent.valSsim?.toFixed(4) ?? '-'} on the same validation data before training`] : []),
    ...r.skipped.map((s) => `  skipped ${s}`),
  ].join('\n') + '\n';
}

export function formatSweep(r: SweepResult): string {
  const lines = [`${r.runs.length} runs → ${r.outDir}/results.csv (best first):`];
  const byName = new Map(r.runs.map((x) => [x.run, x]));
  for (const name of [...r.ranking, ...r.runs.filter((x) => !x.summary).map((x) => x.run)]) {
    const x = byName.get(name)!;
    const s = x.summary;
    lines.push(`  ${name}  ${JSON.stringify(x.params)}  ${s ? `val PSNR ${s.savedValPsnr?.toFixed(2) ?? '-'} dB, SSIM ${s.savedValSsim?.toFixed(4) ?? '-'} (epoch ${s.savedEpoch ?? '-'}), ${s.epochs} epochs, ${duration(s.seconds)}` : `FAILED: ${x.error}`}`);
  }
  return lines.join('\n') + '\n';
}

export function formatRuns(runs: RunSummary[]): string {
  if (!runs.length) return 'no runs recorded yet\n';
  return runs.map((r) => {
    const metrics = r.valPsnr !== null ? `val PSNR ${r.valPsnr.toFixed(2)} dB, SSIM ${r.valSsim?.toFixed(4) ?? '-'} (epoch ${r.savedEpoch ?? '-'})` : '';
    const gap = r.trainLoss !== null && r.lastValLoss !== null ? `, val/train loss ${(r.lastValLoss / Math.max(r.trainLoss, 1e-12)).toFixed(2)}` : '';
    const where = r.sweep ? ` [sweep ${path.basename(r.sweep.dir)}/${r.sweep.run}]` : '';
    return `#${r.id} ${r.name}${where} ${r.status}${r.error ? ` (${r.error})` : ''}: ${r.epochs} epochs${r.seconds !== null ? ` in ${duration(r.seconds)}` : ''}`
      + `${r.backend ? ` on ${r.backend}` : ''}${metrics ? `, ${metrics}` : ''}${gap}${r.parent ? `, fine-tuned from ${r.parent.name}` : ''}`
      + `${r.tags.length ? ` {${r.tags.join(', ')}}` : ''}\n`;
  }).join('');
}

export function formatReport(r: BiasReport): string {
  const ci = (c: [number, number] | null) => (c ? ` [${c[0].toFixed(2)}, ${c[1].toFixed(2)}]` : '');
  const what = r.metric === 'gain' ? 'PSNR gain' : 'PSNR of the result';
  const lines = [
    `${r.method}${r.backend ? ` on ${r.backend}` : ''}: ${r.series.length} series; ${what} ${r.overall.mean.toFixed(2)} dB${ci(r.overall.ci)} (95 % CI), mean gain ${r.overall.meanGain.toFixed(2)} dB, SSIM gain ${r.overall.meanSsimGain.toFixed(4)}`,
  ];
  if (r.overfitting) lines.push(`  training: last validation/training loss ${r.overfitting.ratio.toFixed(2)} at epoch ${r.overfitting.epoch}${r.overfitting.ratio > 1.5 ? ' — the model may be overfitted' : ''}`);
  let attribute = '';
  for (const s of r.subsets) {
    if (s.attribute !== attribute) { attribute = s.attribute; lines.push(`  ${attribute}:`); }
    lines.push(`    ${s.flagged ? '!' : ' '} ${s.value.padEnd(24)} n=${String(s.n).padStart(3)}  ${s.mean.toFixed(2)} dB${ci(s.ci)}  gain ${s.meanGain.toFixed(2)} dB  shift ${s.meanShift.toFixed(2)}`);
  }
  const flagged = r.subsets.filter((s) => s.flagged);
  lines.push(flagged.length ? `flagged (≥ 1 dB below overall, CI excluding it): ${flagged.map((s) => `${s.attribute}=${s.value}`).join(', ')}` : 'no subset is flagged');
  for (const s of r.skipped) lines.push(`  skipped ${s}`);
  if (r.files) lines.push(`written: ${r.files.csv}, ${r.files.svg}${r.files.png ? `, ${r.files.png}` : ` (${r.files.pngError})`}`);
  return lines.join('\n') + '\n';
}

/** One PACS search row: a patient (name, ID, birth date, sex, studies) or a study or series with its UIDs. */
export function matchLine(r: PacsMatch): string {
  if (r.level === 'patient') {
    return `${(r.patientName ?? '').replace(/\^+/g, ' ').trim() || '(no name)'}  ID ${r.patientId ?? '?'}  born ${r.patientBirthDate ?? '?'} ${r.patientSex ?? ''}  (${r.studies ?? '?'} studies)\n`;
  }
  return `${r.studyDate ?? '????????'} ${r.modality ?? ''} ${r.description ?? ''} (${r.instances ?? '?'} images)  study ${r.studyInstanceUid}${r.seriesInstanceUid ? `  series ${r.seriesInstanceUid}` : ''}\n`;
}
