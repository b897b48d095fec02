/** Display helpers: engine figures are µs, people read ms. */
import { formatMs } from '../../app/ladder';

/** µs → ms for a figure that may be missing ("—"). */
export function usToMs(us: number | null | undefined, digits = 2): string {
  if (us === null || us === undefined) return '—';
  return formatMs(us, digits);
}

/** Wall-clock µs → "14:03:07.123". */
export function clockTime(us: number): string {
  const d = new Date(us / 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function rate(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

/** "udp+tcp 127.0.0.1:5060" → "127.0.0.1:5060". */
export function hostPortOf(endpoint: string | null | undefined): string | null {
  if (!endpoint) return null;
  const m = /(\[[0-9a-fA-F:.]+\]|[\w.-]+):(\d+)\s*$/.exec(endpoint);
  return m ? `${m[1]}:${m[2]}` : null;
}
