/**
 * The publisher's queue (engine/publish/publish-queue.ts): bounded, in
 * order, failed writes back ahead of newer events, the oldest dropped when full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PublishQueue } from '../../engine/publish/publish-queue';

const drain = (q: PublishQueue<string>) => {
  const out: string[] = [];
  for (let x = q.shift(); x; x = q.shift()) out.push(x.item);
  return out;
};

test('events leave in the order they came', () => {
  const q = new PublishQueue<string>(10);
  for (const x of ['a', 'b', 'c']) q.push(x);
  assert.deepEqual(drain(q), ['a', 'b', 'c']);
  assert.equal(q.length, 0);
});

test('writes that failed go out again before anything newer, in their own order, whatever order they failed in', () => {
  const q = new PublishQueue<string>(10);
  for (const x of ['a', 'b', 'c', 'd']) q.push(x);
  const a = q.shift()!;
  const b = q.shift()!;
  q.push('e');
  // The connection broke: b's failure is reported before a's.
  q.requeue(b);
  q.requeue(a);
  assert.deepEqual(drain(q), ['a', 'b', 'c', 'd', 'e']);
});

test('full: the oldest is dropped and handed back to be counted, including a failed write that is the oldest', () => {
  const q = new PublishQueue<string>(3);
  for (const x of ['a', 'b', 'c']) q.push(x);
  assert.equal(q.push('d')?.item, 'a');
  const b = q.shift()!; // in flight
  q.push('e'); // c d e
  assert.equal(q.length, 3);
  assert.equal(q.requeue(b)?.item, 'b', 'b is older than everything queued: it is the one dropped');
  assert.deepEqual(drain(q), ['c', 'd', 'e']);
  // A failed write older than everything queued is the oldest: it goes.
  for (const x of ['f', 'g', 'h']) q.push(x);
  const f = q.shift()!;
  q.push('i'); // g h i
  assert.equal(q.requeue(f)?.item, 'f');
  assert.deepEqual(drain(q), ['g', 'h', 'i']);
});

test('full with an older failed write already waiting: that one goes, the newer failed write stays ahead of the queue', () => {
  const q = new PublishQueue<string>(3);
  q.push('j');
  q.push('k');
  const j = q.shift()!;
  const k = q.shift()!;
  q.push('l');
  q.push('m');
  assert.equal(q.requeue(j), null, 'room for it');
  assert.equal(q.requeue(k)?.item, 'j');
  assert.deepEqual(drain(q), ['k', 'l', 'm']);
});
