/**
 * A shard's native relay (engine/rtp/native/relay.c) lives as long as the
 * shard: every relay start, restart or settings change creates one, and a
 * lab box restarts the relay many times in a day. Once destroyed (or left
 * without destroy) and its handle collected, its memory, thread and sockets
 * must be let go; live() counts the relays not yet freed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadNativeRelay, type NativeRelayAddon } from '../../engine/rtp/native/addon';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const addon = (): NativeRelayAddon => {
  const loaded = loadNativeRelay();
  if (!('addon' in loaded)) throw new Error(loaded.error);
  return loaded.addon;
};

/** Collects garbage until live() is back to `to`, or gives up after a bounded number of turns; returns what live() says. */
async function collectTo(a: NativeRelayAddon, to: number): Promise<number> {
  for (let i = 0; i < 100 && a.live() !== to; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return a.live();
}

test('relays destroyed, or dropped without destroy, are freed once collected; a new one still binds', async () => {
  const a = addon();
  const before = a.live();
  const start = () => {
    const r = a.create(0, false, () => undefined);
    a.bind(r, '127.0.0.1', 0);
    return r;
  };
  for (let i = 0; i < 50; i++) a.destroy(start());
  for (let i = 0; i < 10; i++) start(); // a shard that ended without destroy: the handle's collection stops its thread
  assert.equal(await collectTo(a, before), before, 'every relay started here was freed');

  const r = start();
  assert.equal(a.live(), before + 1);
  assert.ok(a.bind(r, '127.0.0.1', 0) >= 0, 'a relay created after the others were freed binds');
  a.destroy(r);
});
