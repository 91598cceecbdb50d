/** The API's one implementation; every transport calls this. */
import os from 'node:os';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { openCatalog } from '../catalog/db.js';
import { indexPath } from '../catalog/indexer.js';
import { catalogTree } from '../catalog/query.js';
import type { DenoiseStudioApi, IndexRequest, IndexResult, ProgressEvent } from './contract.js';

/** Where the catalogue and user models live: $DENOISE_STUDIO_HOME, else the platform's data folder. */
export function defaultDataDir(): string {
  if (process.env.DENOISE_STUDIO_HOME) return path.resolve(process.env.DENOISE_STUDIO_HOME);
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'Denoise Studio');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'Denoise Studio');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'denoise-studio');
}

export interface ServiceOptions {
  /** SQLite file; defaults to <data dir>/catalog.sqlite */
  database?: string;
}

export class DenoiseStudioService implements DenoiseStudioApi {
  readonly databasePath: string;
  private db: Database | undefined;

  constructor(options: ServiceOptions = {}) {
    this.databasePath = options.database ?? path.join(defaultDataDir(), 'catalog.sqlite');
  }

  private catalog(): Database {
    this.db ??= openCatalog(this.databasePath);
    return this.db;
  }

  async index(request: IndexRequest, onProgress?: (event: ProgressEvent) => void): Promise<IndexResult> {
    const started = performance.now();
    const target = path.resolve(request.path);
    const stats = await indexPath(this.catalog(), target, {
      onProgress: (p) => onProgress?.({ task: 'index', done: p.done, total: p.total }),
    });
    return {
      path: target,
      database: this.databasePath,
      files: { scanned: stats.scanned, read: stats.read, unchanged: stats.unchanged, removed: stats.removed, unreadable: stats.unreadable.length },
      patients: catalogTree(this.catalog(), stats.folder),
      unreadable: stats.unreadable,
      seconds: (performance.now() - started) / 1000,
    };
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}
