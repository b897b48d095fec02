import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../engine/clock';
import { LINGER_SWEEP_MS, LingerTable, createManualTimerHost } from '../../engine/sip/transaction';

function rig(ttl: number) {
  const clock = createManualClock();
  const timers = createManualTimerHost(clock);
  const table = new LingerTable<string>(ttl, timers, () => clock.monoMs());
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
