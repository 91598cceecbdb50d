/**
 * Path containment, written once: every "is this inside that folder" question in the app (the
 * transports' roots, never writing into a source, static files, model weights) asks it here.
 * Symlinks are resolved on the longest existing prefix, so a link cannot lead outside a folder.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';

/** The real path of the longest existing prefix of `p`, plus the rest of it. */
export function realPath(p: string): string {
  const rest: string[] = [];
  let current = path.resolve(p);
  for (;;) {
    try {
      return path.join(realpathSync(current), ...rest.reverse());
    } catch {
      const up = path.dirname(current);
      if (up === current) return path.resolve(p);
      rest.push(path.basename(current));
      current = up;
    }
  }
}

/** True when `child` is `parent` or lies under it (lexically: resolve real paths first if links matter). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}

/** `isInside` on real paths. */
export function isReallyInside(parent: string, child: string): boolean {
  return isInside(realPath(parent), realPath(child));
}
