import os from 'node:os';
import path from 'node:path';

/** Where the catalogue and user models live: $DENOISE_STUDIO_HOME, else the platform's data folder. */
export function defaultDataDir(): string {
  if (process.env.DENOISE_STUDIO_HOME) return path.resolve(process.env.DENOISE_STUDIO_HOME);
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'), 'Denoise Studio');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Application Support', 'Denoise Studio');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'denoise-studio');
}

