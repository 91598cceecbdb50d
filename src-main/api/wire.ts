/**
 * Pixel payloads over HTTP: a result's typed arrays travel as one binary body, the rest as JSON
 * in a header with each array replaced by its place in the body. Generic, so every method that
 * returns pixels (slices, previews) needs no route of its own. Imports nothing (the renderer uses it).
 */
type Binary = Float32Array | Uint8Array;
interface Ref { $binary: 'f32' | 'u8'; offset: number; length: number }

export const WIRE_HEADER = 'x-api-json';

function isBinary(v: unknown): v is Binary {
  return v instanceof Float32Array || v instanceof Uint8Array;
}

export function hasBinary(value: unknown): boolean {
  if (isBinary(value)) return true;
  if (Array.isArray(value)) return value.some(hasBinary);
  return typeof value === 'object' && value !== null && Object.values(value).some(hasBinary);
}

/** Splits a value into JSON (arrays replaced by refs; URI-encoded so any text fits a header) and one body. */
export function encodeWire(value: unknown): { header: string; body: Uint8Array } {
  const parts: Uint8Array[] = [];
  let size = 0;
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (!isBinary(v)) return v;
    const offset = Math.ceil(size / 4) * 4; // Float32Array views need 4-byte alignment
    if (offset > size) parts.push(new Uint8Array(offset - size));
    parts.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    size = offset + v.byteLength;
    return { $binary: v instanceof Float32Array ? 'f32' : 'u8', offset, length: v.length } satisfies Ref;
  });
  const body = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { body.set(p, at); at += p.byteLength; }
  return { header: encodeURIComponent(json), body };
}

export function decodeWire<T>(header: string, body: ArrayBuffer): T {
  return JSON.parse(decodeURIComponent(header), (_key, v: unknown) => {
    const ref = v as Ref | null;
    if (!ref || typeof ref !== 'object' || !('$binary' in ref)) return v;
    return ref.$binary === 'f32' ? new Float32Array(body, ref.offset, ref.length) : new Uint8Array(body, ref.offset, ref.length);
  }) as T;
}
