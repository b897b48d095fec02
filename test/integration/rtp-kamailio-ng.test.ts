/**
 * A call over NG from Kamailio: the Debian `kamailio` package with its
 * rtpengine module pointed at the lab's NG listener
 * (test/fixtures/kamailio/rtpengine-ng.cfg: offer on the INVITE, answer on
 * the reply's SDP, delete on the BYE) sits between SIPp's UAC and UAS. The
 * lab's SIP proxy is not in the path: the call reaches the lab's store only
 * through the relay's media events, under the Call-ID Kamailio sent over NG.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Stream } from '../../engine/call/model';
import { withLab, type RunningLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { proxyAnswersOn } from '../helpers/raw-udp';
import { runSipp, startSipp } from '../helpers/sipp';
import { until } from '../helpers/until';

const CONFIG = fileURLToPath(new URL('../fixtures/kamailio/rtpengine-ng.cfg', import.meta.url));
const MEDIA_UAC = fileURLToPath(new URL('../fixtures/sipp/uac-g711-media.xml', import.meta.url));
const KAMAILIO = '/usr/sbin/kamailio';
const RTPENGINE_MODULE = '/usr/lib/x86_64-linux-gnu/kamailio/modules/rtpengine.so';
const missing = [KAMAILIO, RTPENGINE_MODULE].filter((f) => !existsSync(f));
// Apart from every other test's range, and below the kernel's ephemeral ports (see test/helpers/lab.ts).
const RTP = { host: '127.0.0.1', min: 23000, max: 23099 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


interface RunningKamailio {
  stop(): Promise<void>;
  log(): string;
}

/** Kamailio in the foreground (-DD -E) with its own runtime dir (removed when it stops), stopped by its PID. */
async function startKamailio(port: number, uasPort: number, ngPort: number): Promise<RunningKamailio> {
  const run = mkdtempSync(join(tmpdir(), 'callpath-kamailio-'));
  const args = ['-f', CONFIG, '-DD', '-E', '-m', '32', '-M', '8', '-Y', run, '-l', `udp:127.0.0.1:${port}`, '-A', `UAS="sip:127.0.0.1:${uasPort}"`, '-A', `NG="udp:127.0.0.1:${ngPort}"`];
  const child = spawn(KAMAILIO, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const stop = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        rmSync(run, { recursive: true, force: true });
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return done();
      child.once('exit', done);
      process.kill(child.pid, 'SIGTERM');
      setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 3_000).unref();
    });
  // Up once it answers an OPTIONS with Max-Forwards 0 (483 from mf_process_maxfwd_header).
  for (let i = 0; i < 30 && !(await proxyAnswersOn(port, 200)); i++) {
    if (child.exitCode !== null) break;
  }
  if (child.exitCode !== null) {
    rmSync(run, { recursive: true, force: true });
    throw new Error(`kamailio exited: ${log}`);
  }
  return { stop, log: () => log };
}

const streamsOf = (lab: RunningLab, callId: string): Stream[] => (lab.host.getCall(callId)?.legs ?? []).flatMap((l) => l.media.flatMap((m) => m.streams));
const mLine = (text: string) => Number(/^m=audio (\d+)/m.exec(text)?.[1]);
/** One message of a SIPp -trace_msg log: the first that matches. */
const tracedMessage = (log: string, pattern: RegExp) => log.split(/-{20,}/).find((m) => pattern.test(m));

test(
  "a SIPp call through Kamailio's rtpengine module: the relay answers its NG offer, answer and delete, G.711 crosses both ways, and the call's streams carry every packet",
  { skip: missing.length > 0 ? `needs Debian's kamailio package with its rtpengine module (missing: ${missing.join(', ')})` : false, timeout: 90_000 },
  async () => {
    const [kport, ngPort, uasPort, uacPort, uasMedia, uacMedia] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    // The lab first: Kamailio's rtpengine module pings the NG socket as it starts.
    await withLab({ ng: { host: '127.0.0.1', port: ngPort }, rtp: RTP }, async (lab) => {
      const uas = startSipp({ scenario: 'uas', port: uasPort, extra: ['-rtp_echo', '-mi', '127.0.0.1', '-mp', String(uasMedia)] });
      let kam: RunningKamailio | null = null;
      try {
        kam = await startKamailio(kport, uasPort, ngPort);
        await sleep(300);
        const r = await runSipp({ scenario: MEDIA_UAC, remote: `127.0.0.1:${kport}`, port: uacPort, calls: 1, timeoutSec: 30, extra: ['-mi', '127.0.0.1', '-mp', String(uacMedia), '-trace_msg', '-message_file', 'uac.log'] });
        if (r.successful !== 1) {
          const errors = readFileSync(join(r.dir, 'errors.log'), { encoding: 'utf8', flag: 'a+' });
          assert.fail(`the call through Kamailio failed: ${r.stdout.slice(-300)}\n${errors.slice(0, 2000)}\nkamailio: ${kam.log().slice(-2000)}`);
        }
        const inRange = (p: number) => p >= RTP.min && p <= RTP.max;

        const ok = tracedMessage(readFileSync(join(r.dir, 'uac.log'), 'latin1'), /SIP\/2\.0 200 OK[\s\S]*CSeq: 1 INVITE/);
        assert.ok(ok, 'the UAC logged the 200 OK to its INVITE');
        const callId = /^Call-ID:\s*(\S+)/im.exec(ok)?.[1];
        assert.ok(callId, ok);
        const toCaller = mLine(ok);
        assert.ok(inRange(toCaller), `the 200 OK the caller got names a relay port, not the UAS's ${uasMedia}: ${toCaller}`);

        // The UAS writes its trace as it goes; stopping it (after the call) makes sure the INVITE is in the file.
        await uas.stop();
        const invite = tracedMessage(readFileSync(join(uas.dir, 'messages.log'), 'latin1'), /^\s*INVITE sip:/m);
        assert.ok(invite, 'the UAS logged the INVITE Kamailio relayed');
        const toCallee = mLine(invite);
        assert.ok(inRange(toCallee), `the INVITE the callee got names a relay port, not the caller's ${uacMedia}: ${toCallee}`);
        assert.notEqual(toCallee, toCaller);

        // Kamailio sends the NG delete before it relays the BYE, so the session is gone by now; the figures follow as media events.
        const s = await until('two closed streams with figures', () => {
          const all = streamsOf(lab, callId);
          return all.length === 2 && all.every((x) => !x.open) && all;
        });
        const relay = lab.host.snapshot().relay!;
        assert.equal(relay.packets.relayed, 2 * 236, 'the 236 packets of g711a.pcap to the UAS, and its echo of each back');
        assert.equal(relay.sessions.closed.delete, 1, "Kamailio's rtpengine_delete on the BYE arrived as an NG delete");
        assert.equal(relay.sessions.live, 0);
        assert.equal(relay.ports.inUse, 0, 'every port is back');
        const fromCaller = s.find((x) => x.id === 'm0-caller');
        const fromCallee = s.find((x) => x.id === 'm0-callee');
        assert.ok(fromCaller && fromCallee, `the caller's and the callee's streams: ${s.map((x) => x.id).join(', ')}`);
        assert.equal(fromCaller.packets, 236);
        assert.equal(fromCaller.lost, 0);
        assert.equal(fromCaller.codec, 'PCMA/8000');
        assert.equal(fromCallee.packets, 236, 'the echo');
        assert.equal(fromCallee.lost, 0);
        assert.equal(fromCaller.closeReason, 'delete');
        assert.deepEqual(
          lab.host.snapshot().drops.filter((d) => d.where === 'relay.ng'),
          [],
          'nothing Kamailio sent was refused or dropped',
        );
      } finally {
        await kam?.stop();
        await uas.stop();
      }
    });
  },
);
