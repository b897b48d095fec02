import { defineConfig, externalizeDepsPlugin } from 'electron-vite';
import { rendererConfig } from './vite.renderer.config';
import { resolve } from 'node:path';

// main: ESM (package is "type": "module"); preload: CommonJS so the window keeps sandbox: true.
export default defineConfig({
  main: {
    plugins: [externalizeDepsPlugin()],
    // The worker threads are entries of their own: engine/sip/proxy-component.ts loads ./sip-worker.js, engine/rtp/shards.ts ./rtp-shard.js, engine/traffic/traffic-component.ts ./traffic-worker.js and engine/publish/subscriber-load-thread.ts ./subscriber-load.js beside index.js.
    build: { outDir: 'out/main', rollupOptions: { input: { index: resolve('main/index.ts'), 'sip-worker': resolve('engine/sip/worker/entry.ts'), 'rtp-shard': resolve('engine/rtp/shard/entry.ts'), 'traffic-worker': resolve('engine/traffic/worker/entry.ts'), 'subscriber-load': resolve('engine/publish/load-worker/entry.ts') } } },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: { input: resolve('main/preload.ts'), output: { format: 'cjs', entryFileNames: 'index.cjs' } },
    },
  },
  renderer: rendererConfig,
});
