/**
 * `inline` mode's simulated SIP workers (engine/sip/worker/inline-gate.ts):
 * an initial INVITE waits for its publish, the wait is measured, and copies
 * of a held message are counted as the retransmissions the wait caused,
 * and go on without a publish of their own once their original has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InlineGate } from '../../engine/sip/worker/inline-gate';
import { DropCounters } from '../../engine/metrics/drops';

const invite = (branch: string) => Buffer.from(`INVITE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5091;branch=${branch}\r\nTo: <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: ${branch}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`);
const peer = { host: '127.0.0.1', port: 5091, transport: 'udp' } as never;

test('an INVITE waits for its publish; its copies while held, or under a second after, are the wait’s retransmissions; the wait is measured', async () => {
  let now = 10_000_000;
  const passed: { branch: string; heldUs: number }[] = [];
  const replies: (() => void)[] = [];
  const gate = new InlineGate(1, (d, _p, heldUs) => passed.push({ branch: /branch=(\w+)/.exec(d.toString())![1]!, heldUs }), () => new Promise<void>((r) => replies.push(r)), new DropCounters(), () => now);
  gate.receive(invite('b1'), peer);
  now += 500_000;
  gate.receive(invite('b1'), peer); // Timer A fired: a copy while the original waits
  assert.equal(gate.state.heldRetransmissions, 1);
  assert.deepEqual([gate.state.busy, gate.state.waiting], [1, 1]);
  now += 300_000;
  replies.shift()!();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(passed[0], { branch: 'b1', heldUs: 800_000 }, 'the original went on after 800 ms');
  assert.equal(gate.state.heldUs.count, 1);
  assert.ok(gate.state.heldUs.max >= 790_000);
  // The queued copy goes on at once, for the proxy's transaction to absorb: no second publish, as a Kamailio child
  // reading a copy after its original's t_relay matches the transaction before its script publishes anything.
  assert.deepEqual(passed.map((p) => p.branch), ['b1', 'b1']);
  assert.equal(replies.length, 0, 'the copy asked Redis nothing');
  assert.deepEqual([gate.state.busy, gate.state.waiting], [0, 0]);
  now += 400_000;
  gate.receive(invite('b1'), peer); // crossing: sent before our 100 Trying reached the caller
  assert.equal(gate.state.heldRetransmissions, 2);
  assert.equal(passed.length, 3, 'it goes on at once too');
  assert.equal(replies.length, 0);
  now += 3_000_000;
  gate.receive(invite('b2'), peer);
  gate.receive(invite('b1'), peer); // seconds later: not the wait's
  assert.equal(gate.state.heldRetransmissions, 2);
});

test("the workers' busy share over the last 5 s: Little's law measured, not inferred; a worker that never gets a reply is busy the whole time", async () => {
  let now = 0;
  const replies: (() => void)[] = [];
  const gate = new InlineGate(2, () => undefined, () => new Promise<void>((r) => replies.push(r)), new DropCounters(), () => now);
  now = 1_000_000;
  assert.equal(gate.state.busyShare, 0, 'nothing waited yet');
  gate.receive(invite('c1'), peer); // one of two workers waits 1 s
  now = 2_000_000;
  replies.shift()!();
  await new Promise((r) => setImmediate(r));
  assert.equal(gate.state.busyShare, 0.25, '1 worker-second of 2 workers × 2 s');
  gate.receive(invite('c2'), peer);
  gate.receive(invite('c3'), peer); // both wait from 2 s on, and never get an answer
  now = 8_000_000;
  assert.equal(gate.state.busyShare, 1, 'from the last sample at or before the window (2 s) to 8 s, all waiting: a queue behind them would grow');
  now = 12_000_000;
  assert.equal(gate.state.busyShare, 1, 'still, with no change of state to count it at');
});
