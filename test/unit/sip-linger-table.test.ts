import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../engine/clock';
import { LINGER_SWEEP_MS, LingerTable, createManualTimerHost, type LingerCodec, type LingerTableOptions } from '../../engine/sip/transaction';

const text: LingerCodec<string> = {
  size: (v) => Buffer.byteLength(v),
  write: (v, buf, o) => void buf.write(v, o),
  read: (buf, start, end) => buf.toString('utf8', start, end),
};

function rig(ttl: number, o: LingerTableOptions = {}) {
  const clock = createManualClock();
  const timers = createManualTimerHost(clock);
  const table = new LingerTable<string>(ttl, timers, () => clock.monoMs(), text, o);
  return { table, timers };
}

test('keeps an entry for its TTL and lets it go within one sweep window after (RFC 3261 Timer J/K, RFC 6026 Timer L/M)', () => {
  const { table, timers } = rig(32_000);
  table.add('s|z9hG4bK-a|host|INVITE', 'accepted');
  timers.advance(31_999);
  assert.equal(table.get('s|z9hG4bK-a|host|INVITE'), 'accepted', 'still absorbing retransmissions before 64·T1');
  timers.advance(1 + LINGER_SWEEP_MS);
  assert.equal(table.get('s|z9hG4bK-a|host|INVITE'), undefined);
  assert.equal(table.size, 0);
  assert.equal(timers.pending(), 0, 'no timer left once the table is empty');
});

test('expires in insertion order with one timer, however many entries', () => {
  const { table, timers } = rig(5_000);
  for (let i = 0; i < 10_000; i++) {
    table.add(`k${i}`, `v${i}`);
    if (i % 100 === 99) timers.advance(1);
  }
  assert.equal(timers.pending(), 1, 'a single sweep timer');
  timers.advance(5_000 - 100 + LINGER_SWEEP_MS);
  assert.ok(table.size > 0 && table.size < 10_000, `the oldest went first (${table.size} left)`);
  assert.equal(table.get('k0'), undefined);
  assert.equal(table.get('k9999'), 'v9999');
  timers.advance(200);
  assert.equal(table.size, 0);
});

test('a key re-added after a delete lives its own full TTL', () => {
  const { table, timers } = rig(1_000);
  table.add('k', 'old');
  timers.advance(600);
  assert.equal(table.delete('k'), true);
  table.add('k', 'new');
  timers.advance(400 + LINGER_SWEEP_MS);
  assert.equal(table.get('k'), 'new', 'the old entry expiring does not take the new one');
  timers.advance(600);
  assert.equal(table.get('k'), undefined);
});

test('a zero TTL (reliable transport: Timers J and K are zero) keeps nothing; clear() drops everything', () => {
  const { table: none } = rig(0);
  none.add('k', 'v');
  assert.equal(none.size, 0);
  const { table, timers } = rig(1_000);
  table.add('a', '1');
  table.add('b', '2');
  table.clear();
  assert.equal(table.size, 0);
  assert.equal(timers.pending(), 0);
});

test('agrees with a plain Map under random add/delete/expiry across many small chunks (index deletions keep every other key findable)', () => {
  const drops: string[] = [];
  const { table, timers } = rig(1_000, { chunkBytes: 512, maxBytes: 1 << 30, onDrop: (r) => drops.push(r) });
  const model = new Map<string, { value: string; due: number }>();
  let now = 0;
  let seed = 7;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  for (let step = 0; step < 20_000; step++) {
    const key = `z9hG4bK-${rand(3_000)}|127.0.0.1:5060|${rand(2) ? 'INVITE' : 'BYE'}`;
    const op = rand(10);
    if (op < 6) {
      const value = 'v'.repeat(rand(60)) + step + 'ü';
      table.add(key, value);
      model.set(key, { value, due: now + 1_000 });
    } else if (op < 8) {
      const e = model.get(key);
      const deleted = table.delete(key);
      if (e === undefined) assert.equal(deleted, false, `${key} was not there`);
      else if (now < e.due) assert.equal(deleted, true, `${key} was there`);
      model.delete(key);
    } else {
      const ms = rand(40);
      timers.advance(ms);
      now += ms;
    }
    // The table may keep an entry up to one sweep window past its due time, never less.
    for (const [k, e] of model) if (now > e.due + LINGER_SWEEP_MS) model.delete(k);
    if (step % 97 === 0) {
      for (let i = 0; i < 3_000; i++) {
        for (const m of ['INVITE', 'BYE']) {
          const k = `z9hG4bK-${i}|127.0.0.1:5060|${m}`;
          const e = model.get(k);
          const got = table.get(k);
          if (e === undefined) assert.equal(got, undefined, `${k} is gone at ${now}`);
          else if (now < e.due) assert.equal(got, e.value, `${k} at ${now}`);
          else assert.ok(got === undefined || got === e.value, `${k} within its sweep window`);
        }
      }
    }
  }
  assert.deepEqual(drops, [], 'nothing let go early below the memory cap');
  timers.advance(1_000 + LINGER_SWEEP_MS);
  assert.equal(table.size, 0);
  assert.ok(table.bytes <= 2 * 512, `chunks are let go once empty (${table.bytes} bytes kept)`);
});

test('keeps no JS object per entry: the memory cap lets the oldest go early and counts them; an entry over a chunk is refused and counted', () => {
  const drops: string[] = [];
  const { table, timers } = rig(60_000, { chunkBytes: 1_024, maxBytes: 4 * 1_024, onDrop: (r) => drops.push(r) });
  for (let i = 0; i < 200; i++) table.add(`k${i}`, 'x'.repeat(100));
  assert.ok(table.bytes <= 4 * 1_024, 'never more than the cap');
  assert.ok(drops.length > 0 && drops.every((d) => d === 'evicted'), `the oldest were evicted (${drops.length})`);
  assert.equal(table.size, 200 - drops.length);
  assert.equal(table.get('k0'), undefined, 'the oldest went first');
  assert.equal(table.get('k199'), 'x'.repeat(100), 'the newest are kept');
  table.add('huge', 'y'.repeat(2_000));
  assert.equal(drops.at(-1), 'too-big');
  assert.equal(table.get('huge'), undefined);
  timers.advance(60_000 + LINGER_SWEEP_MS);
  assert.equal(table.size, 0);
});
