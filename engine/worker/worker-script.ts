import { fileURLToPath } from 'node:url';

/**
 * Where a worker thread's code is. From source (tsx: `npm run lab`, tests)
 * the module asking is a .ts file and the worker is built on the fly by
 * dev-boot.mjs from its entry; bundled (electron-vite) it is a built .js
 * beside the main bundle.
 */
export function workerScript(callerUrl: string, devEntry: URL, builtName: string): { url: URL; workerData?: { devEntry: string } } {
  if (!callerUrl.endsWith('.ts')) return { url: new URL(`./${builtName}`, callerUrl) };
  return { url: new URL('./dev-boot.mjs', import.meta.url), workerData: { devEntry: fileURLToPath(devEntry) } };
}
