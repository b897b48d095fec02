/**
 * The built-in traffic's spec (engine/traffic/spec.ts): the one string the
 * flag, the config file and the settings dialog share, refused with a line
 * that names the key; the call mix it draws from; and the G.711 it sends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TRAFFIC, formatTrafficSpec, parseTrafficSpec, scriptFor } from '../../engine/traffic/spec';
import { RtpSender, toneFrames } from '../../engine/traffic/signal';
import { PCMU_TO_LINEAR } from '../../engine/record/g711';
import { parseLabArgs } from '../../app/config';

test('a spec reads key=value pairs over the defaults and writes back what it reads', () => {
  const r = parseTrafficSpec('cps=20 hold=1.5, busy=30 loss=5');
  assert.ok(r.ok);
  assert.deepEqual(r.spec, { ...DEFAULT_TRAFFIC, cps: 20, holdS: 1.5, busyPct: 30, lossPct: 5 });
  assert.deepEqual(parseTrafficSpec(formatTrafficSpec(r.spec)), { ok: true, spec: r.spec });
});

test('rtp=0 is a signalling-only load: read and written back; the text always says rtp, so it reads back the same over any base', () => {
  const r = parseTrafficSpec('cps=100 hold=1 rtp=0');
  assert.ok(r.ok);
  assert.equal(r.spec.rtp, 0);
  assert.match(formatTrafficSpec(r.spec), / rtp=0$/);
  assert.deepEqual(parseTrafficSpec(formatTrafficSpec(r.spec)), { ok: true, spec: r.spec });
  // The settings read a spec over the current one (keys left out keep their values): an incident that set rtp=0 restores the text it saw.
  assert.deepEqual(parseTrafficSpec(formatTrafficSpec(DEFAULT_TRAFFIC), r.spec), { ok: true, spec: DEFAULT_TRAFFIC });
  const bad = parseTrafficSpec('rtp=2');
  assert.ok(!bad.ok && /rtp must be a whole number from 0 to 1/.test(bad.error));
});

test('a bad spec is refused with the key and its range', () => {
  const bad = (t: string) => {
    const r = parseTrafficSpec(t);
    assert.ok(!r.ok, t);
    return r.error;
  };
  assert.match(bad('rate=5'), /unknown "rate"; one of cps, hold/);
  assert.match(bad('cps=0'), /cps must be a number from 0.1 to 2000/);
  assert.match(bad('max=1.5'), /max must be a whole number/);
  assert.match(bad('loss=60'), /loss must be a number from 0 to 50/);
  assert.match(bad('busy=60 cancel=50'), /busy \+ noanswer \+ cancel is 115 %/);
  assert.match(bad('cps'), /cps must be/);
});

test('the mix: busy, then no answer, then cancel, the rest answered', () => {
  const s = { ...DEFAULT_TRAFFIC, busyPct: 10, noAnswerPct: 20, cancelPct: 30 };
  assert.deepEqual([0, 0.099, 0.1, 0.299, 0.3, 0.599, 0.6, 0.999].map((u) => scriptFor(s, u)), ['busy', 'busy', 'noanswer', 'noanswer', 'cancel', 'cancel', 'answer', 'answer']);
});

test('the flags: --traffic sets the spec, --demo starts it with the lab, a bad spec is a flag error', () => {
  const r = parseLabArgs(['--traffic', 'cps=50 loss=2', '--demo'], {}, () => '');
  assert.ok(r.ok);
  assert.deepEqual([r.config.traffic.cps, r.config.traffic.lossPct, r.config.demo], [50, 2, true]);
  const bad = parseLabArgs(['--traffic', 'cps=-1'], {}, () => '');
  assert.ok(!bad.ok);
  assert.match(bad.error, /^--traffic: cps must be/);
});

test('the audio: 20 ms RTP packets of PCMU with a sequence and timestamp that advance by 1 and 160, the marker on the first', () => {
  let x = 0.5;
  const sender = new RtpSender(0x11223344, toneFrames(440), () => (x = (x * 7.3) % 1));
  const a = Buffer.alloc(172);
  const b = Buffer.alloc(172);
  assert.equal(sender.next(a), 172);
  sender.next(b);
  assert.deepEqual([a[0], a[1], b[1]], [0x80, 0x80, 0x00], 'version 2, PCMU, marker on the first packet only');
  assert.equal((b.readUInt16BE(2) - a.readUInt16BE(2) + 0x10000) % 0x10000, 1);
  assert.equal((b.readUInt32BE(4) - a.readUInt32BE(4)) >>> 0, 160);
  assert.equal(a.readUInt32BE(8), 0x11223344);
  const samples = [...a.subarray(12)].map((c) => PCMU_TO_LINEAR[c]!);
  assert.ok(Math.max(...samples) > 3000, 'a tone, not silence');
});
