/** Human-readable CLI output (the --json form is the contract; this is for people). */
import type { IndexResult } from '../api/contract.js';

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
