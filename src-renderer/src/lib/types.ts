// The renderer sees only the API's types.
export type {
  BackendInfo, CatalogPatient, CatalogSeries, CatalogStudy, DenoiseRequest, DenoiseResult, EpochRecord, IndexResult, JobMethod,
  ModelSummary, PreviewResult, BiasReport, RunDetails, RunSummary, SweepResult, PacsMatch, PacsNodeRequest, PacsRetrieveResult, SavedPacsNode, SeriesStack, WebServerRequest, ProgressEvent, SliceData as Slice, TagEntry, TrainConfigCheck, TrainRequest, TrainResult,
} from '../../../src-main/api/contract';
