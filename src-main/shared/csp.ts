/**
 * The Content-Security-Policy of our pages, one definition for the Electron app:// scheme and the
 * loopback server. The UI page runs only our scripts; the compute page (the engine in a Chromium
 * worker) may also compile WebAssembly ('wasm-unsafe-eval' allows WASM compilation, not JS eval).
 */
const REST = [
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
];

export const CONTENT_SECURITY_POLICY = ["default-src 'self'", "script-src 'self'", ...REST].join('; ');
export const COMPUTE_CONTENT_SECURITY_POLICY = ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", ...REST].join('; ');

/** The compute page and its assets live under /compute (see the renderer's Vite build). */
export function contentSecurityPolicyFor(pathname: string): string {
  return pathname === '/compute.html' || pathname.startsWith('/compute/') ? COMPUTE_CONTENT_SECURITY_POLICY : CONTENT_SECURITY_POLICY;
}
