// The renderer sees only the API's types.
export type {
  BackendInfo, CatalogPatient, CatalogSeries, CatalogStudy, DenoiseRequest, DenoiseResult, EpochRecord, IndexResult,
  ModelSummary, ProgressEvent, TrainRequest, TrainResult,
} from '../../../src-main/api/contract';

export interface Slice {
  seriesInstanceUid: string;
  index: number;
  count: number;
  width: number;
  height: number;
  values: Float32Array;
  modality: string;
  pixelSpacing?: [number, number];
  window?: { center: number; width: number };
}
