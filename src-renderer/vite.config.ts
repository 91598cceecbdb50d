// Builds the renderer into dist-renderer/ (served by the loopback server and loaded by Electron):
// the UI page, and the compute page whose worker runs the engine on Chromium's WebGPU. The
// compute worker's files go under compute/, where the pages' CSP allows WebAssembly.
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: './',
  plugins: [svelte()],
  worker: {
    format: 'es',
    rollupOptions: { output: { entryFileNames: 'compute/[name]-[hash].js', chunkFileNames: 'compute/[name]-[hash].js', assetFileNames: 'compute/[name]-[hash][extname]' } },
  },
  build: {
    outDir: here('../dist-renderer'), emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 5000,
    rollupOptions: { input: { index: here('index.html'), compute: here('compute.html') } },
  },
});
