/**
 * The IPC surface, generated from the API table, as plain handlers (no `electron` import) so
 * every input check is tested in Node against the real service. The main process only relays:
 * calls and jobs go to the service process (an ApiEndpoint), which parses each request with the
 * method's schema and confines every path it marks. What only the main process can do — native
 * dialogs — lives here; a folder the user picks becomes allowed in the service.
 */
import { API_METHODS, type ApiEndpoint, type AppInfo, type CallMethod, type JobMethod } from '../api/contract.js';

export type DialogPurpose = 'open' | 'dicomdir' | 'export' | 'import';
const PURPOSES: readonly DialogPurpose[] = ['open', 'dicomdir', 'export', 'import'];

export interface IpcContext {
  endpoint: ApiEndpoint;
  dataDir: string;
  sampleStudy: string;
  /** Shows a native dialog for the purpose; resolves undefined when cancelled. */
  chooseFolder: (purpose: DialogPurpose) => Promise<string | undefined>;
}

/** The channels, each with the method names it accepts (from the table), and nothing else. */
export const IPC_CHANNELS = ['ds:info', 'ds:call', 'ds:startJob', 'ds:jobs', 'ds:jobHistory', 'ds:cancel', 'ds:chooseFolder'] as const;
export type IpcChannel = (typeof IPC_CHANNELS)[number];

const JOB_ID = /^[\w-]{1,64}$/;

function methodOf(name: unknown, kind: 'call' | 'job', channel: string): string {
  if (typeof name !== 'string' || !Object.hasOwn(API_METHODS, name) || API_METHODS[name as CallMethod] !== kind) {
    throw new Error(`${channel}: no API ${kind} named ${String(name).slice(0, 60)}`);
  }
  return name;
}

function jobIdOf(id: unknown, channel: string): string {
  if (typeof id !== 'string' || !JOB_ID.test(id)) throw new Error(`${channel}: job id must be a job id string`);
  return id;
}

export function createIpcHandlers(ctx: IpcContext): Record<IpcChannel, (...args: unknown[]) => Promise<unknown>> {
  const { endpoint } = ctx;
  return {
    'ds:info': async (): Promise<AppInfo> => ({ dataDir: ctx.dataDir, roots: await endpoint.roots(), sampleStudy: ctx.sampleStudy, mode: 'electron' }),
    'ds:call': async (method, request) => endpoint.call(methodOf(method, 'call', 'ds:call') as CallMethod, request),
    'ds:startJob': async (method, request) => endpoint.startJob(methodOf(method, 'job', 'ds:startJob') as JobMethod, request),
    'ds:jobs': async () => endpoint.jobs(),
    'ds:jobHistory': async (id, afterSeq) => {
      if (afterSeq !== undefined && !Number.isInteger(afterSeq)) throw new Error('ds:jobHistory: afterSeq must be an integer');
      return endpoint.history(jobIdOf(id, 'ds:jobHistory'), afterSeq as number | undefined);
    },
    'ds:cancel': async (id) => endpoint.cancel(jobIdOf(id, 'ds:cancel')),
    'ds:chooseFolder': async (purpose) => {
      // A native dialog; what the user picks becomes an allowed folder for the requests that follow.
      if (!PURPOSES.includes(purpose as DialogPurpose)) throw new Error(`ds:chooseFolder: purpose must be one of ${PURPOSES.join(', ')}`);
      const chosen = await ctx.chooseFolder(purpose as DialogPurpose);
      if (chosen) await endpoint.allow(chosen);
      return chosen;
    },
  };
}
