/**
 * The relay's port pool (engine/rtp/port-pool.ts): even/odd pairs inside
 * MIN-MAX, all or nothing, a quarantine before reuse, least recently used
 * first, busy pairs held out for a while, and figures that always add up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortPool, type PortPoolOptions } from '../../engine/rtp/port-pool';
import { MAX_WARM_PAIRS, warmPairBudget } from '../../engine/rtp/warm-pairs';
import { rng } from '../helpers/rng';

function pool(o: Partial<PortPoolOptions> = {}) {
  let now = 0;
  const p = new PortPool({ min: 30000, max: 30007, quarantineMs: 2000, monoMs: () => now, ...o });
  return { p, advance: (ms: number) => void (now += ms) };
}

test('a 4-pair range hands out its 4 pairs, then refuses (null, one failure counted) and keeps working', () => {
  const { p, advance } = pool();
  assert.deepEqual(p.allocate(4), [30000, 30002, 30004, 30006]);
  assert.equal(p.allocate(1), null);
  assert.equal(p.allocate(1), null);
  let s = p.stats();
  assert.equal(s.allocationFailures, 2);
  assert.equal(s.inUse, 8);
  assert.equal(s.free, 0);

  assert.equal(p.release(30002), true);
  advance(2000);
  assert.deepEqual(p.allocate(1), [30002]);
  s = p.stats();
  assert.equal(s.allocationFailures, 2, 'a successful allocation is not a failure');
  assert.equal(s.inUse, 8);
});

test('all or nothing: asking for 3 pairs when 2 are free takes none, and the 2 stay free', () => {
  const { p } = pool();
  assert.deepEqual(p.allocate(2), [30000, 30002]);
  assert.equal(p.allocate(3), null);
  const s = p.stats();
  assert.equal(s.free, 4);
  assert.equal(s.inUse, 4);
  assert.equal(s.allocationFailures, 1);
  assert.equal(p.isInUse(30004), false);
  assert.deepEqual(p.allocate(2), [30004, 30006]);
});

test('a released pair is not handed out again before the quarantine ends, and is right after', () => {
  const { p, advance } = pool();
  p.allocate(4);
  assert.equal(p.release(30004), true);
  assert.equal(p.isInUse(30004), false);
  assert.equal(p.stats().quarantined, 2);
  advance(1999);
  assert.equal(p.allocate(1), null, 'still in quarantine');
  advance(1);
  assert.deepEqual(p.allocate(1), [30004]);
  assert.equal(p.stats().quarantined, 0);
});

test('least recently used first: pairs come back in the order they were freed, a just-freed pair after every older free one', () => {
  const { p, advance } = pool({ max: 30009 }); // 5 pairs: 30000..30008
  assert.deepEqual(p.allocate(1), [30000]);
  p.release(30000);
  advance(5000);
  assert.deepEqual(p.allocate(5), [30002, 30004, 30006, 30008, 30000], 'the never-used pairs go before the one just freed');

  p.release(30006);
  advance(10);
  p.release(30002);
  advance(10);
  p.release(30008);
  advance(5000);
  assert.deepEqual(p.allocate(3), [30006, 30002, 30008]);
});

test('releasing twice, or a port never handed out, changes nothing and returns false', () => {
  const { p, advance } = pool();
  p.allocate(2);
  assert.equal(p.release(30000), true);
  const before = p.stats();
  for (const port of [30000, 30004, 30001, 29998, 30008, 30000.5, Number.NaN]) {
    assert.equal(p.release(port), false, `release(${port})`);
  }
  assert.deepEqual(p.stats(), before);
  advance(2000);
  const all = p.allocate(3)!;
  assert.deepEqual([...all].sort(), [30000, 30004, 30006], 'the twice-released pair is handed out once');
  assert.equal(p.allocate(1), null);
});

test('a pair another process holds (busy) is counted, skipped, and tried again only after retryBusyAfterMs', () => {
  const { p, advance } = pool({ retryBusyAfterMs: 10_000 });
  assert.deepEqual(p.allocate(4), [30000, 30002, 30004, 30006]);
  p.busy(30002);
  assert.equal(p.isInUse(30002), false);
  assert.equal(p.release(30002), false, 'a busy pair is not in use: releasing it is a no-op');
  let s = p.stats();
  assert.equal(s.bindFailures, 1);
  assert.equal(s.inUse, 6);
  assert.equal(s.quarantined + s.free, 0, 'held out: neither quarantined nor free');
  assert.equal(s.releases, 0);

  p.release(30000);
  advance(2000);
  assert.deepEqual(p.allocate(1), [30000], 'the released pair is back after its quarantine, the busy one is not');
  advance(7999);
  assert.equal(p.allocate(1), null);
  advance(1);
  assert.deepEqual(p.allocate(1), [30002]);
  s = p.stats();
  assert.equal(s.inUse, 8);
  assert.equal(s.bindFailures, 1);
});

test('busy pairs are retried after 30 s by default', () => {
  const { p, advance } = pool();
  p.allocate(4);
  p.busy(30006);
  advance(29_999);
  assert.equal(p.allocate(1), null);
  advance(1);
  assert.deepEqual(p.allocate(1), [30006]);
});

test('busy() on a port that is not in use does nothing', () => {
  const { p } = pool();
  p.allocate(1);
  p.busy(30002); // free
  p.busy(30001); // an RTCP port
  p.busy(40000); // outside
  const s = p.stats();
  assert.equal(s.bindFailures, 0);
  assert.equal(s.free, 6);
  assert.equal(p.isInUse(30000), true);
});

test('an odd MIN starts at the next even port and a pair whose RTCP port is past MAX is left out (30001-30010)', () => {
  const { p } = pool({ min: 30001, max: 30010 });
  const s = p.stats();
  assert.equal(s.total, 8);
  assert.equal(s.min, 30001);
  assert.equal(s.max, 30010);
  assert.equal(p.allocate(5), null);
  assert.deepEqual(p.allocate(4), [30002, 30004, 30006, 30008]);
});

test('an even MAX leaves out its own port, whose RTCP port would be MAX + 1 (30000-30010)', () => {
  const { p } = pool({ min: 30000, max: 30010 });
  assert.equal(p.stats().total, 10);
  assert.deepEqual(p.allocate(5), [30000, 30002, 30004, 30006, 30008]);
  assert.equal(p.allocate(1), null);
});

test('the smallest range, 4 ports, holds at least one pair', () => {
  assert.deepEqual(pool({ min: 30001, max: 30004 }).p.allocate(2), null);
  assert.deepEqual(pool({ min: 30001, max: 30004 }).p.allocate(1), [30002]);
  assert.deepEqual(pool({ min: 65532, max: 65535 }).p.allocate(2), [65532, 65534]);
});

test('an impossible range or delay is a RangeError', () => {
  const bad: Partial<PortPoolOptions>[] = [
    { min: 1023, max: 2000 },
    { min: 60000, max: 65536 },
    { min: 30000, max: 30002 },
    { min: 30010, max: 30000 },
    { min: 30000.5, max: 30010 },
    { min: Number.NaN, max: 30010 },
    { quarantineMs: -1 },
    { quarantineMs: Number.POSITIVE_INFINITY },
    { retryBusyAfterMs: Number.NaN },
  ];
  for (const o of bad) assert.throws(() => pool(o), RangeError, JSON.stringify(o));
  assert.doesNotThrow(() => pool({ min: 1024, max: 1027 }));
});

test('a nonsensical count is refused like a full pool, and asking for none takes nothing', () => {
  const { p } = pool();
  assert.equal(p.allocate(-1), null);
  assert.equal(p.allocate(1.5), null);
  assert.deepEqual(p.allocate(0), []);
  const s = p.stats();
  assert.equal(s.allocationFailures, 2);
  assert.equal(s.free, 8);
});

test('highWater is the most ports in use at once, and allocations / releases count pairs', () => {
  const { p, advance } = pool();
  p.allocate(3);
  p.release(30000);
  p.release(30002);
  p.allocate(1);
  let s = p.stats();
  assert.equal(s.inUse, 4);
  assert.equal(s.highWater, 6);
  assert.equal(s.allocations, 4);
  assert.equal(s.releases, 2);
  advance(2000);
  assert.deepEqual(p.allocate(2), [30000, 30002]);
  s = p.stats();
  assert.equal(s.highWater, 8);
  for (const port of [30000, 30002, 30004, 30006]) p.release(port);
  s = p.stats();
  assert.equal(s.inUse, 0);
  assert.equal(s.highWater, 8, 'kept after the ports are released');
});


type ModelState = 'free' | 'inUse' | 'quarantined' | 'busy';

/**
 * The reference: a plain array, scanned and sorted on every call. A pair
 * waiting out quarantine or a busy hold counts as free once its time has come;
 * free pairs go out in the order they became free (ties in the order they
 * were put back).
 */
class ModelPool {
  readonly pairs: { rtp: number; state: ModelState; readyAt: number; seq: number }[] = [];
  private seq = 0;
  highWater = 0;
  allocations = 0;
  releases = 0;
  failures = 0;
  bindFailures = 0;

  constructor(
    first: number,
    count: number,
    private readonly q: number,
    private readonly b: number,
  ) {
    for (let i = 0; i < count; i++) this.pairs.push({ rtp: first + 2 * i, state: 'free', readyAt: -Infinity, seq: this.seq++ });
  }

  private stateAt(x: { state: ModelState; readyAt: number }, now: number): ModelState {
    return (x.state === 'quarantined' || x.state === 'busy') && x.readyAt <= now ? 'free' : x.state;
  }

  count(s: ModelState, now: number): number {
    return this.pairs.filter((x) => this.stateAt(x, now) === s).length;
  }

  allocate(n: number, now: number): number[] | null {
    const free = this.pairs.filter((x) => this.stateAt(x, now) === 'free').sort((a, c) => a.readyAt - c.readyAt || a.seq - c.seq);
    if (n > free.length) {
      this.failures++;
      return null;
    }
    const out = free.slice(0, n);
    for (const x of out) x.state = 'inUse';
    this.allocations += n;
    this.highWater = Math.max(this.highWater, this.count('inUse', now));
    return out.map((x) => x.rtp);
  }

  private put(rtp: number, state: 'quarantined' | 'busy', readyAt: number): boolean {
    const x = this.pairs.find((y) => y.rtp === rtp);
    if (!x || x.state !== 'inUse') return false;
    x.state = state;
    x.readyAt = readyAt;
    x.seq = this.seq++;
    return true;
  }

  release(rtp: number, now: number): boolean {
    const ok = this.put(rtp, 'quarantined', now + this.q);
    if (ok) this.releases++;
    return ok;
  }

  busy(rtp: number, now: number): void {
    if (this.put(rtp, 'busy', now + this.b)) this.bindFailures++;
  }
}

test('randomized: 5,000 operations agree with a reference model, and inUse + quarantined + free + busy-held = total throughout', () => {
  // Busy holds end on a half millisecond, quarantines on whole ones: the two never tie.
  const Q = 100;
  const B = 250.5;
  let now = 0;
  const p = new PortPool({ min: 30001, max: 30034, quarantineMs: Q, retryBusyAfterMs: B, monoMs: () => now });
  const m = new ModelPool(30002, 16, Q, B);
  const r = rng(0xc0ffee);
  const anyPort = () => 29990 + Math.floor(r() * 60);
  const someInUse = () => {
    const used = m.pairs.filter((x) => x.state === 'inUse');
    return used.length > 0 && r() < 0.9 ? used[Math.floor(r() * used.length)]!.rtp : anyPort();
  };
  let refusals = 0;
  let allFourAtOnce = 0;

  for (let step = 0; step < 5000; step++) {
    const op = r();
    const at = `step ${step}`;
    if (op < 0.35) {
      const n = Math.floor(r() * 5);
      const got = p.allocate(n);
      assert.deepEqual(got, m.allocate(n, now), `${at}: allocate(${n})`);
      if (got === null) refusals++;
    } else if (op < 0.65) {
      const port = someInUse();
      assert.equal(p.release(port), m.release(port, now), `${at}: release(${port})`);
    } else if (op < 0.72) {
      const port = someInUse();
      p.busy(port);
      m.busy(port, now);
    } else if (op < 0.8) {
      const port = anyPort();
      assert.equal(p.isInUse(port), m.pairs.some((x) => x.rtp === port && x.state === 'inUse'), `${at}: isInUse(${port})`);
    } else {
      now += Math.floor(r() * 60);
    }

    const s = p.stats();
    const busyHeld = 2 * m.count('busy', now);
    assert.equal(s.inUse + s.quarantined + s.free + s.busy, s.total, `${at}: the figures add up`);
    if (s.inUse > 0 && s.quarantined > 0 && s.free > 0 && busyHeld > 0) allFourAtOnce++;
    assert.deepEqual(
      s,
      {
        min: 30001,
        max: 30034,
        total: 32,
        inUse: 2 * m.count('inUse', now),
        // A pool lends nothing itself: the relay moves lent pairs out of inUse (relay.ts).
        lent: 0,
        quarantined: 2 * m.count('quarantined', now),
        free: 2 * m.count('free', now),
        busy: busyHeld,
        highWater: 2 * m.highWater,
        allocations: m.allocations,
        releases: m.releases,
        allocationFailures: m.failures,
        bindFailures: m.bindFailures,
      },
      at,
    );
  }
  // The walk must have reached the interesting places, or it proved little.
  assert.ok(refusals > 50, `refusals: ${refusals}`);
  assert.ok(m.bindFailures > 50, `bind failures: ${m.bindFailures}`);
  assert.ok(allFourAtOnce > 500, `steps with pairs in every state: ${allFourAtOnce}`);
  assert.ok(p.stats().highWater >= 24, `high water: ${p.stats().highWater}`);
});

test('a pair released warm (sockets kept bound) is handed out before never-bound pairs once its quarantine ends, and says it is warm', () => {
  const { p, advance } = pool({ min: 30000, max: 30015, warmPairs: 4 });
  assert.deepEqual(p.allocate(2), [30000, 30002]);
  assert.equal(p.isWarm(30000), false, 'a first allocation binds');
  assert.equal(p.wantsWarm(), true);
  p.release(30002, true);
  p.release(30000, false);
  advance(2000);
  assert.deepEqual(p.allocate(1), [30002], 'the warm pair goes first, before the six never used');
  assert.equal(p.isWarm(30002), true, 'still bound: the open needs no bind');
  assert.deepEqual(p.allocate(1), [30004], 'then the cold FIFO, least recently used first');
  assert.equal(p.stats().free + p.stats().inUse + p.stats().quarantined, p.stats().total, 'warm free pairs count as free');
});

test('no more than warmPairs pairs stay bound while not in use; a busy pair is never warm', () => {
  const { p, advance } = pool({ min: 30000, max: 30015, warmPairs: 2 });
  const ports = p.allocate(4)!;
  const kept = ports.map((port) => {
    const warm = p.wantsWarm();
    p.release(port, warm);
    return warm;
  });
  assert.deepEqual(kept, [true, true, false, false]);
  advance(2000);
  assert.deepEqual(p.allocate(2), [ports[0], ports[1]]);
  assert.equal(p.wantsWarm(), true, 'allocating warm pairs frees room for the next warm releases');
  p.busy(ports[0]!);
  assert.equal(p.isWarm(ports[0]!), false);
  assert.throws(() => pool({ warmPairs: -1 }), /warmPairs/);
});

test('the warm-pair budget comes from the open-file soft limit: none at 1,024, a quarter of the rest above, capped', () => {
  const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                1048576              files\n`;
  assert.equal(warmPairBudget(limits('1024')), 0, 'a desktop default leaves no room: bind per call');
  assert.equal(warmPairBudget(limits('5120')), 1024);
  assert.equal(warmPairBudget(limits('1048576')), MAX_WARM_PAIRS);
  assert.equal(warmPairBudget(limits('unlimited')), MAX_WARM_PAIRS);
  assert.equal(warmPairBudget('garbage'), 0);
  assert.equal(warmPairBudget(null), 0);
});

test('pairs bound ahead at start: within the warm budget and a quarter of the free pairs, free but not handed out while binding, then free and warm at once (no quarantine); one that could not be bound is busy', () => {
  const small = pool({ min: 30000, max: 30015, warmPairs: 100 }).p;
  assert.deepEqual(small.takeToWarm(100), [30000, 30002], 'a quarter of 8 free pairs: offers meanwhile find the other 6');
  assert.deepEqual(small.allocate(6), [30004, 30006, 30008, 30010, 30012, 30014], 'never one being bound');
  assert.equal(small.allocate(1), null);
  const { p } = pool({ min: 30000, max: 30063, warmPairs: 3 });
  const taken = p.takeToWarm(10);
  assert.deepEqual(taken, [30000, 30002, 30004], 'no more than the warm budget');
  assert.deepEqual([p.stats().inUse, p.stats().free, p.stats().allocations], [0, 64, 0], 'no offer took them: free, not in use');
  p.warmed(30000, true);
  p.warmed(30002, true);
  p.warmed(30004, false);
  const s = p.stats();
  assert.deepEqual([s.inUse, s.quarantined, s.free, s.busy, s.bindFailures, s.releases, s.highWater], [0, 0, 62, 2, 1, 0, 0]);
  assert.deepEqual(p.takeToWarm(10), [30006], 'room for one more in the warm budget');
  p.warmed(30006, true);
  assert.deepEqual(p.allocate(2), [30000, 30002], 'the first offer gets bound pairs, at once');
  assert.equal(p.isWarm(30000), true);
  p.warmed(30000, true);
  assert.equal(p.stats().inUse, 4, 'warmed() on a pair an offer holds changes nothing');
});
