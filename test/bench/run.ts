export {};
/**
 * `npm run bench -- NAME [args]`: benchmarks print progress on stderr and one
 * JSON line last on stdout. They are not tests: they measure, side by side
 * with the real tool each part replaces, in one run (ratios, not absolutes).
 */
const BENCHES: Record<string, () => Promise<{ main(args: string[]): Promise<void> }>> = {
  sip: () => import('./sip'),
  export: () => import('./export'),
  ui: () => import('./ui'),
  fuzz: () => import('./fuzz'),
  publish: () => import('./publish'),
  rtp: () => import('./rtp'),
  record: () => import('./record'),
};

const [name, ...args] = process.argv.slice(2);
const load = name ? BENCHES[name] : undefined;
if (!load) {
  process.stderr.write(`usage: npm run bench -- ${Object.keys(BENCHES).join('|')} [args]\n`);
  process.exit(2);
}
const mod = await load();
await mod.main(args);
