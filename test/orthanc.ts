/**
 * Test support: a real PACS — Debian's Orthanc — on free loopback ports with its own storage,
 * knowing our AE title (DENOISESTUDIO) as a modality that may find, get and store.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { echo } from '../src-main/pacs/dimse.js';

export const HAS_ORTHANC = spawnSync('Orthanc', ['--version']).status === 0;

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); });
  });
}

/** Debian's orthanc-dicomweb plugin: QIDO-RS, WADO-RS and STOW-RS under /dicom-web/. */
export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
export const HAS_DICOMWEB = HAS_ORTHANC && existsSync(DICOMWEB_PLUGIN);
/** The HTTP user Orthanc is started with (its REST API and DICOMweb ask for it). */
export const WEB_USER = { username: 'radiology', password: 'not-a-real-secret-7f3a' };

export interface RunningOrthanc {
  host: string; port: number; aet: string; text: string;
  /** The DICOMweb root when the plugin is installed (basic auth: WEB_USER) */
  dicomweb?: string;
  stop(): void;
}

/** `ourPort`: where our storage SCP listens for C-MOVE (the node sends there, to DENOISESTUDIO). */
export async function startOrthanc(dir: string, ourPort = 104): Promise<RunningOrthanc> {
  const [dicomPort, httpPort] = [await freePort(), await freePort()];
  mkdirSync(path.join(dir, 'db'), { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    Name: 'DS-TEST', StorageDirectory: path.join(dir, 'db'), IndexDirectory: path.join(dir, 'db'), DicomAet: 'ORTHANC', DicomPort: dicomPort,
    HttpPort: httpPort, RemoteAccessAllowed: false, DicomCheckModalityHost: false,
    AuthenticationEnabled: true, RegisteredUsers: { [WEB_USER.username]: WEB_USER.password },
    DicomModalities: { ds: ['DENOISESTUDIO', '127.0.0.1', ourPort] }, StorageCompression: false,
    Plugins: HAS_DICOMWEB ? [DICOMWEB_PLUGIN] : [], DicomWeb: { Enable: true, Root: '/dicom-web/' },
  }));
  const child = spawn('Orthanc', [path.join(dir, 'config.json')], { stdio: 'ignore' });
  const running: RunningOrthanc = {
    host: '127.0.0.1', port: dicomPort, aet: 'ORTHANC', text: `127.0.0.1:${dicomPort}:ORTHANC`, stop: () => { child.kill(); },
    ...(HAS_DICOMWEB ? { dicomweb: `http://127.0.0.1:${httpPort}/dicom-web` } : {}),
  };
  for (let i = 0; i < 100; i++) {
    try { await echo(running, { timeoutMs: 1000 }); return running; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  child.kill();
  throw new Error('Orthanc did not start');
}
