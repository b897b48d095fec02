import { defineConfig, externalizeDepsPlugin } from 'electron-vite';
import { rendererConfig } from './vite.renderer.config';
import { resolve } from 'node:path';

// main: ESM (package is "type": "module"); preload: CommonJS so the window keeps sandbox: true.
export default defineConfig({
  main: {
    plugins: [externalizeDepsPlugin()],
    // The SIP worker is its own entry: engine/sip/proxy-component.ts loads ./sip-worker.js beside index.js.
    build: { outDir: 'out/main', rollupOptions: { input: { index: resolve('main/index.ts'), 'sip-worker': resolve('engine/sip/worker/entry.ts') } } },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: { input: resolve('main/preload.ts'), output: { format: 'cjs', entryFileNames: 'index.cjs' } },
    },
  },
  renderer: rendererConfig,
});
