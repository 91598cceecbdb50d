// The small part of dcmjs we use (it ships no types): writing a data set in dcmjs's JSON form.
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
  };
  export default dcmjs;
}
