/**
 * The folders a transport may touch: those the user chose (a native dialog in Electron, the
 * command line for `serve`), the app's own data folder, and what jobs created there. Every path
 * a request's schema marks, at any depth, is checked once after parsing.
 */
import type { z } from 'zod';
import { isInside, realPath } from '../shared/fs-paths.js';
import { ApiError, pathsIn } from './methods.js';

export class PathGuard {
  private readonly roots: string[];

  /** `hint`: how a user of this transport makes another folder usable (said with every refusal). */
  constructor(roots: string[], private readonly hint = '') {
    this.roots = [...new Set(roots.map(realPath))];
  }

  allow(root: string): void {
    const r = realPath(root);
    if (!this.roots.includes(r)) this.roots.push(r);
  }

  list(): string[] {
    return [...this.roots];
  }

  /** Throws (status 403) unless `p` lies inside an allowed root; returns its real path. */
  check(p: string, field: string): string {
    const resolved = realPath(p);
    if (!this.roots.some((root) => isInside(root, resolved))) throw new ApiError(403, `${field}: ${p} is outside the folders opened in this session${this.hint ? `; ${this.hint}` : ''}`);
    return resolved;
  }

  /** Checks every path the schema marks in a parsed request. */
  checkRequest(schema: z.ZodType, request: unknown): void {
    for (const { field, path } of pathsIn(schema, request)) this.check(path, field);
  }
}
