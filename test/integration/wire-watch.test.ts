/**
 * Watch mode (issue #12): the console brought to an existing Kamailio. The
 * Debian `kamailio` package, with a minimal stateful-forwarding config
 * (test/fixtures/kamailio/kamailio.cfg, record_route), sits between SIPp's
 * UAC and UAS on ports this test owns; the lab's proxy listens elsewhere and
 * sees none of it. `--watch lo:udp port K` must build the call and its whole
 * ladder from the wire alone, under the `watch` source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SORT, NO_FILTER } from '../../app/contract';
import { inTimeOrder, sipEntries, withLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { proxyAnswersOn } from '../helpers/raw-udp';
import { runSipp, startSipp } from '../helpers/sipp';

const CONFIG = fileURLToPath(new URL('../fixtures/kamailio/kamailio.cfg', import.meta.url));

/** Kamailio in the foreground (-DD -E), stopped by its PID. */
async function startKamailio(port: number, uasPort: number): Promise<{ child: ChildProcess; stop(): Promise<void>; log(): string }> {
  const run = mkdtempSync(join(tmpdir(), 'callpath-kamailio-'));
  const child = spawn('kamailio', ['-f', CONFIG, '-DD', '-E', '-m', '32', '-M', '8', '-Y', run, '-l', `udp:127.0.0.1:${port}`, '-A', `UAS="sip:127.0.0.1:${uasPort}"`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
      child.once('exit', () => resolve());
      process.kill(child.pid, 'SIGTERM');
      setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 3_000).unref();
    });
  // Up once it answers an OPTIONS with Max-Forwards 0 (483 from mf_process_maxfwd_header).
  for (let i = 0; i < 30 && !(await proxyAnswersOn(port, 200)); i++) {
    if (child.exitCode !== null) break;
  }
  if (child.exitCode !== null) throw new Error(`kamailio exited: ${log}`);
  return { child, stop, log: () => log };
}

test('--watch builds a Kamailio call and its ladder from the wire alone, as the watch source', { timeout: 60_000 }, async () => {
  const [kport, uasPort, uacPort] = [await freePort(), await freePort(), await freePort()];
  const uas = startSipp({ scenario: 'uas', port: uasPort });
  const kam = await startKamailio(kport, uasPort);
  try {
    await withLab({ watch: { iface: 'lo', filter: `udp port ${kport}` } }, async (lab) => {
      const w0 = lab.host.snapshot().watch!;
      assert.equal(w0.on, true, `watch is on: ${w0.reason}`);
      const uac = await runSipp({ scenario: 'uac', remote: `127.0.0.1:${kport}`, port: uacPort, calls: 1, duration: 200, timeoutSec: 15 });
      if (uac.successful !== 1) {
        const errors = readFileSync(join(uac.dir, 'errors.log'), { encoding: 'utf8', flag: 'a+' });
        assert.fail(`the call through Kamailio failed: ${uac.stdout.slice(-300)}\n${errors.slice(0, 2000)}\nkamailio: ${kam.log().slice(-1500)}`);
      }

      let calls = (await lab.host.queryCalls({ ...NO_FILTER, source: 'watch' }, DEFAULT_SORT, 0, 10)).calls;
      for (let i = 0; i < 40 && !(calls.length === 1 && calls[0]!.state === 'terminated'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        calls = (await lab.host.queryCalls({ ...NO_FILTER, source: 'watch' }, DEFAULT_SORT, 0, 10)).calls;
      }
      assert.equal(calls.length, 1, 'one call from the wire');
      const call = lab.host.getCall(calls[0]!.key)!;
      assert.equal(call.source, 'watch');
      assert.ok(call.key.startsWith('watch/'), call.key);
      assert.equal(call.state, 'terminated');
      assert.ok(lab.host.snapshot().calls.sources.some((s) => s.id === 'watch'), 'the source is listed');
      assert.equal(lab.host.getCall(call.callId), null, 'nothing under the live source: the proxy saw none of it');

      const ladder = inTimeOrder(sipEntries(call));
      const k = `127.0.0.1:${kport}`;
      const hop = (label: string, src: string, dst: string) => ladder.some((e) => e.label.startsWith(label) && e.src === src && e.dst === dst);
      const uacAddr = `127.0.0.1:${uacPort}`;
      const uasAddr = `127.0.0.1:${uasPort}`;
      for (const [label, src, dst] of [
        ['INVITE', uacAddr, k], ['100 ', k, uacAddr], ['INVITE', k, uasAddr], ['180 ', uasAddr, k], ['180 ', k, uacAddr],
        ['200 ', uasAddr, k], ['200 ', k, uacAddr], ['ACK', uacAddr, k], ['ACK', k, uasAddr], ['BYE', uacAddr, k], ['BYE', k, uasAddr],
      ] as const) assert.ok(hop(label, src, dst), `${label} ${src} → ${dst} on the ladder:\n${ladder.map((e) => `${e.label} ${e.src} → ${e.dst}`).join('\n')}`);
      const firsts = ['INVITE', '100 ', '180 ', '200 ', 'ACK', 'BYE'].map((l) => ladder.findIndex((e) => e.label.startsWith(l)));
      assert.deepEqual([...firsts].sort((a, b) => a - b), firsts, 'INVITE, 100, 180, 200, ACK, BYE in time order');
      // Kamailio record-routed the dialog: its INVITE out carries a Record-Route with its address.
      const forwarded = ladder.find((e) => e.method === 'INVITE' && e.src === k)!;
      assert.match(forwarded.text, new RegExp(`^Record-Route: <sip:127\\.0\\.0\\.1:${kport};lr[;>]`, 'mi'));
      assert.equal(forwarded.seen, undefined, 'a watched message has one time, the wire\'s');
      assert.ok(lab.host.snapshot().watch!.messages >= ladder.length);
    });
  } finally {
    await kam.stop();
    await uas.stop();
  }
});
