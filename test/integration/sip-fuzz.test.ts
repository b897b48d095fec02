/**
 * The short version of `npm run bench -- fuzz` (issue #12): 20,000 mutated
 * SIP datagrams and the TCP cases at small scale at a lab process of its own,
 * which must survive, count every refusal with a reason, and still forward a
 * fresh INVITE over UDP and over a new TCP connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MUTATIONS, runFuzz } from '../bench/fuzz';

test('20,000 mutated SIP messages and hostile TCP peers leave the lab alive, every drop counted with a reason, and a fresh INVITE forwarded', async () => {
  const lines: string[] = [];
  const r = await runFuzz({ cases: 20_000, seed: Number(process.env.SIP_FUZZ_SEED ?? 7), idleConnections: 120, tcpCases: 10, tcpIdleS: 2, log: (l) => lines.push(l) });
  const why = `${JSON.stringify(r)}\n${lines.join('\n')}`;
  assert.equal(r.crashes, 0, why);
  assert.equal(r.lab_exit, null, why);
  assert.equal(r.api_alive, true, why);
  assert.equal(r.caught_throws, 0, `the proxy caught throws (sip.core internal-error / sip.parse internal): ${why}`);
  assert.deepEqual(r.fresh_invite_forwarded, { udp: true, tcp: true }, why);
  assert.equal(r.tcp.one_byte_trying, true, `an INVITE written one byte at a time was not answered: ${why}`);
  assert.deepEqual(Object.keys(r.mutations).sort(), [...MUTATIONS].sort(), 'every mutation kind was sent');

  const drops = (where: string, reason: string) => r.drops[`${where} ${reason}`] ?? 0;
  // Past the per-source bound (two thirds of the idle connections opened), each one refused and counted.
  assert.equal(drops('sip.tcp', 'refused-per-source-cap'), 120 - r.tcp.per_source_cap, why);
  assert.equal(r.tcp.idle_refused_seen, 120 - r.tcp.per_source_cap, why);
  // Stalled connections (10 of them) closed by the idle bound.
  assert.ok(drops('sip.tcp', 'idle-closed') >= 10, why);
  // The parser's refusals are many and varied, each with its reason.
  const parseReasons = Object.keys(r.drops).filter((k) => k.startsWith('sip.parse '));
  assert.ok(parseReasons.length >= 8, `parse drop reasons: ${parseReasons.join(', ')}`);
  assert.ok(drops('sip.parse', 'empty') > 0);
});
