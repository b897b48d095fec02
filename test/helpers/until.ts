/** Polls `probe` every 50 ms until it returns something truthy, and resolves with it; rejects naming `what` after `ms`. */
export async function until<T>(what: string, probe: () => T | null | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
