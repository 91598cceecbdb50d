/**
 * A storage SCP (C-STORE receiver) the user switches on: our AE title and port, accepting only the
 * calling AE titles configured (an empty list accepts none), C-ECHO for checks. Each instance lands
 * in its own file under `folder`/<study>/<series>/<SOP>.dcm, written exclusively — a file that is
 * already there is never overwritten — and is reported as it arrives (the service indexes it).
 * A refused association or a bad dataset is answered with the DICOM refusal and reported with its
 * reason (no patient data); it never stops the server.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { dimse } from './quiet.js';

const { Scp, Server } = dimse;
const { CEchoResponse, CStoreResponse } = dimse.responses;
const { Status, PresentationContextResult, RejectResult, RejectSource, RejectReason, SopClass, StorageClass, TransferSyntax } = dimse.constants;

export interface StorageScpOptions {
  port: number;
  aet: string;
  /** Calling AE titles allowed to store here */
  allowedCallers: string[];
  folder: string;
  onStored?: (file: string) => void;
  onRefused?: (reason: string) => void;
}

const STORAGE = new Set<string>(Object.values(StorageClass as Record<string, string>));
const UNCOMPRESSED = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian];
const uidPart = (v: unknown) => String(v ?? '').replace(/[^\d.]/g, '').slice(0, 64) || 'unknown';

export class StorageScp {
  private server: InstanceType<typeof Server> | undefined;

  constructor(private readonly options: StorageScpOptions) {}

  /** Starts listening; resolves when the port is open, rejects if it cannot be. */
  start(): Promise<void> {
    const o = this.options;
    const allowed = new Set(o.allowedCallers.map((a) => a.trim()));
    class Receiver extends Scp {
      override associationRequested(association: InstanceType<typeof dimse.association.Association>): void {
        // The base class answers on this.association: keep it.
        (this as unknown as { association: typeof association }).association = association;
        const caller = association.getCallingAeTitle().trim();
        if (association.getCalledAeTitle().trim() !== o.aet || !allowed.has(caller)) {
          o.onRefused?.(`association from '${caller}' to '${association.getCalledAeTitle().trim()}' refused: ${allowed.has(caller) ? 'not our AE title' : 'calling AE title not allowed'}`);
          this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser,
            allowed.has(caller) ? RejectReason.CalledAeNotRecognized : RejectReason.CallingAeNotRecognized);
          return;
        }
        for (const c of association.getPresentationContexts()) {
          const context = association.getPresentationContext(c.id);
          const syntax = context.getAbstractSyntaxUid();
          if (syntax !== SopClass.Verification && !STORAGE.has(syntax)) {
            context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
            continue;
          }
          // Compressed syntaxes are accepted as offered: the files keep them, and the reader decodes them.
          const offered = context.getTransferSyntaxUids();
          const chosen = offered.find((t) => UNCOMPRESSED.includes(t)) ?? offered[0];
          if (chosen) context.setResult(PresentationContextResult.Accept, chosen);
          else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
        }
        this.sendAssociationAccept();
      }

      override associationReleaseRequested(): void {
        this.sendAssociationReleaseResponse();
      }

      override cEchoRequest(request: InstanceType<typeof dimse.requests.CEchoRequest>, callback: (r: InstanceType<typeof CEchoResponse>) => void): void {
        const response = CEchoResponse.fromRequest(request);
        response.setStatus(Status.Success);
        callback(response);
      }

      override cStoreRequest(request: InstanceType<typeof dimse.requests.CStoreRequest>, callback: (r: InstanceType<typeof CStoreResponse>) => void): void {
        const response = CStoreResponse.fromRequest(request);
        const dataset = request.getDataset();
        const sop = uidPart(dataset?.getElement('SOPInstanceUID'));
        if (!dataset || sop === 'unknown') {
          o.onRefused?.('an instance without a SOP Instance UID was refused');
          response.setStatus(Status.ProcessingFailure);
          callback(response);
          return;
        }
        const dir = path.join(o.folder, uidPart(dataset.getElement('StudyInstanceUID')), uidPart(dataset.getElement('SeriesInstanceUID')));
        const file = path.join(dir, `${sop}.dcm`);
        void (async () => {
          if (existsSync(file)) { response.setStatus(Status.Success); return; } // already here: never overwritten
          await mkdir(dir, { recursive: true });
          await new Promise<void>((resolve, reject) => dataset.toFile(file, (e?: Error) => (e ? reject(e) : resolve())));
          response.setStatus(Status.Success);
          o.onStored?.(file);
        })().catch((error: unknown) => {
          o.onRefused?.(`an instance could not be written (${(error as Error).message.split('\n')[0]})`);
          response.setStatus(Status.ProcessingFailure);
        }).finally(() => callback(response));
      }
    }
    const server = new Server(Receiver);
    this.server = server;
    return new Promise((resolve, reject) => {
      server.on('listening', () => resolve());
      server.on('networkError', (e: Error) => {
        if (/EADDRINUSE|EACCES/.test(e.message)) reject(new Error(`port ${o.port}: ${e.message}`));
        else o.onRefused?.(`network error: ${e.message}`);
      });
      // A sender that stalls (or a dataset that cannot be parsed) ends its association after 30 s.
      server.listen(o.port, { pduTimeout: 30_000, associationTimeout: 30_000 });
    });
  }

  stop(): void {
    this.server?.close();
    this.server = undefined;
  }
}
