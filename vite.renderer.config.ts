import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** The renderer alone (the lab server serves it; electron-vite builds the same sources for the desktop app). */
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../out/renderer',
    emptyOutDir: true,
    // Keep the CSP strict: no inline module-preload polyfill script.
    modulePreload: { polyfill: false },
    // One local bundle (react + recharts), loaded from disk or localhost: size is not worth splitting yet.
    chunkSizeWarningLimit: 1000,
  },
});
