// Builds the renderer into dist-renderer/ (served by the loopback server and loaded by Electron).
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [svelte()],
  build: { outDir: fileURLToPath(new URL('../dist-renderer', import.meta.url)), emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
});
