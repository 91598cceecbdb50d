/** DICOM UIDs for derived objects: 2.25.<UUID as a decimal integer> (PS3.5 B.2) or <root>.<random>. */
import { randomUUID } from 'node:crypto';

export const DEFAULT_UID_ROOT = '2.25';
const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

export function isValidUid(uid: string): boolean {
  return uid.length <= 64 && UID_PATTERN.test(uid);
}

export function newUid(root = DEFAULT_UID_ROOT): string {
  if (!isValidUid(root) || root.length > 40) throw new Error(`invalid UID root "${root}": digits and dots, at most 40 characters`);
  const decimal = BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString();
  if (root === DEFAULT_UID_ROOT) return `${root}.${decimal}`;
  return `${root}.${decimal.slice(0, 63 - root.length).replace(/^0+/, '') || '1'}`;
}
