import type { ComponentImpl, ComponentName } from './component';

/**
 * A part that is on the roadmap but not built. It shows up in every status
 * list as `not-implemented` with the reason, and refuses to start.
 */
export function notImplemented(name: ComponentName, endpoint: string | null, why: string): ComponentImpl {
  return {
    name,
    endpoint,
    detail: () => why,
    start: () => Promise.reject(new Error(`${name} is not implemented yet`)),
    stop: () => Promise.resolve(),
  };
}
