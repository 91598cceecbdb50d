/**
 * The Electron window's security settings, kept free of `electron` imports so Node tests can
 * check them: isolation, sandbox and no Node in the page; a strict Content-Security-Policy; only
 * our own app:// pages may load; no new windows, no permissions, no remote content.
 */
export const APP_SCHEME = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://denoise-studio`;

export { CONTENT_SECURITY_POLICY, COMPUTE_CONTENT_SECURITY_POLICY, contentSecurityPolicyFor } from '../shared/csp.js';

export interface SecureWebPreferences {
  contextIsolation: true;
  nodeIntegration: false;
  nodeIntegrationInWorker: false;
  nodeIntegrationInSubFrames: false;
  sandbox: true;
  webSecurity: true;
  allowRunningInsecureContent: false;
  webviewTag: false;
  spellcheck: false;
  preload: string;
}

export function secureWebPreferences(preload: string): SecureWebPreferences {
  return {
    contextIsolation: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false,
    sandbox: true, webSecurity: true, allowRunningInsecureContent: false, webviewTag: false, spellcheck: false, preload,
  };
}

/**
 * The hidden compute window (the engine on Chromium's WebGPU, in a worker of its page): the same
 * isolation and sandbox; not throttled when hidden, since it is never shown.
 */
export function computeWebPreferences(preload: string): SecureWebPreferences & { backgroundThrottling: false } {
  return { ...secureWebPreferences(preload), backgroundThrottling: false };
}

/** Only our own pages; everything else (http, file, data, javascript…) is refused. */
export function isAllowedNavigation(url: string): boolean {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

/** Requests the page may make: our own scheme only (no remote content, nothing from disk). */
export function isAllowedRequest(url: string): boolean {
  return isAllowedNavigation(url) || url.startsWith('devtools://');
}

/** Every permission (camera, notifications, geolocation, …) is denied. */
export function permissionDecision(_permission: string): false {
  return false;
}

/** Remembered window bounds, checked before use so a stale file never puts the window off-screen. */
export function sanitiseWindowState(value: unknown): { width: number; height: number; x?: number; y?: number; maximized: boolean } {
  const v = (value ?? {}) as Record<string, unknown>;
  const num = (x: unknown, min: number, max: number) => (typeof x === 'number' && Number.isFinite(x) && x >= min && x <= max ? Math.round(x) : undefined);
  return {
    width: num(v.width, 800, 10000) ?? 1366,
    height: num(v.height, 600, 10000) ?? 768,
    x: num(v.x, -10000, 10000),
    y: num(v.y, -10000, 10000),
    maximized: v.maximized === true,
  };
}
