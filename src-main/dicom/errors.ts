/**
 * The one error type the DICOM engine throws. Every failure names the file and says why, so a
 * folder scan can report "file X: reason" per file and carry on with the rest.
 */
export type DicomErrorCode =
  | 'unreadable' // the OS refused (permissions, a folder, vanished file)
  | 'not-dicom' // no DICOM structure found
  | 'truncated' // an element or the pixel data runs past the end of the file
  | 'malformed' // structure present but inconsistent (bad lengths, bad values)
  | 'unsupported-transfer-syntax'
  | 'no-pixel-data'
  | 'decode-failed' // a codec rejected the compressed frame
  | 'too-large' // declared image size beyond what we will allocate
  | 'write-refused' // writer would touch the source folder or an existing path
  | 'unsupported-image'; // readable, but not something the pipeline can process (e.g. colour)

export class DicomError extends Error {
  readonly code: DicomErrorCode;
  readonly file: string;
  readonly reason: string;

  constructor(code: DicomErrorCode, file: string, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options);
    this.name = 'DicomError';
    this.code = code;
    this.file = file;
    this.reason = reason;
  }
}

/** dicom-parser throws plain strings; turn anything thrown into readable text. */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'string') return thrown;
  if (thrown && typeof thrown === 'object' && 'exception' in thrown) return String((thrown as { exception: unknown }).exception);
  return String(thrown);
}
