/**
 * The service behind the method table, as every transport sees it: a request is looked up in the
 * table (unknown → 404), parsed by its schema (→ 400 naming the field), every path it holds is
 * confined to the allowed folders (→ 403), then the service method runs — at once for a call,
 * as a job in the registry for a job. Folders a job creates become allowed.
 */
import {
  API_METHODS, type ApiEndpoint, type CallMethod, type DenoiseStudioApi, type JobControl, type JobEvent, type JobInfo,
  type JobMethod, type ResultOf,
} from './contract.js';
import { JobRegistry } from './jobs.js';
import { ApiError, isMethod, METHODS, parseRequest } from './methods.js';
import { PathGuard } from './path-guard.js';

export class ApiHost implements ApiEndpoint {
  readonly jobRegistry = new JobRegistry();

  constructor(private readonly service: DenoiseStudioApi, readonly guard: PathGuard) {}

  private checked(method: unknown, kind: 'call' | 'job', request: unknown) {
    if (!isMethod(method) || API_METHODS[method] !== kind) throw new ApiError(404, `no API ${kind} named ${String(method)}`);
    const parsed = parseRequest(method, request);
    this.guard.checkRequest(METHODS[method].request, parsed);
    return { method, parsed };
  }

  async call<K extends CallMethod>(method: K, request: unknown): Promise<ResultOf<K>> {
    const { parsed } = this.checked(method, 'call', request);
    const fn = this.service[method] as (r: unknown) => Promise<ResultOf<K>>;
    return fn.call(this.service, parsed);
  }

  async startJob(method: JobMethod, request: unknown): Promise<JobInfo> {
    const { parsed } = this.checked(method, 'job', request);
    const fn = this.service[method] as (r: unknown, c: JobControl) => Promise<unknown>;
    const outputs = (METHODS[method] as { outputs?: (r: unknown) => string[] }).outputs;
    return this.jobRegistry.start(method, parsed, async (control) => {
      const result = await fn.call(this.service, parsed, control);
      for (const folder of outputs?.(result) ?? []) this.guard.allow(folder);
      return result;
    });
  }

  async jobs(): Promise<JobInfo[]> { return this.jobRegistry.list(); }
  async history(jobId: string, afterSeq?: number): Promise<JobEvent[]> { return this.jobRegistry.history(jobId, afterSeq); }
  async cancel(jobId: string): Promise<boolean> { return this.jobRegistry.cancel(jobId); }
  async allow(folder: string): Promise<void> { this.guard.allow(folder); }
  async roots(): Promise<string[]> { return this.guard.list(); }
}
