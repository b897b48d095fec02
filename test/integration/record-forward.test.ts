/**
 * Forwarding recorded calls' PCM to an application (`--forward`, issue 15),
 * end to end: SIPp plays G.711 A-law (Debian sip-tester's g711a.pcap)
 * through our proxy and relay to a SIPp UAS that echoes it; the lab records
 * every call and forwards each leg's decoded audio over TLS to the test's
 * own node:tls consumer.
 *
 * - A deliberately slow consumer while 100 calls are relayed and recorded:
 *   it takes one connection every ADMIT_MS and reads READ_BYTES every
 *   READ_MS from each (half the audio rate). On loopback the kernel takes a
 *   couple of MB per connection from a reader that has stopped (a 7 s leg is
 *   113 kB), so reading slowly alone costs nothing here; taking connections
 *   slowly is what makes legs wait past the connect timeout, and their audio
 *   is dropped and counted. The relay loses nothing and every WAV is whole.
 * - A consumer that keeps up: per call and leg, the documented header, then
 *   exactly the samples of that leg's WAV channel.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket, createSecureContext, createServer as createTlsServer } from 'node:tls';
import { parseLabArgs, type LabConfig } from '../../app/config';
import type { Stream } from '../../engine/call/model';
import { readCapture } from '../../engine/capture/pcap-read';
import { decodePcmHeader, type PcmStreamHeader } from '../../engine/record/forward/header';
import { renderPrometheus } from '../../app/prometheus';
import { soxChannel, soxDecode, soxi } from '../helpers/g711-rtp';
import { freePort } from '../helpers/ports';
import { runSipp, startSipp } from '../helpers/sipp';
import { type RunningLab, withLab } from '../helpers/lab';
import { until } from '../helpers/until';

const MEDIA_UAC = join(import.meta.dirname, '..', 'fixtures', 'sipp', 'uac-g711-media.xml');
const PCAP = '/usr/share/sip-tester/g711a.pcap';
/** g711a.pcap: 236 packets of 30 ms. */
const PCAP_SAMPLES = 236 * 240;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const skip = existsSync(PCAP) ? false : `needs ${PCAP} (Debian sip-tester)`;

const root = mkdtempSync(join(tmpdir(), 'callpath-forward-it-'));
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
  rmSync(root, { recursive: true, force: true });
});

/** A self-signed P-256 certificate for 127.0.0.1 (cheap handshakes: 200 of them share two cores). */
function certificate(): { key: Buffer; cert: Buffer; certFile: string } {
  const keyFile = join(root, 'key.pem');
  const certFile = join(root, 'cert.pem');
  execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=callpath-test-consumer', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
}

/** `--forward` as the CLI parses it (the CA file read, the flags checked). */
function forwardFlags(args: string[]): LabConfig['forward'] {
  const r = parseLabArgs(args, {}, (p) => readFileSync(p, 'utf8'));
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.ok(r.config.forward);
  return r.config.forward;
}

function listen(server: Server): Promise<number> {
  cleanups.push(() => server.close());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** The RTP payloads (12-byte header, no CSRC or extension in this file) in the pcap, in order. */
function pcapPayloads(): Buffer[] {
  return readCapture(readFileSync(PCAP)).packets.filter((p) => p.transport === 'udp' && p.payload.length > 12).map((p) => p.payload.subarray(12));
}

const streamsOf = (lab: RunningLab, callId: string): Stream[] => (lab.host.getCall(callId)?.legs ?? []).flatMap((l) => l.media.flatMap((m) => m.streams));

/**
 * The lab (routing to a SIPp UAS that echoes the media, recording every call
 * to `dir`, forwarding to `forward`) for the length of `fn`, after `calls`
 * SIPp UAC calls played g711a.pcap through it at `rate` per second.
 */
async function withCalls(o: { dir: string; forward: LabConfig['forward']; calls: number; rate: number; rtpMin: number; uacMediaBase: number }, fn: (lab: RunningLab) => Promise<void>): Promise<void> {
  const uasPort = await freePort();
  const uasMedia = await freePort();
  const config: Partial<LabConfig> = { route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], rtp: { host: '127.0.0.1', min: o.rtpMin, max: o.rtpMin + 999 }, record: o.dir, forward: o.forward };
  await withLab(config, async (lab) => {
    const uas = startSipp({ scenario: 'uas', port: uasPort, extra: ['-rtp_echo', '-mi', '127.0.0.1', '-mp', String(uasMedia)] });
    try {
      await sleep(300);
      // [auto_media_port]: each UAC call sends from and offers its own port, uacMediaBase + 4 (call − 1).
      const r = await runSipp({ scenario: MEDIA_UAC, remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: o.calls, rate: o.rate, timeoutSec: 45, extra: ['-l', String(o.calls), '-mi', '127.0.0.1', '-mp', String(o.uacMediaBase)] });
      assert.equal(r.successful, o.calls, r.stdout.slice(-2000));
    } finally {
      await uas.stop();
    }
    await fn(lab);
  });
}

/**
 * Every call's two streams closed with none lost at the relay (Wireshark's
 * expected − received, as the relay counts it); per call, the packets of its
 * busier stream.
 */
async function assertNoRelayLoss(lab: RunningLab, callIds: string[]): Promise<Map<string, number>> {
  const packets = new Map<string, number>();
  for (const id of callIds) {
    const streams = await until(`the closed streams of ${id}`, () => {
      const s = streamsOf(lab, id);
      return s.length === 2 && s.every((x) => !x.open) && s;
    });
    for (const s of streams) assert.equal(s.lost, 0, `${id} ${s.id}: ${s.lost} of ${s.packets + s.lost} lost at the relay`);
    packets.set(id, Math.max(...streams.map((s) => s.packets)));
  }
  assert.equal(lab.host.snapshot().relay!.packets.sendErrors, 0);
  return packets;
}

/**
 * A consumer that takes one connection every `admitMs` (its TLS handshake
 * starts only then) and reads `readBytes` every `readMs` from each.
 */
async function slowConsumer(pem: { key: Buffer; cert: Buffer }, o: { admitMs: number; readMs: number; readBytes: number }) {
  const secureContext = createSecureContext({ key: pem.key, cert: pem.cert });
  const waiting: Socket[] = [];
  const admitted: TLSSocket[] = [];
  let read = 0;
  const server = createServer({ pauseOnConnect: true }, (raw) => {
    raw.on('error', () => undefined);
    waiting.push(raw);
  });
  const admit = setInterval(() => {
    const raw = waiting.shift();
    if (!raw) return;
    const s = new TLSSocket(raw, { isServer: true, secureContext });
    s.on('error', () => undefined);
    s.once('secure', () => admitted.push(s));
  }, o.admitMs);
  const reader = setInterval(() => {
    for (const s of admitted) read += s.read(o.readBytes)?.length ?? 0;
  }, o.readMs);
  const stop = () => {
    clearInterval(admit);
    clearInterval(reader);
    for (const s of [...waiting, ...admitted]) s.destroy();
  };
  cleanups.push(stop);
  const port = await listen(server);
  return { port, admitted, read: () => read, stop };
}

interface Received {
  header: PcmStreamHeader;
  pcm: number[];
  bytes: number;
}

/** A consumer that reads everything; per closed connection, its header and PCM. */
async function fastConsumer(pem: { key: Buffer; cert: Buffer }) {
  const closed: Received[] = [];
  const server = createTlsServer({ key: pem.key, cert: pem.cert }, (s) => {
    const chunks: Buffer[] = [];
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('close', () => {
      const all = Buffer.concat(chunks);
      const d = decodePcmHeader(all);
      assert.equal(d.status, 'ok', `a header first: ${JSON.stringify(d)}`);
      if (d.status !== 'ok') return;
      const body = all.subarray(d.length);
      assert.equal(body.length % 2, 0, 'whole samples');
      const pcm = Array.from({ length: body.length / 2 }, (_, k) => body.readInt16LE(2 * k));
      closed.push({ header: d.header, pcm, bytes: all.length });
    });
  });
  const port = await listen(server);
  return { port, closed };
}

test('a slow TLS consumer while 100 calls are relayed and recorded: the relay loses nothing, every WAV is whole, and the forwarding drops are counted in the snapshot and /metrics', { skip }, async () => {
  const pem = certificate();
  const consumer = await slowConsumer(pem, { admitMs: 80, readMs: 500, readBytes: 4096 });
  const dir = join(root, 'slow');
  const forward = forwardFlags(['--forward', `127.0.0.1:${consumer.port}`, '--forward-insecure']);
  await withCalls({ dir, forward, calls: 100, rate: 20, rtpMin: 23000, uacMediaBase: 24000 }, async (lab) => {
    const rec = await until('100 finished recordings', () => {
      const r = lab.host.snapshot().recorder!;
      return r.finished.length === 100 && r;
    }, 15_000);
    const relayed = await assertNoRelayLoss(lab, rec.finished.map((f) => f.callId));

    for (const f of rec.finished) {
      assert.equal(f.error, null, `${f.callId}: ${f.error}`);
      assert.equal(f.drops + f.droppedSamples, 0, `${f.callId}: the recorder lost nothing`);
      // The audio the relay carried (30 ms packets), give or take the silence before the first and the echo's delay.
      const expectedMs = relayed.get(f.callId)! * 30;
      assert.ok(Math.abs(f.durationMs - expectedMs) <= 500, `${f.callId}: ${f.durationMs} ms of WAV for ${expectedMs} ms relayed`);
      assert.equal(Number(soxi('-s', f.wav)) * 4, f.bytes, `${f.callId}: the header declares every sample on disk`);
    }

    const fwd = await until('every forwarding connection closed', () => {
      const f = lab.host.snapshot().recorder!.forwarding!;
      return f.totals.active === 0 && f;
    }, 15_000);
    const t = fwd.totals;
    assert.equal(t.connections, 200, 'one connection per call and leg');
    assert.deepEqual([fwd.target, fwd.tls, fwd.verify], [`127.0.0.1:${consumer.port}`, true, 'none']);
    assert.ok(t.framesDropped > 0, 'legs kept waiting by the consumer dropped their audio');
    assert.ok(t.failureReasons.some((r) => r.reason === 'connect timeout'), JSON.stringify(t.failureReasons));
    assert.ok(t.framesSent > 0 && t.bytesSent > 0, 'the legs it took got their audio');
    assert.equal(t.drops.reduce((n, d) => n + d.frames, 0), t.framesDropped, 'every drop has its reason');
    assert.ok(fwd.connections.some((c) => c.framesDropped > 0 && c.failures > 0 && c.lastError !== null), 'a connection shows its own drops and why');
    assert.ok(consumer.read() > 0);

    const metrics = renderPrometheus(lab.host.snapshot());
    const where = `target="127.0.0.1:${consumer.port}",transport="tls"`;
    const series = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels.replace(/[.]/g, '\\.')}\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    assert.equal(series('callpath_forward_connections_total', where), t.connections);
    assert.equal(series('callpath_forward_bytes_total', where), t.bytesSent);
    assert.equal(series('callpath_forward_connections', `${where},state="open"`), 0);
    const droppedSeries = [...metrics.matchAll(/^callpath_forward_dropped_frames_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(droppedSeries, t.framesDropped);
  });
  consumer.stop();
});

test('a consumer that keeps up: per call and leg the documented header, then exactly the samples of that leg\'s WAV channel (the caller\'s: sox\'s decode of every payload sent)', { skip }, async () => {
  const pem = certificate();
  const consumer = await fastConsumer(pem);
  const dir = join(root, 'fast');
  const forward = forwardFlags(['--forward', `127.0.0.1:${consumer.port}`, '--forward-ca', pem.certFile]);
  await withCalls({ dir, forward, calls: 3, rate: 5, rtpMin: 23000, uacMediaBase: 24000 }, async (lab) => {
    const rec = await until('3 finished recordings', () => {
      const r = lab.host.snapshot().recorder!;
      return r.finished.length === 3 && r;
    }, 15_000);
    await until('6 streams at the consumer', () => consumer.closed.length === 6, 10_000);
    const sent = soxDecode('PCMA', pcapPayloads());
    assert.equal(sent.length, PCAP_SAMPLES);
    const fwd = await until('every forwarding connection closed', () => {
      const f = lab.host.snapshot().recorder!.forwarding!;
      return f.totals.active === 0 && f;
    });
    assert.deepEqual([fwd.tls, fwd.verify, fwd.caFile], [true, 'ca', pem.certFile]);
    assert.deepEqual([fwd.totals.connections, fwd.totals.framesDropped, fwd.totals.failures], [6, 0, 0]);

    for (const f of rec.finished) {
      for (const [leg, channel] of [['caller', 1], ['callee', 2]] as const) {
        const got = consumer.closed.find((r) => r.header.callId === f.callId && r.header.leg === leg);
        assert.ok(got, `${f.callId} ${leg} reached the consumer`);
        assert.deepEqual(
          { ...got.header, startUs: 0 },
          { magic: 'callpath-pcm', version: 1, callId: f.callId, leg, sampleRate: 8000, format: 's16le', channels: 1, startUs: 0, connection: 0, sampleOffset: 0 },
        );
        assert.ok(got.header.startUs >= f.startUs && got.header.startUs <= f.endUs, 'the leg started during the recording');
        // A-law never decodes to 0, so the leg's audio is the channel between its leading and trailing silence.
        const wav = soxChannel(f.wav, channel);
        const at = wav.findIndex((v) => v !== 0);
        assert.ok(got.pcm.length > 0 && got.pcm.length % 240 === 0, `${f.callId} ${leg}: whole 30 ms packets, ${got.pcm.length} samples`);
        assert.deepEqual(wav.slice(at, at + got.pcm.length), got.pcm, `${f.callId} ${leg}: the WAV channel's samples, in order`);
        assert.ok(wav.slice(at + got.pcm.length).every((v) => v === 0), `${f.callId} ${leg}: and nothing of the leg after them`);
        if (leg === 'caller') {
          // A run of whole packets of the pcap, in order, none missing inside it. A packet or two at an edge may be missing
          // from the WAV and the stream alike: they crossed the relay before the recording started tapping the call.
          const missed = (sent.length - got.pcm.length) / 240;
          assert.ok(missed >= 0 && missed <= 3, `${f.callId}: ${missed} packets of 236 not recorded`);
          const k = [...Array(missed + 1).keys()].find((i) => got.pcm.every((v, j) => v === sent[i * 240 + j]));
          assert.ok(k !== undefined, `${f.callId}: the forwarded caller audio is sox's decode of consecutive pcap payloads (${missed} missing at the edges)`);
        }
        const c = fwd.connections.find((x) => x.callId === f.callId && x.leg === leg)!;
        assert.deepEqual([c.state, c.closeReason, c.framesDropped, c.bytesSent], ['closed', 'ended', 0, got.bytes], `${f.callId} ${leg}: figures`);
        assert.ok(c.connectUs !== null && c.firstByteUs !== null && c.closeUs !== null && c.startUs <= c.connectUs && c.connectUs <= c.firstByteUs && c.firstByteUs <= c.closeUs);
      }
    }
  });
});
