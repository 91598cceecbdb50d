/**
 * The one typed API of Denoise Studio. The Electron IPC bridge, the loopback server and the CLI
 * are transports over it; the renderer imports only these types. Keep it serialisable (plain
 * JSON: no class instances, no typed arrays outside pixel payloads).
 */
import type { CatalogPatient } from '../catalog/query.js';

export type { CatalogPatient, CatalogStudy, CatalogSeries } from '../catalog/query.js';

export interface IndexRequest {
  /** A folder (indexed recursively) or a DICOMDIR file */
  path: string;
}

export interface UnreadableFile {
  file: string;
  code: string;
  reason: string;
}

export interface IndexResult {
  path: string;
  database: string;
  files: { scanned: number; read: number; unchanged: number; removed: number; unreadable: number };
  patients: CatalogPatient[];
  unreadable: UnreadableFile[];
  seconds: number;
}

export interface ProgressEvent {
  task: 'index';
  done: number;
  total: number;
  message?: string;
}

export interface DenoiseStudioApi {
  index(request: IndexRequest, onProgress?: (event: ProgressEvent) => void): Promise<IndexResult>;
}
