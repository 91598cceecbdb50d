/**
 * The folders a transport may touch: those the user chose (a native dialog in Electron, the
 * command line for `serve`) and the app's own data folder. Every path in a request is checked.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';

export class PathGuard {
  private readonly roots: string[];

  constructor(roots: string[]) {
    this.roots = roots.map((r) => PathGuard.real(path.resolve(r)));
  }

  /** The real path of the longest existing prefix, so symlinks cannot lead outside a root. */
  private static real(p: string): string {
    const rest: string[] = [];
    let current = p;
    for (;;) {
      try {
        return path.join(realpathSync(current), ...rest.reverse());
      } catch {
        const up = path.dirname(current);
        if (up === current) return p;
        rest.push(path.basename(current));
        current = up;
      }
    }
  }

  allow(root: string): void {
    const r = PathGuard.real(path.resolve(root));
    if (!this.roots.includes(r)) this.roots.push(r);
  }

  list(): string[] {
    return [...this.roots];
  }

  /** Throws unless `p` lies inside an allowed root. */
  check(p: string, field: string): string {
    const resolved = PathGuard.real(path.resolve(p));
    const inside = this.roots.some((root) => {
      const rel = path.relative(root, resolved);
      return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
    });
    if (!inside) throw Object.assign(new Error(`${field}: ${p} is outside the folders opened in this session`), { status: 403 });
    return resolved;
  }

  /** Checks every path-like field of a request object. */
  checkRequest(request: Record<string, unknown>, fields: string[]): void {
    for (const field of fields) {
      const value = request[field];
      if (typeof value === 'string') this.check(value, field);
      else if (Array.isArray(value)) value.forEach((v, i) => typeof v === 'string' && this.check(v, `${field}[${i}]`));
    }
  }
}
