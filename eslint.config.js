// Lint = layer rules. Data flows down the layer list in ../shared/DESIGN.md and imports only
// point up it; only src-main/electron/ may import `electron`; only src-main/model/ imports tfjs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ELECTRON = { name: 'electron', message: 'Only src-main/electron/ may import electron.' };
const TFJS = { group: ['@tensorflow/*'], message: 'Only src-main/model/ imports TensorFlow.js.' };
// The compute worker may name tfjs-backend-wasm's .wasm files (Vite serves them as URLs), not its code.
const TFJS_EXCEPT_WASM_FILES = { message: TFJS.message, regex: '^@tensorflow/(?!tfjs-backend-wasm/dist/[\\w-]+\\.wasm\\?url$)' };
// api/contract.ts is the shared vocabulary (types and the method list, importing nothing):
// every layer may use it, so it is carved out of the "no api/" rule.
const upward = (...layers) =>
  layers.map((layer) => ({
    regex: layer === 'api' ? '(^|/)api(/(?!contract\\.js$)|$)' : `(^|/)${layer}(/|$)`,
    message: `This layer may not import from src-main/${layer}/ (see DESIGN.md layer map).`,
  }));

// For each layer: the layers it must NOT import (everything below it in the table).
const layerRules = {
  // shared/: helpers every layer uses (path containment); it imports no layer.
  shared: ['dicom', 'preprocess', 'noise', 'model', 'catalog', 'jobs', 'api', 'electron', 'server', 'cli', 'compute', 'pacs'],
  dicom: ['preprocess', 'noise', 'model', 'catalog', 'jobs', 'api', 'electron', 'server', 'cli', 'compute', 'pacs'],
  preprocess: ['dicom', 'noise', 'model', 'catalog', 'jobs', 'api', 'electron', 'server', 'cli', 'compute', 'pacs'],
  noise: ['dicom', 'preprocess', 'model', 'catalog', 'jobs', 'api', 'electron', 'server', 'cli', 'compute', 'pacs'],
  model: ['dicom', 'catalog', 'jobs', 'api', 'electron', 'server', 'cli', 'compute', 'pacs'],
  catalog: ['preprocess', 'noise', 'model', 'jobs', 'api', 'electron', 'server', 'cli', 'compute', 'pacs'],
  // pacs/: DICOM networking (dcmjs-dimse): query, retrieve, send, the storage SCP.
  pacs: ['preprocess', 'noise', 'model', 'catalog', 'jobs', 'api', 'electron', 'server', 'cli', 'compute'],
  // compute/: the engine's host in a Chromium worker (the app's compute window); jobs/ talks to it.
  compute: ['dicom', 'catalog', 'jobs', 'api', 'electron', 'server', 'cli', 'pacs'],
  jobs: ['api', 'electron', 'server', 'cli', 'pacs'],
  api: ['electron', 'server', 'cli'],
  // The transports see only the API.
  // (electron/ may name compute/protocol.ts's constants: the main process wires the compute window.)
  electron: ['dicom', 'preprocess', 'noise', 'model', 'catalog', 'jobs', 'server', 'cli', 'pacs'],
  server: ['dicom', 'preprocess', 'noise', 'model', 'catalog', 'jobs', 'electron', 'cli', 'compute', 'pacs'],
  cli: ['dicom', 'preprocess', 'noise', 'model', 'catalog', 'jobs', 'electron', 'server', 'compute', 'pacs'],
};

export default tseslint.config(
  { ignores: ['.gpu/**', 'dist/**', 'dist-renderer/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'bench/results/**', 'release/**', '.tmp/**', 'src-renderer/**/*.svelte'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...Object.entries(layerRules).map(([layer, forbidden]) => ({
    files: [`src-main/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: layer === 'electron' ? [] : [ELECTRON],
          patterns: [...upward(...forbidden), ...(layer === 'model' ? [] : [layer === 'compute' ? TFJS_EXCEPT_WASM_FILES : TFJS])],
        },
      ],
    },
  })),
  {
    // The contract and the wire format are imported by the renderer: they import nothing at all.
    files: ['src-main/api/contract.ts', 'src-main/api/wire.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['*'], message: 'contract.ts and wire.ts import nothing (the renderer imports them).' }] }] },
  },
  {
    files: ['src-renderer/**/*.{ts,js,svelte}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [ELECTRON],
          patterns: [
            {
              group: [
                ...['dicom', 'preprocess', 'noise', 'model', 'catalog', 'jobs', 'electron', 'server', 'cli'].map((l) => `**/src-main/${l}/**`),
                '**/src-main/shared/**',
                ...['service', 'methods', 'jobs', 'host', 'path-guard', 'process-host', 'remote', 'data-dir'].map((m) => `**/src-main/api/${m}*`),
              ],
              message: 'The renderer imports only src-main/api/contract.ts (types, method list) and api/wire.ts.',
            },
            TFJS,
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [ELECTRON] }] },
  },
);
