import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { resolve } from 'node:path';

/**
 * The renderer build, shared by the lab (`npm run build:renderer`, served by
 * the lab server) and the desktop app (electron.vite.config.ts imports it).
 */
export const rendererConfig = {
  root: resolve('renderer'),
  base: './',
  plugins: [react()],
  build: {
    outDir: resolve('out/renderer'),
    emptyOutDir: true,
    minify: true,
    // Keep the CSP strict: no inline module-preload polyfill script.
    modulePreload: { polyfill: false },
    // One local bundle (react + recharts), loaded from disk or localhost: size is not worth splitting yet.
    chunkSizeWarningLimit: 1000,
    rollupOptions: { input: resolve('renderer/index.html') },
  },
};

export default defineConfig(rendererConfig);
