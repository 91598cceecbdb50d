/**
 * Test support: a real PACS — Debian's Orthanc — on free loopback ports with its own storage,
 * knowing our AE title (DENOISESTUDIO) as a modality that may find, get and store.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { echo } from '../src-main/pacs/dimse.js';

export const HAS_ORTHANC = spawnSync('Orthanc', ['--version']).status === 0;

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); });
  });
}

export interface RunningOrthanc { host: string; port: number; aet: string; text: string; stop(): void }

/** `ourPort`: where our storage SCP listens for C-MOVE (the node sends there, to DENOISESTUDIO). */
export async function startOrthanc(dir: string, ourPort = 104): Promise<RunningOrthanc> {
  const [dicomPort, httpPort] = [await freePort(), await freePort()];
  mkdirSync(path.join(dir, 'db'), { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    Name: 'DS-TEST', StorageDirectory: path.join(dir, 'db'), IndexDirectory: path.join(dir, 'db'), DicomAet: 'ORTHANC', DicomPort: dicomPort,
    HttpPort: httpPort, RemoteAccessAllowed: false, AuthenticationEnabled: false, DicomCheckModalityHost: false,
    DicomModalities: { ds: ['DENOISESTUDIO', '127.0.0.1', ourPort] }, Plugins: [], StorageCompression: false,
  }));
  const child = spawn('Orthanc', [path.join(dir, 'config.json')], { stdio: 'ignore' });
  const running = { host: '127.0.0.1', port: dicomPort, aet: 'ORTHANC', text: `127.0.0.1:${dicomPort}:ORTHANC`, stop: () => { child.kill(); } };
  for (let i = 0; i < 100; i++) {
    try { await echo(running, { timeoutMs: 1000 }); return running; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  child.kill();
  throw new Error('Orthanc did not start');
}
