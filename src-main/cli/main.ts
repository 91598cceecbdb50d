/**
 * `denoise-studio`: the command line over the same service as the app (DESIGN.md "Command line").
 * Every command takes --json (one JSON object on stdout), exits 0 on success and 1 on a user
 * error with a one-line message on stderr, and never writes into its input folder.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DenoiseStudioService, readJsonFile } from '../api/service.js';
import type { IndexResult, PacsMatch, ProgressEvent } from '../api/contract.js';
import { formatDenoise, formatEvaluate, formatIndex, formatReport, formatRuns, formatSweep, formatTrain, matchLine, progressLine } from './format.js';

type Io = { out: NodeJS.WritableStream; err: NodeJS.WritableStream & { isTTY?: boolean } };

function number(name: string, min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    return n;
  };
}

export async function run(argv: string[], io: Io = { out: process.stdout, err: process.stderr }): Promise<number> {
  const program = new Command('denoise-studio')
    .description('Denoise CT and MR DICOM series with denoising autoencoders (offline).')
    .option('--db <file>', 'catalogue database (default: the app data folder, or $DENOISE_STUDIO_HOME)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) });

  const service = () => new DenoiseStudioService({ database: program.opts().db });
  /** Progress on stderr: one rewritten line on a terminal, one line per step change otherwise. */
  const progress = (json: boolean | undefined) => {
    if (json && !io.err.isTTY) return undefined;
    let last = '';
    let lastTenth = -1;
    return (e: ProgressEvent) => {
      const line = progressLine(e);
      if (!line || line === last) return;
      last = line;
      if (io.err.isTTY) return void io.err.write(`\r\x1b[2K${line}`);
      // In a log: epochs, messages, and every tenth of a batch job — not every slice.
      const tenth = e.total > 0 ? Math.floor((10 * e.done) / e.total) : -1;
      const milestone = e.task !== 'train' && e.task !== 'sweep' && tenth !== lastTenth;
      if (e.record || (e.message && !(e.total > 0)) || milestone) io.err.write(line + '\n');
      lastTenth = tenth;
    };
  };
  const endProgress = () => { if (io.err.isTTY) io.err.write('\n'); };
  const emit = (json: boolean | undefined, value: unknown, human: string) => io.out.write(json ? JSON.stringify(value) + '\n' : human);

  program
    .command('index')
    .description('index a folder or DICOMDIR: patients → studies → series, with counts, geometry and problems')
    .argument('<folder>', 'folder (searched recursively) or DICOMDIR file')
    .option('--json', 'print one JSON object')
    .action(async (folder: string, opts: { json?: boolean }) => {
      const s = service();
      try {
        const showProgress = !opts.json && io.err.isTTY;
        const result: IndexResult = await s.index({ path: folder }, (p) => {
          if (showProgress) io.err.write(`\rindexing ${p.done}/${p.total}`);
        });
        if (showProgress) io.err.write('\n');
        emit(opts.json, result, formatIndex(result));
      } finally {
        s.close();
      }
    });

  program
    .command('denoise')
    .description('denoise every series of a folder/DICOMDIR into new derived DICOM series')
    .argument('<input>', 'folder or DICOMDIR')
    .requiredOption('--out <folder>', 'where the derived series go (one sub-folder each; outside the input)')
    .option('--model <dir>', 'model folder (default: the shipped model for the modality)')
    .option('--method <name>', 'model, or a classical filter: gaussian, median, bilateral, nlm, diffusion')
    .option('--strength <0..1>', 'blend of input (0) and denoised (1)', number('--strength', 0, 1), 1)
    .option('--workers <n>', 'worker threads (default: one per core)', number('--workers', 1, 32))
    .option('--backend <name>', 'force a backend: webgpu, node-gpu, node, wasm, cpu')
    .option('--json', 'print one JSON object')
    .action(async (input: string, opts: { out: string; model?: string; method?: string; strength: number; workers?: number; backend?: string; json?: boolean }) => {
      const result = await service().denoise({ input, out: opts.out, model: opts.model, method: opts.method, strength: opts.strength, workers: opts.workers, backend: opts.backend as never },
        { onProgress: progress(opts.json) });
      endProgress();
      emit(opts.json, result, formatDenoise(result));
      if (result.series.length === 0) throw new Error(`no series could be denoised (${result.failed.map((f) => f.error).join('; ')})`);
    });

  program
    .command('evaluate')
    .description('PSNR/SSIM of an input series (and of its denoised version) against a reference series')
    .requiredOption('--reference <folder>', 'clean reference series')
    .requiredOption('--input <folder>', 'series to assess (e.g. a noisy or low-dose version)')
    .option('--series <uid...>', 'assess only these input series (Series Instance UIDs)')
    .option('--model <dir>', 'also denoise the input with this model and assess the result')
    .option('--method <name>', 'or with a classical filter (gaussian, median, bilateral, nlm, diffusion)')
    .option('--strength <0..1>', 'blend of input (0) and denoised (1)', number('--strength', 0, 1))
    .option('--data-range <value>', 'PSNR/SSIM data range in image units (default: reference max − min)', number('--data-range', 1e-9, 1e9))
    .option('--backend <name>', 'force a backend: webgpu, node-gpu, node, wasm, cpu')
    .option('--json', 'print one JSON object')
    .action(async (opts: { reference: string; input: string; series?: string[]; model?: string; method?: string; strength?: number; dataRange?: number; backend?: string; json?: boolean }) => {
      const result = await service().evaluate({ reference: opts.reference, input: opts.input, series: opts.series, model: opts.model, method: opts.method, strength: opts.strength, dataRange: opts.dataRange, backend: opts.backend as never },
        { onProgress: progress(opts.json) });
      endProgress();
      emit(opts.json, result, formatEvaluate(result));
    });

  program
    .command('train')
    .description('train or fine-tune a model on local series; progress on stderr')
    .option('--series <uid...>', 'catalogued series to train on (Series Instance UIDs; see `index`)')
    .option('--data <folder...>', 'folders whose series are all used (indexed first)')
    .requiredOption('--config <file>', 'training configuration (JSON)')
    .requiredOption('--out <dir>', 'new model folder')
    .option('--checkpoint <dir>', 'save a checkpoint every epoch here')
    .option('--resume', 'continue from --checkpoint')
    .option('--init <model>', "fine-tune: start from this model folder ('default': the shipped model for the data's modality); config.fineTune sets frozen layers and warm-up")
    .option('--backend <name>', 'force a backend: webgpu, node-gpu, node, wasm, cpu')
    .option('--json', 'print one JSON object')
    .action(async (opts: { series?: string[]; data?: string[]; config: string; out: string; checkpoint?: string; resume?: boolean; init?: string; backend?: string; json?: boolean }) => {
      if (opts.resume && !opts.checkpoint) throw new Error('--resume needs --checkpoint <dir>');
      if (!opts.series?.length && !opts.data?.length) throw new Error('give the training series: --series <uid>… and/or --data <folder>…');
      const config = await readJsonFile(opts.config);
      const controller = new AbortController();
      const onSigint = () => { io.err.write('\nstopping after this batch (checkpoint kept)…\n'); controller.abort(); };
      process.once('SIGINT', onSigint);
      try {
        const init = opts.init === 'default' ? { initDefault: true } : opts.init ? { init: opts.init } : {};
        const result = await service().train({ series: opts.series, data: opts.data, config, out: opts.out, checkpoint: opts.checkpoint, resume: opts.resume, backend: opts.backend as never, ...init },
          { onProgress: progress(opts.json), signal: controller.signal });
        endProgress();
        emit(opts.json, result, formatTrain(result));
      } finally {
        process.off('SIGINT', onSigint);
      }
    });

  program
    .command('sweep')
    .description('train every point of a grid or random search and rank them; run it again with the same --out to resume')
    .requiredOption('--spec <file>', 'sweep spec (JSON): { base, grid: {"dotted.path": [values]} | random: {runs, seed, space}, budget?, objective?, halving?, data?, parallel? }')
    .requiredOption('--out <folder>', 'folder for the run models and results.csv / results.json')
    .option('--series <uid...>', 'catalogued series to train on (overrides the spec)')
    .option('--data <folder...>', 'folders whose series are all used (overrides the spec)')
    .option('--backend <name>', 'force a backend: webgpu, node-gpu, node, wasm, cpu')
    .option('--json', 'print one JSON object')
    .action(async (opts: { spec: string; out: string; series?: string[]; data?: string[]; backend?: string; json?: boolean }) => {
      const spec = await readJsonFile(opts.spec);
      const result = await service().sweep({ spec, out: opts.out, series: opts.series, data: opts.data, backend: opts.backend as never }, { onProgress: progress(opts.json) });
      endProgress();
      emit(opts.json, result, formatSweep(result));
    });

  program
    .command('adapt')
    .description("adapt the shipped default model to one series, self-supervised (its own noisy slices; structured blind spots for CT)")
    .requiredOption('--series <uid>', 'the catalogued series (see `index`)')
    .option('--data <folder>', 'index this folder first (the series must be in it)')
    .option('--out <dir>', 'new model folder (default: a new model in the model list)')
    .option('--epochs <n>', 'epochs (default 6)', number('--epochs', 1, 200))
    .option('--backend <name>', 'force a backend: webgpu, node-gpu, node, wasm, cpu')
    .option('--json', 'print one JSON object')
    .action(async (opts: { series: string; data?: string; out?: string; epochs?: number; backend?: string; json?: boolean }) => {
      const s = service();
      if (opts.data) await s.index({ path: opts.data });
      const result = await s.adapt({ seriesInstanceUid: opts.series, out: opts.out, epochs: opts.epochs, backend: opts.backend as never }, { onProgress: progress(opts.json) });
      endProgress();
      emit(opts.json, result, formatTrain(result));
    });

  program
    .command('report')
    .description('evaluate a model (or filter) over many series and break PSNR/SSIM down by subset: the generalisation and bias report')
    .option('--model <dir>', "model folder, or 'default' (the shipped model per modality)", 'default')
    .option('--method <name>', 'a classical filter instead of a model (median, gaussian, bilateral, nlm, …)')
    .option('--series <uid...>', 'catalogued series to evaluate')
    .option('--data <folder...>', 'folders whose series are all evaluated (noisy copies made by add-noise are compared with their sources)')
    .option('--by <attrs>', 'comma-separated attributes: modality, bodyPart, manufacturer, model, kvp, sliceThickness, pixelSpacing, noiseLevel, sex, ageBand, or any DICOM keyword or tag')
    .option('--noise <json>', 'noise added to series without a reference (default: Gaussian 20 HU for CT, Rician 5 % for MR)')
    .option('--seed <n>', 'seed of that noise', number('--seed', 0, 2 ** 31), 1)
    .option('--slices <n>', 'slices per series, evenly spaced', number('--slices', 1, 200), 8)
    .option('--metric <m>', "what subsets are compared on: 'psnr' of the result or its 'gain' over the input", 'psnr')
    .option('--out <folder>', 'write report.csv, report.json, report.svg and report.png here (a new folder)')
    .option('--backend <name>', 'force a backend: webgpu, node-gpu, node, wasm, cpu')
    .option('--json', 'print one JSON object')
    .action(async (opts: { model: string; method?: string; series?: string[]; data?: string[]; by?: string; noise?: string; seed: number; slices: number; metric: string; out?: string; backend?: string; json?: boolean }) => {
      if (!opts.series?.length && !opts.data?.length) throw new Error('give the series to evaluate: --series <uid>… and/or --data <folder>…');
      if (opts.metric !== 'psnr' && opts.metric !== 'gain') throw new Error(`--metric must be psnr or gain (got ${opts.metric})`);
      let noise: unknown;
      if (opts.noise) { try { noise = JSON.parse(opts.noise); } catch { throw new Error(`--noise: not valid JSON: ${opts.noise}`); } }
      const result = await service().report({
        series: opts.series, data: opts.data, model: opts.model !== 'default' && !opts.method ? opts.model : undefined, method: opts.method,
        by: opts.by?.split(',').map((b) => b.trim()).filter(Boolean), noise, seed: opts.seed, slicesPerSeries: opts.slices,
        metric: opts.metric, out: opts.out, backend: opts.backend as never,
      }, { onProgress: progress(opts.json) });
      endProgress();
      emit(opts.json, result, formatReport(result));
    });

  /** "host:port:AET" → the node a request names (the service validates each field). */
  const nodeOf = (text: string, callingAet?: string) => {
    const m = /^([^:\s]+):(\d{1,5}):(.+)$/.exec(text.trim());
    if (!m) throw new Error(`--node: expected host:port:AET, got '${text}'`);
    return { host: m[1]!, port: Number(m[2]), aet: m[3]!, ...(callingAet ? { callingAet } : {}) };
  };
  /**
   * --node (DIMSE) or --web (DICOMweb): exactly one. A DICOMweb password comes from the
   * environment (DENOISE_STUDIO_WEB_PASSWORD), never the command line, where process lists show it.
   */
  type Remote = { kind: 'dimse'; node: ReturnType<typeof nodeOf> } | { kind: 'web'; server: { url: string; username?: string; password?: string } };
  const webServer = (url: string, user?: string) => ({ url, ...(user ? { username: user, password: process.env.DENOISE_STUDIO_WEB_PASSWORD ?? '' } : {}) });
  /** --node host:port:AET, --node <a saved node's name> (DIMSE or DICOMweb), or --web <url>. */
  const target = async (opts: { node?: string; web?: string; user?: string; aet?: string }): Promise<Remote> => {
    if (Boolean(opts.node) === Boolean(opts.web)) throw new Error('name the remote: --node host:port:AET (DIMSE), --node <saved node name> or --web <DICOMweb URL>');
    if (opts.web) return { kind: 'web', server: webServer(opts.web, opts.user) };
    if (opts.node!.includes(':')) return { kind: 'dimse', node: nodeOf(opts.node!, opts.aet) };
    const saved = (await service().pacsNodes({})).find((n) => n.name === opts.node);
    if (!saved) throw new Error(`--node: no saved node is named '${opts.node}' (see \`pacs nodes\`), and it is not host:port:AET`);
    if (saved.protocol === 'dicomweb') return { kind: 'web', server: webServer(saved.url!, opts.user ?? saved.username) };
    return { kind: 'dimse', node: { host: saved.host!, port: saved.port!, aet: saved.aet!, ...(opts.aet ?? saved.callingAet ? { callingAet: opts.aet ?? saved.callingAet } : {}) } };
  };
  const remoteOptions = (c: Command) => c
    .option('--node <host:port:AET|name>', 'a DIMSE node, or a saved node\'s name (see `pacs nodes`)').option('--aet <ours>', 'our AE title (DIMSE; default DENOISESTUDIO)')
    .option('--web <url>', 'a DICOMweb root instead, e.g. http://pacs:8042/dicom-web')
    .option('--user <name>', 'DICOMweb user name (the password is read from DENOISE_STUDIO_WEB_PASSWORD)');
  const pacs = program.command('pacs').description('DICOM networking with a PACS or modality: echo, find, retrieve (C-GET/C-MOVE or WADO-RS), send (C-STORE or STOW-RS), listen (storage SCP)');
  const nodes = pacs.command('nodes').description('the saved remote nodes (shared with the app\'s PACS view): list, add, delete')
    .option('--json', 'print one JSON array')
    .action(async (opts: { json?: boolean }) => {
      const list = await service().pacsNodes({});
      emit(opts.json, list, list.length ? list.map((n) => `${n.name}  ${n.protocol === 'dicomweb' ? `${n.url}${n.username ? ` (user ${n.username})` : ''}` : `${n.host}:${n.port}:${n.aet}${n.callingAet ? ` (we are ${n.callingAet})` : ''}`}\n`).join('') : 'no saved nodes\n');
    });
  remoteOptions(nodes.command('add').description('save a node by name (replacing one of that name); no password is ever saved')
    .argument('<name>'))
    .action(async (name: string, opts: { node?: string; web?: string; user?: string; aet?: string }) => {
      if (Boolean(opts.node) === Boolean(opts.web)) throw new Error('give the address: --node host:port:AET or --web <DICOMweb URL>');
      const node = opts.web ? { name, protocol: 'dicomweb' as const, url: opts.web, ...(opts.user ? { username: opts.user } : {}) }
        : { name, protocol: 'dimse' as const, ...nodeOf(opts.node!, opts.aet) };
      io.out.write(`saved ${name} (${(await service().savePacsNode({ node })).length} saved node(s))\n`);
    });
  nodes.command('delete').description('forget a saved node').argument('<name>')
    .action(async (name: string) => {
      io.out.write(`deleted ${name} (${(await service().deletePacsNode({ name })).length} left)\n`);
    });
  pacs.command('echo').description('C-ECHO: is the node there and does it accept us?')
    .requiredOption('--node <host:port:AET|name>', 'the remote node, or a saved node\'s name').option('--aet <ours>', 'our AE title (default DENOISESTUDIO)').option('--json', 'print one JSON object')
    .action(async (opts: { node: string; aet?: string; json?: boolean }) => {
      const remote = await target(opts);
      if (remote.kind !== 'dimse') throw new Error(`--node ${opts.node} is a DICOMweb server: C-ECHO is for DIMSE nodes (try \`pacs find --node ${opts.node} --level patient --patient-id NONE\`)`);
      const r = await service().pacsEcho({ node: remote.node });
      emit(opts.json, r, `${opts.node}: C-ECHO answered in ${r.ms.toFixed(0)} ms\n`);
    });
  remoteOptions(pacs.command('find').description('find patients, studies or the series of one study: C-FIND, or QIDO-RS with --web'))
    .addOption(new Option('--level <level>', 'patient (by name or ID), study, or series (of --study)').choices(['patient', 'study', 'series']).default('study')).option('--patient-name <pattern>', 'e.g. DOE^* (wildcards * and ?)')
    .option('--patient-id <id>').option('--date <range>', 'YYYYMMDD or YYYYMMDD-YYYYMMDD').option('--modality <m>', 'CT, MR, …')
    .option('--study <uid>', 'the study (needed for --level series)').option('--json', 'print one JSON array')
    .action(async (opts: { node?: string; web?: string; user?: string; aet?: string; level: string; patientName?: string; patientId?: string; date?: string; modality?: string; study?: string; json?: boolean }) => {
      const query = { level: opts.level as PacsMatch['level'], patientName: opts.patientName, patientId: opts.patientId, studyDate: opts.date, modality: opts.modality, studyInstanceUid: opts.study };
      const remote = await target(opts);
      const rows = remote.kind === 'dimse' ? await service().pacsFind({ node: remote.node, ...query }) : await service().webFind({ server: remote.server, ...query });
      emit(opts.json, rows, rows.length ? rows.map(matchLine).join('') : 'no matches\n');
    });
  remoteOptions(pacs.command('retrieve').description('retrieve a study or series into the data folder and index it: C-GET (or C-MOVE with --move-port), or WADO-RS with --web'))
    .requiredOption('--study <uid>').option('--series <uid>')
    .option('--move-port <n>', 'C-MOVE instead of C-GET: our storage SCP listens on this port for the transfer (the node must know our AE title there)', number('--move-port', 1, 65535))
    .option('--json', 'print one JSON object')
    .action(async (opts: { node?: string; web?: string; user?: string; aet?: string; study: string; series?: string; movePort?: number; json?: boolean }) => {
      const remote = await target(opts);
      const what = { studyInstanceUid: opts.study, seriesInstanceUid: opts.series };
      if (opts.movePort && remote.kind === 'web') throw new Error('--move-port is for a DIMSE node (--node), not DICOMweb');
      const r = remote.kind === 'dimse'
        ? await service().pacsRetrieve({ node: remote.node, ...what, ...(opts.movePort ? { via: 'move' as const, listenPort: opts.movePort } : {}) }, { onProgress: progress(opts.json) })
        : await service().webRetrieve({ server: remote.server, ...what }, { onProgress: progress(opts.json) });
      endProgress();
      emit(opts.json, r, `retrieved ${r.files} instance(s)${r.failed ? `, ${r.failed} failed` : ''} into ${r.folder}; series ${r.series.join(', ')}\n`);
    });
  remoteOptions(pacs.command('send').description('send a catalogued series (e.g. a denoised result): C-STORE, or STOW-RS with --web'))
    .requiredOption('--series <uid>', 'the Series Instance UID (see `index`)').option('--json', 'print one JSON object')
    .action(async (opts: { node?: string; web?: string; user?: string; aet?: string; series: string; json?: boolean }) => {
      const remote = await target(opts);
      const r = remote.kind === 'dimse'
        ? await service().pacsSend({ node: remote.node, seriesInstanceUid: opts.series }, { onProgress: progress(opts.json) })
        : await service().webSend({ server: remote.server, seriesInstanceUid: opts.series }, { onProgress: progress(opts.json) });
      endProgress();
      emit(opts.json, r, `sent ${r.sent} instance(s)${r.failed.length ? `; ${r.failed.length} refused (${[...new Set(r.failed.map((f) => f.status))].join(', ')})` : ''}\n`);
      if (r.failed.length) throw new Error(`${r.failed.length} instance(s) were refused`);
    });
  pacs.command('listen').description('run the storage SCP until Ctrl-C: received instances land in the data folder and are indexed')
    .requiredOption('--port <n>', 'port to listen on', number('--port', 1, 65535)).option('--aet <ours>', 'our AE title', 'DENOISESTUDIO')
    .requiredOption('--allow <AETs>', 'comma-separated calling AE titles allowed to send').option('--json', 'print one JSON object at the end')
    .action(async (opts: { port: number; aet: string; allow: string; json?: boolean }) => {
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const r = await service().pacsListen({ port: opts.port, aet: opts.aet, allowedCallers: opts.allow.split(',').map((a) => a.trim()).filter(Boolean) },
          { signal: controller.signal, onProgress: (e) => { if (e.message) io.err.write(`${e.message}\n`); } });
        emit(opts.json, r, `received ${r.received} instance(s) into ${r.folder}${r.refused.length ? `; refused: ${r.refused.join('; ')}` : ''}\n`);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });

  const runs = program.command('runs').description('training runs recorded in the catalogue (app, CLI and sweeps)');
  runs
    .command('list', { isDefault: true })
    .description('list runs, newest first')
    .option('--status <status>', 'running, finished, stopped or failed')
    .option('--tag <tag>', 'only runs with this tag')
    .option('--sweep <folder>', "only this sweep's runs")
    .option('--json', 'print one JSON array')
    .action(async (opts: { status?: string; tag?: string; sweep?: string; json?: boolean }) => {
      const list = await service().runs({ status: opts.status as never, tag: opts.tag, sweep: opts.sweep });
      emit(opts.json, list, formatRuns(list));
    });
  runs.command('show').argument('<id>', 'run id', number('id', 1, 2 ** 31)).option('--json', 'print one JSON object')
    .description('a run with its config and per-epoch history')
    .action(async (id: number, opts: { json?: boolean }) => {
      const run = await service().run({ id });
      // The validation previews are pictures (the app shows them); JSON says only that they are there.
      const json = { ...run, previews: run.previews.map((p) => p && { width: p.width, height: p.height, bytes: p.pixels.length }) };
      emit(opts.json, json, formatRuns([run]) + run.history.map((h) => `  epoch ${h.epoch}: train ${h.trainLoss.toExponential(3)}, val ${h.valLoss?.toExponential(3) ?? '-'}, PSNR ${h.valPsnr?.toFixed(2) ?? '-'} dB, lr ${h.learningRate.toExponential(2)}\n`).join(''));
    });
  runs.command('export').argument('<id>', 'run id', number('id', 1, 2 ** 31))
    .description("print a run's training config as JSON (for `train --config`)")
    .action(async (id: number) => { io.out.write(JSON.stringify((await service().run({ id })).config, null, 2) + '\n'); });
  runs.command('tag').argument('<id>', 'run id', number('id', 1, 2 ** 31)).argument('<tags...>', 'tags to add')
    .option('--remove', 'remove these tags instead').option('--json', 'print one JSON object')
    .action(async (id: number, tags: string[], opts: { remove?: boolean; json?: boolean }) => {
      const run = await service().tagRun(opts.remove ? { id, remove: tags } : { id, add: tags });
      emit(opts.json, run, formatRuns([run]));
    });
  runs.command('delete').argument('<id>', 'run id', number('id', 1, 2 ** 31))
    .option('--files', 'also delete the model folder the run wrote').option('--json', 'print one JSON object')
    .action(async (id: number, opts: { files?: boolean; json?: boolean }) => {
      const r = await service().deleteRun({ id, files: opts.files });
      emit(opts.json, r, `deleted run ${r.deleted}${r.removedFolder ? ` and ${r.removedFolder}` : ''}\n`);
    });
  runs.command('promote').argument('<id>', 'run id', number('id', 1, 2 ** 31)).option('--json', 'print one JSON object')
    .description("add a finished run's model to the model list")
    .action(async (id: number, opts: { json?: boolean }) => {
      const m = await service().promoteRun({ id });
      emit(opts.json, m, `promoted: ${m.name} ${m.version} (${m.id})\n`);
    });

  program
    .command('add-noise')
    .description('write a copy of every series with simulated noise (seeded), e.g. to evaluate a model')
    .argument('<input>', 'folder or DICOMDIR')
    .requiredOption('--out <folder>', 'where the noisy series go')
    .requiredOption('--noise <json>', 'noise model, e.g. \'{"kind":"gaussian","sigma":25}\' or \'{"kind":"rician","sigma":5,"units":"percent"}\'')
    .option('--seed <n>', 'random seed', number('--seed', 0, 2 ** 31), 1)
    .option('--json', 'print one JSON object')
    .action(async (input: string, opts: { out: string; noise: string; seed: number; json?: boolean }) => {
      let noise: unknown;
      try { noise = JSON.parse(opts.noise); } catch { throw new Error(`--noise: not valid JSON: ${opts.noise}`); }
      const result = await service().addNoise({ input, out: opts.out, noise, seed: opts.seed }, { onProgress: progress(opts.json) });
      endProgress();
      emit(opts.json, result, formatDenoise(result));
    });

  program
    .command('backend')
    .description('show which compute backend loads here, and why faster ones did not')
    .option('--backend <name>', 'try only this backend')
    .option('--json', 'print one JSON object')
    .action(async (opts: { backend?: string; json?: boolean }) => {
      const info = await service().backend({ backend: opts.backend });
      const adapter = info.adapter ? ` on ${info.adapter.device || info.adapter.description}${info.adapter.software ? ' (software adapter)' : ''}` : '';
      emit(opts.json, info, `backend: ${info.name}${adapter}${info.forced ? ' (forced)' : ''}\n${info.skipped.map((s) => `  not ${s.name}: ${s.reason}`).join('\n')}\n`);
    });

  let exitCode = 0;
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    const message = error instanceof Error ? error.message : String(error);
    io.err.write(`denoise-studio: ${message.split('\n')[0]}\n`);
    exitCode = 1;
  }
  return exitCode;
}

const invokedDirectly = process.argv[1] && /(denoise-studio(\.js)?|cli[\\/]main\.[jt]s)$/.test(process.argv[1]);
if (invokedDirectly) {
  run(process.argv.slice(2)).then((code) => process.exit(code));
}
