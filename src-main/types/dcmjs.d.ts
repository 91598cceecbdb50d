// The small part of dcmjs we use (it ships no types): writing a data set in dcmjs's JSON form, its logger.
declare module 'dcmjs' {
  interface DicomDictInstance {
    dict: Record<string, { vr: string; Value: unknown[] }>;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }
  const dcmjs: {
    data: {
      DicomDict: new (meta: Record<string, { vr: string; Value: unknown[] }>) => DicomDictInstance;
      DicomMetaDictionary: { dictionary: Record<string, { vr: string; name: string } | undefined> };
    };
    /** dcmjs's logger (loglevel): the networking layer quiets it, since its warnings can quote values. */
    log: { setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void };
  };
  export default dcmjs;
}
