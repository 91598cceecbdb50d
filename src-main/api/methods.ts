/**
 * The API table: for every method of contract.ts, the zod schema of its request (errors name the
 * field) with its filesystem paths marked wherever they sit, and which folders its result creates.
 * The loopback routes, the IPC channels, the preload bridge and the renderer client are all
 * generated from this table and `API_METHODS`; the service implements one method per entry.
 * Adding a method: an entry in contract.ts's ApiMethods, one here, one service method, its UI.
 */
import path from 'node:path';
import { z } from 'zod';
import { PixelImputation } from '../preprocess/impute.js';
import { NormalisationSpec } from '../preprocess/normalise.js';
import { API_METHODS, type ApiMethod, type ResultOf } from './contract.js';

/** Path schemas are marked so the transports can find and confine every path in a request. */
const pathSchemas = new WeakSet<z.ZodType>();
function markPath<T extends z.ZodType>(schema: T): T {
  pathSchemas.add(schema);
  return schema;
}

export const PathString = markPath(z.string().min(1, 'must not be empty').max(4096).refine((s) => !s.includes('\0'), 'must not contain NUL'));
const Uid = z.string().regex(/^[0-9.]{1,64}$/, 'must be a DICOM UID');
const BackendName = z.enum(['webgpu', 'node-gpu', 'node', 'wasm', 'cpu']);
const Empty = z.object({}).strict();

/** A dataset: catalogued series by UID and/or folders whose series are indexed first. */
const Dataset = {
  series: z.array(Uid).max(10000).optional(),
  data: z.array(PathString).max(1000).optional(),
};
const needsData = (r: { series?: string[]; data?: string[] }) => Boolean(r.series?.length || r.data?.length);
const DATA_MESSAGE = { message: 'give at least one series (series: [UID…]) or data folder', path: ['series'] };

interface MethodEntry {
  request: z.ZodType;
  /** Folders a successful result created: they become readable through the transports. */
  outputs?: (result: never) => string[];
}

const RunId = z.number().int().positive();
const AeTitle = z.string().regex(/^[\x20-\x5b\x5d-\x7e]{1,16}$/, 'an AE title is 1–16 printable characters without a backslash');
const PacsNode = z.object({
  host: z.string().regex(/^[A-Za-z0-9.:_-]{1,253}$/, 'a host name or IP address'), port: z.number().int().min(1).max(65535),
  aet: AeTitle, callingAet: AeTitle.optional(),
});
/** A DICOMweb root: http(s), no user:password@ in it (credentials have their own fields, kept out of logs). */
const WebServer = z.object({
  url: z.string().max(2048).url('a URL such as http://pacs:8042/dicom-web').refine((u) => /^https?:\/\//i.test(u), 'an http:// or https:// URL')
    .refine((u) => { try { const x = new URL(u); return !x.username && !x.password; } catch { return false; } }, 'put the user name and password in their own fields, not in the URL'),
  username: z.string().max(256).optional(), password: z.string().max(1024).optional(),
});
/**
 * A node as the user saves it: the fields its protocol needs, strictly (a password, or anything
 * else unknown, is refused: credentials are never stored).
 */
const NodeName = z.string().regex(/^[^\p{Cc}]{1,64}$/u, 'a name of 1–64 characters').refine((s) => s.trim() === s && s.length > 0, 'no leading or trailing spaces');
const SavedPacsNode = z.discriminatedUnion('protocol', [
  z.object({
    name: NodeName, protocol: z.literal('dimse'), host: PacsNode.shape.host, port: PacsNode.shape.port, aet: AeTitle, callingAet: AeTitle.optional(),
    via: z.enum(['get', 'move']).optional(), movePort: z.number().int().min(1).max(65535).optional(),
  }).strict(),
  z.object({ name: NodeName, protocol: z.literal('dicomweb'), url: WebServer.shape.url, username: WebServer.shape.username }).strict(),
]);
/** Query text: DICOM wildcards * and ? allowed; no backslash (a value separator) or control characters. */
const QueryText = z.string().regex(/^[^\\\p{Cc}]{0,64}$/u, 'at most 64 characters, no backslash');
/** What a study or series query may ask, over DIMSE (C-FIND) or DICOMweb (QIDO-RS) alike. */
const FindFields = z.object({
  level: z.enum(['patient', 'study', 'series']), patientName: QueryText.optional(), patientId: QueryText.optional(),
  studyDate: z.string().regex(/^(\d{8})?(-(\d{8})?)?$/, 'a date YYYYMMDD or a range YYYYMMDD-YYYYMMDD').optional(),
  modality: z.string().regex(/^[A-Z]{2,4}$/, 'a modality such as CT or MR').optional(), studyInstanceUid: Uid.optional(),
});
/** A series query needs its study; a patient query matches name and ID only. */
const levelKeys = <T extends z.ZodType<z.infer<typeof FindFields>>>(schema: T) => schema
  .refine((r) => r.level !== 'series' || Boolean(r.studyInstanceUid), { message: 'a series query needs studyInstanceUid', path: ['studyInstanceUid'] })
  .refine((r) => r.level !== 'patient' || !(r.studyDate || r.modality || r.studyInstanceUid), { message: 'a patient query matches name and ID only: search studies for a date, modality or study', path: ['level'] });
const SliceIndex = z.number().int().min(0).max(100000);
/** A stack's label as `stacks` lists it ("TE 30 ms · acquisition 2"): printable text. */
const StackLabel = z.string().regex(/^[^\p{Cc}]{0,200}$/u, 'a stack label as the stacks call lists it');
const RunTag = z.string().regex(/^[\w.+-]{1,40}$/, 'a tag is 1–40 letters, digits or . _ + -');

export const METHODS = {
  index: { request: z.object({ path: PathString }) },
  catalog: { request: Empty },
  slice: { request: z.object({ seriesInstanceUid: Uid, index: SliceIndex, stack: StackLabel.optional() }) },
  stacks: { request: z.object({ seriesInstanceUid: Uid }) },
  tags: { request: z.object({ seriesInstanceUid: Uid, index: SliceIndex, stack: StackLabel.optional() }) },
  forgetSeries: { request: z.object({ seriesInstanceUid: Uid }) },
  preview: {
    request: z.object({
      seriesInstanceUid: Uid, index: SliceIndex, stack: StackLabel.optional(), normalisation: NormalisationSpec, imputation: PixelImputation,
    }),
  },
  backend: { request: z.object({ backend: BackendName.optional() }) },
  models: { request: Empty },
  importModel: { request: z.object({ folder: PathString }) },
  deleteModel: { request: z.object({ id: z.string().regex(/^user:[\w.-]{1,200}$/, 'only user models can be deleted') }) },
  checkTrainConfig: { request: z.object({ config: z.unknown() }) },
  report: {
    request: z.object({
      ...Dataset, model: PathString.optional(), method: z.string().min(1).max(50).optional(),
      by: z.array(z.string().regex(/^([A-Za-z][A-Za-z0-9]{1,63}|\(?[0-9A-Fa-f]{4},?[0-9A-Fa-f]{4}\)?)$/, 'an attribute is a name (manufacturer, PatientSex) or a tag (0018,0050)')).max(20).optional(),
      noise: z.unknown().optional(), seed: z.number().int().min(0).optional(), slicesPerSeries: z.number().int().min(1).max(200).optional(),
      metric: z.enum(['psnr', 'gain']).optional(), out: PathString.optional(), backend: BackendName.optional(),
    }).refine(needsData, DATA_MESSAGE),
    outputs: (r: ResultOf<'report'>) => (r.files ? [path.dirname(r.files.json)] : []),
  },
  adapt: {
    request: z.object({ seriesInstanceUid: Uid, out: PathString.optional(), epochs: z.number().int().min(1).max(200).optional(), backend: BackendName.optional() }),
    outputs: (r: ResultOf<'adapt'>) => [r.outDir],
  },
  pacsEcho: { request: z.object({ node: PacsNode }) },
  pacsFind: { request: levelKeys(FindFields.extend({ node: PacsNode })) },
  pacsRetrieve: {
    request: z.object({
      node: PacsNode, studyInstanceUid: Uid, seriesInstanceUid: Uid.optional(), via: z.enum(['get', 'move']).optional(),
      listenPort: z.number().int().min(1).max(65535).optional(),
    }).refine((r) => r.via !== 'move' || r.listenPort, { message: 'C-MOVE needs listenPort: the port our storage SCP listens on for the transfer', path: ['listenPort'] }),
    outputs: (r: ResultOf<'pacsRetrieve'>) => [r.folder],
  },
  pacsSend: { request: z.object({ node: PacsNode, seriesInstanceUid: Uid }) },
  webFind: { request: levelKeys(FindFields.extend({ server: WebServer })) },
  webRetrieve: {
    request: z.object({ server: WebServer, studyInstanceUid: Uid, seriesInstanceUid: Uid.optional() }),
    outputs: (r: ResultOf<'webRetrieve'>) => [r.folder],
  },
  webSend: { request: z.object({ server: WebServer, seriesInstanceUid: Uid }) },
  pacsNodes: { request: Empty },
  savePacsNode: { request: z.object({ node: SavedPacsNode }) },
  deletePacsNode: { request: z.object({ name: NodeName }) },
  pacsListen: { request: z.object({ port: z.number().int().min(1).max(65535), aet: AeTitle, allowedCallers: z.array(AeTitle).min(1).max(50) }) },
  runs: { request: z.object({ status: z.enum(['running', 'finished', 'stopped', 'failed']).optional(), tag: RunTag.optional(), sweep: z.string().max(4096).optional() }) },
  run: { request: z.object({ id: RunId }) },
  tagRun: { request: z.object({ id: RunId, add: z.array(RunTag).max(20).optional(), remove: z.array(RunTag).max(20).optional() }) },
  deleteRun: { request: z.object({ id: RunId, files: z.boolean().optional() }) },
  promoteRun: { request: z.object({ id: RunId }) },
  denoise: {
    request: z.object({
      input: PathString, out: PathString, model: PathString.optional(), method: z.string().min(1).max(50).optional(),
      strength: z.number().min(0).max(1).optional(), workers: z.number().int().min(1).max(32).optional(),
      backend: BackendName.optional(), seriesUids: z.array(Uid).optional(),
    }),
    outputs: (r: ResultOf<'denoise'>) => r.series.map((s) => s.output),
  },
  evaluate: {
    request: z.object({
      reference: PathString, input: PathString, series: z.array(Uid).optional(), model: PathString.optional(),
      method: z.string().min(1).max(50).optional(), strength: z.number().min(0).max(1).optional(),
      dataRange: z.number().positive().optional(), workers: z.number().int().min(1).max(32).optional(), backend: BackendName.optional(),
    }),
  },
  train: {
    request: z.object({
      ...Dataset, config: z.unknown(), out: PathString, checkpoint: PathString.optional(), resume: z.boolean().optional(), backend: BackendName.optional(),
      init: PathString.optional(), initDefault: z.boolean().optional(),
    }).refine(needsData, DATA_MESSAGE).refine((r) => !(r.init && r.initDefault), { message: 'init: give a model folder or initDefault, not both', path: ['init'] }),
    outputs: (r: ResultOf<'train'>) => [r.outDir],
  },
  sweep: {
    request: z.object({
      ...Dataset,
      // The spec's own data folders are paths too; the engine validates the rest of the spec.
      spec: z.looseObject({ data: z.array(PathString).optional(), series: z.array(Uid).optional() }).optional(),
      out: PathString, backend: BackendName.optional(), resume: z.boolean().optional(),
    }).refine((r) => Boolean(r.spec) !== Boolean(r.resume), { message: 'give a spec, or resume: true to continue the sweep in out', path: ['spec'] }),
    outputs: (r: ResultOf<'sweep'>) => [r.outDir],
  },
  addNoise: {
    request: z.object({ input: PathString, out: PathString, noise: z.unknown(), seed: z.number().int().min(0).optional() }),
    outputs: (r: ResultOf<'addNoise'>) => r.series.map((s) => s.output),
  },
  exportSeries: {
    request: z.object({ seriesInstanceUid: Uid, out: PathString }),
    outputs: (r: ResultOf<'exportSeries'>) => [r.folder],
  },
} satisfies { [K in ApiMethod]: MethodEntry };

export type MethodName = keyof typeof METHODS;

export function isMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && Object.hasOwn(API_METHODS, name);
}

/** An error with the HTTP-like status a transport reports (400 bad input, 403 refused path, 404). */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** Parses or throws one line naming the request and field (status 400). */
export function validate<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ApiError(400, `${what}: field '${issue.path.join('.') || '(request)'}': ${issue.message}`);
  }
  return result.data;
}

export function parseRequest<K extends ApiMethod>(method: K, value: unknown): z.output<(typeof METHODS)[K]['request']> {
  return validate(METHODS[method].request, value ?? {}, method) as never;
}

type Def = { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; innerType?: z.ZodType; valueType?: z.ZodType;
  options?: z.ZodType[]; in?: z.ZodType; catchall?: z.ZodType };

/**
 * Every value the schema marks as a path, with its dotted field name, at any depth of a parsed
 * request (objects, arrays, records, optionals, unions).
 */
export function pathsIn(schema: z.ZodType, value: unknown, at = ''): { field: string; path: string }[] {
  if (value === undefined || value === null) return [];
  if (pathSchemas.has(schema)) return typeof value === 'string' ? [{ field: at || '(request)', path: value }] : [];
  const def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  const join = (key: string | number) => (at ? `${at}.${key}` : String(key));
  switch (def.type) {
    case 'optional': case 'nullable': case 'default': case 'prefault': case 'readonly': case 'nonoptional': case 'catch':
      return pathsIn(def.innerType!, value, at);
    case 'pipe':
      return pathsIn(def.in!, value, at);
    case 'object':
      return typeof value === 'object' ? Object.entries(def.shape!).flatMap(([k, s]) => pathsIn(s, (value as Record<string, unknown>)[k], join(k))) : [];
    case 'array':
      return Array.isArray(value) ? value.flatMap((v, i) => pathsIn(def.element!, v, join(i))) : [];
    case 'record':
      return typeof value === 'object' ? Object.entries(value as object).flatMap(([k, v]) => pathsIn(def.valueType!, v, join(k))) : [];
    case 'union': {
      const option = def.options!.find((o) => o.safeParse(value).success);
      return option ? pathsIn(option, value, at) : [];
    }
    default:
      return [];
  }
}
