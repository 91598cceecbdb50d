/**
 * What a backend report says, wherever the engine runs (Node, or a Chromium compute context):
 * which backend, why better ones did not load, and which GPU adapter. Browser-safe.
 */

export const BACKEND_NAMES = ['webgpu', 'node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendReport {
  /** The backend in use. */
  name: BackendName;
  /** tfjs' own name for it ('tensorflow', 'wasm', 'cpu'). */
  tfjsName: string;
  /** Why each better backend was not used, in preference order. */
  skipped: { name: BackendName; reason: string }[];
  forced: boolean;
  /** The GPU adapter, when the backend is WebGPU (vendor, device, description, and whether it is software) */
  adapter?: { vendor: string; device: string; description: string; software: boolean };
}

/** Software adapters: correct, but slower than WASM. */
export const SOFTWARE_ADAPTER = /llvmpipe|swiftshader|lavapipe|softpipe|warp|microsoft basic render/i;
/** The report's view of a WebGPU adapter (Chromium names SwiftShader only in `architecture` and `isFallbackAdapter`). */
export function adapterReport(info: { vendor: string; device: string; description: string; architecture?: string; isFallbackAdapter?: boolean }): NonNullable<BackendReport['adapter']> {
  const device = info.device || info.architecture || '';
  return {
    vendor: info.vendor, device, description: info.description,
    software: Boolean(info.isFallbackAdapter) || SOFTWARE_ADAPTER.test(`${device} ${info.description} ${info.architecture ?? ''}`),
  };
}

/** One line for logs and the status bar. */
export function describeBackend(report: BackendReport): string {
  const why = report.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  const adapter = report.adapter ? ` on ${report.adapter.device || report.adapter.description}${report.adapter.software ? ' (software)' : ''}` : '';
  return `backend ${report.name}${adapter}${report.forced ? ' (forced)' : ''}${why ? ` — skipped ${why}` : ''}`;
}
