/**
 * RFC 3261 §16 on real sockets: Timer C against a SIPp UAS that rings and
 * never answers, the §16.3 verdicts and the response check as a peer on the
 * network meets them, live timer changes that keep calls in flight, and
 * counters that outlive a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NoteEntry } from '../../app/contract';
import { renderPrometheus } from '../../app/prometheus';
import { sipEntries, withLab } from '../helpers/lab';
import { freePort } from '../helpers/ports';
import { RawUdp, headerLines, sipMessage } from '../helpers/raw-udp';
import { runSipp, startSipp, type SippResult } from '../helpers/sipp';

const FIXTURES = fileURLToPath(new URL('../fixtures/sipp/', import.meta.url));
const scenario = (name: string) => join(FIXTURES, name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hex = (n: number) => randomBytes(n).toString('hex');

function report(r: SippResult): string {
  return `exit ${r.code}: successful ${r.successful}, failed ${r.failed}, unexpected ${r.unexpected} (${r.dir})\n${r.stdout.slice(-1200)}`;
}

function request(method: string, uri: string, ua: RawUdp, callId: string, extra: string[] = []): string {
  return sipMessage([
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${hex(6)};rport`,
    ...(extra.some((l) => l.startsWith('Max-Forwards')) ? [] : ['Max-Forwards: 70']),
    `From: <sip:alice@127.0.0.1:${ua.port}>;tag=${hex(4)}`,
    'To: <sip:bob@example.invalid>',
    `Call-ID: ${callId}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:alice@127.0.0.1:${ua.port}>`,
    ...extra.filter((l) => l.length > 0),
  ]);
}

test(
  'Timer C: a branch that rings and is never answered is CANCELled after Timer C, the caller gets the 487, and the ladder says Timer C fired (RFC 3261 §16.8)',
  { timeout: 90_000 },
  async () => {
    const uasPort = await freePort();
    await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }], timerCS: 2 }, async (lab) => {
      const uas = startSipp({ scenario: scenario('uas-cancel.xml'), port: uasPort, extra: ['-m', '1'] });
      await sleep(400);
      const uac = await runSipp({ scenario: scenario('uac-expect-487.xml'), remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls: 1, timeoutSec: 40 });
      const server = await uas.stop();
      assert.equal(uac.successful, 1, `UAC: ${report(uac)}`);
      assert.equal(server.successful, 1, `UAS: ${report(server)}`);

      await lab.settle();
      const [summary] = lab.host.listCalls(10);
      const call = lab.host.getCall(summary!.key)!;
      const sip = sipEntries(call);
      const ringing = sip.find((e) => e.direction === 'in' && e.label.startsWith('180 '))!;
      const cancel = sip.find((e) => e.direction === 'out' && e.label === 'CANCEL');
      assert.ok(cancel, 'the proxy CANCELled the branch');
      const waitedS = (cancel.tsUs - ringing.tsUs) / 1e6;
      assert.ok(waitedS >= 1.9 && waitedS < 4, `CANCEL ${waitedS.toFixed(2)} s after the 180; Timer C is 2 s`);
      assert.ok(sip.some((e) => e.direction === 'out' && e.label.startsWith('487 ')), 'the 487 went upstream');
      const notes = call.entries.filter((e): e is NoteEntry => e.lane === 'note');
      assert.equal(notes.length, 1, 'one note on the ladder');
      assert.match(notes[0]!.text, /Timer C fired .*CANCEL sent downstream/);
      const snap = lab.host.snapshot();
      assert.equal(snap.sip!.finals['4xx'], 1, 'the 487 counted once among final responses');
    });
  },
);

test(
  '§16.3 over UDP: OPTIONS foo:bar gets 416 and nothing reaches foo:bar; Max-Forwards 0 gets 483; Proxy-Require gets 420; each is counted by status in the snapshot and /metrics',
  { timeout: 60_000 },
  async () => {
    const next = await RawUdp.open(); // the configured target: must receive nothing
    const ua = await RawUdp.open();
    try {
      await withLab({ route: [{ host: '127.0.0.1', port: next.port, transport: 'udp' }] }, async (lab) => {
        const cases: { msg: string; status: number; reason: RegExp; header?: [string, RegExp] }[] = [
          { msg: request('OPTIONS', 'foo:bar', ua, `s416-${hex(4)}`), status: 416, reason: /^Unsupported URI Scheme - foo:$/ },
          { msg: request('INVITE', 'sip:bob@127.0.0.1', ua, `s483-${hex(4)}`, ['Max-Forwards: 0']), status: 483, reason: /^Too Many Hops$/ },
          { msg: request('INVITE', 'sip:bob@127.0.0.1', ua, `s420-${hex(4)}`, ['Proxy-Require: foo, bar']), status: 420, reason: /^Bad Extension$/, header: ['Unsupported', /^Unsupported: foo, bar$/] },
          { msg: request('OPTIONS', 'sip:bob@127.0.0.1', ua, `s200-${hex(4)}`, ['Max-Forwards: 0']), status: 200, reason: /^OK$/, header: ['Allow', /INVITE/] },
        ];
        for (const c of cases) {
          const callId = /Call-ID: (\S+)/.exec(c.msg)![1]!;
          await ua.send(c.msg, lab.sipPort);
          const reply = await ua.waitFor((t) => t.includes(callId) && new RegExp(`^SIP/2\\.0 ${c.status} `).test(t), 5_000, `${c.status} for ${callId}`);
          assert.match(/^SIP\/2\.0 \d{3} ([^\r]*)/.exec(reply)![1]!, c.reason);
          if (c.header) assert.match(headerLines(reply, c.header[0])[0] ?? '', c.header[1]);
        }
        // An ACK for the 416 is absorbed hop by hop (§17.1.1.3): nothing goes to foo:bar or to the target.
        await sleep(300);
        assert.deepEqual(next.inbox, [], 'nothing was forwarded');
        await lab.settle();
        const sip = lab.host.snapshot().sip!;
        for (const s of ['416', '483', '420', '200']) assert.equal(sip.answered[s], 1, `one ${s} generated: ${JSON.stringify(sip.answered)}`);
        const metrics = renderPrometheus(lab.host.snapshot());
        assert.match(metrics, /^callpath_sip_responses_generated_total\{status="416"\} 1$/m);
        assert.match(metrics, /^callpath_sip_final_responses_total\{class="4xx"\} 3$/m);
      });
    } finally {
      await ua.close();
      await next.close();
    }
  },
);

test(
  'a request handed back unchanged is a loop (482); handed back with a new Request-URI it is a spiral and goes on (RFC 3261 §16.3 step 4, §16.6 step 8)',
  { timeout: 30_000 },
  async () => {
    const uas = await RawUdp.open(); // the next hop: it hands what it gets back to the proxy, as a misrouting element would
    const ua = await RawUdp.open();
    try {
      await withLab({}, async (lab) => {
        const self = `127.0.0.1:${lab.sipPort}`;
        const handBack = (forwarded: string, uri?: string) => {
          const withVia = forwarded.replace(/^Via: /m, `Via: SIP/2.0/UDP 127.0.0.1:${uas.port};branch=z9hG4bK-${hex(6)}\r\nVia: `);
          return uri ? withVia.replace(/^OPTIONS \S+ /, `OPTIONS ${uri} `) : withVia;
        };
        const loopId = `loop-${hex(4)}`;
        await ua.send(request('OPTIONS', `sip:bob@127.0.0.1:${uas.port}`, ua, loopId), lab.sipPort);
        const first = await uas.waitFor((t) => t.includes(loopId), 5_000, 'the OPTIONS at the next hop');
        await uas.send(handBack(first), lab.sipPort);
        const verdict = await uas.waitFor((t) => t.includes(loopId) && t.startsWith('SIP/2.0 '), 5_000, 'the answer to the looped request');
        assert.match(verdict, /^SIP\/2\.0 482 Loop Detected/);

        const spiralId = `spiral-${hex(4)}`;
        await ua.send(request('OPTIONS', `sip:bob@127.0.0.1:${uas.port}`, ua, spiralId), lab.sipPort);
        const out = await uas.waitFor((t) => t.includes(spiralId), 5_000, 'the OPTIONS at the next hop');
        await uas.send(handBack(out, `sip:carol@127.0.0.1:${uas.port}`), lab.sipPort);
        const again = await uas.waitFor((t) => t.includes(spiralId) && t.startsWith('OPTIONS sip:carol@'), 5_000, 'the spiralled OPTIONS forwarded again');
        assert.equal(headerLines(again, 'Via').filter((v) => v.includes(self)).length, 2, 'it carries our Via twice: it spiralled through us');
      });
    } finally {
      await ua.close();
      await uas.close();
    }
  },
);

test(
  'a 2xx whose top Via is not ours is discarded and counted, not reflected to the address in the second Via (RFC 3261 §18.1.2)',
  { timeout: 30_000 },
  async () => {
    const victim = await RawUdp.open();
    const attacker = await RawUdp.open();
    try {
      await withLab({}, async (lab) => {
        const callId = `reflect-${hex(4)}`;
        await attacker.send(
          sipMessage([
            'SIP/2.0 200 OK',
            'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-notours',
            `Via: SIP/2.0/UDP 127.0.0.1:${victim.port};branch=z9hG4bK-victim`,
            'From: <sip:a@example.invalid>;tag=1',
            'To: <sip:b@example.invalid>;tag=2',
            `Call-ID: ${callId}`,
            'CSeq: 1 INVITE',
            `X-Padding: ${'x'.repeat(4000)}`,
          ]),
          lab.sipPort,
        );
        await sleep(500);
        assert.deepEqual(victim.inbox, [], 'nothing reflected to the victim');
        await lab.settle();
        const drop = lab.host.snapshot().drops.find((d) => d.where === 'sip.response' && d.reason === 'top-via-not-ours');
        assert.equal(drop?.count, 1, 'counted');
        const call = lab.host.listCalls(10).find((c) => c.callId === callId);
        assert.ok(call, 'the discarded response is in the call list');
        const notes = lab.host.getCall(call.key)!.entries.filter((e): e is NoteEntry => e.lane === 'note');
        assert.match(notes[0]?.text ?? '', /discarded: its top Via .* is not ours/);
      });
    } finally {
      await attacker.close();
      await victim.close();
    }
  },
);

test(
  'a T1 change while calls are ringing applies live: no restart, every call in flight completes, and the counters carry on (RFC 3261 §17)',
  { timeout: 90_000 },
  async () => {
    const uasPort = await freePort();
    await withLab({ route: [{ host: '127.0.0.1', port: uasPort, transport: 'udp' }] }, async (lab) => {
      const calls = 60;
      // uas-slow rings after 1.5 s and answers after 2 s: every call is in flight when T1 changes.
      const uas = startSipp({ scenario: scenario('uas-slow.xml'), port: uasPort, extra: ['-m', String(calls)] });
      await sleep(400);
      const before = lab.host.engine.status('proxy');
      const uacRun = runSipp({ scenario: 'uac', remote: `127.0.0.1:${lab.sipPort}`, port: await freePort(), calls, rate: 30, timeoutSec: 40 });
      await sleep(1200);
      await lab.settle();
      const inBefore = lab.host.snapshot().sip!.messagesIn;
      const result = await lab.host.applySettings({ t1: '250', timerC: '120' });
      assert.ok(result.ok, result.ok ? '' : result.error);
      assert.deepEqual(result.restarted, []);
      assert.deepEqual(result.live, ['t1', 'timerC']);
      const uac = await uacRun;
      const server = await uas.stop();
      assert.equal(uac.successful, calls, `UAC: ${report(uac)}`);
      assert.equal(uac.failed, 0, `UAC: ${report(uac)}`);
      assert.equal(server.successful, calls, `UAS: ${report(server)}`);
      const after = lab.host.engine.status('proxy');
      assert.equal(after.sinceUs, before.sinceUs, 'the proxy was not restarted');
      await lab.settle();
      assert.ok(lab.host.snapshot().sip!.messagesIn > inBefore, 'the counters carried on');
    });
  },
);

test('counters are kept per engine: moving the proxy to a new address restarts it without resetting what it counted', { timeout: 30_000 }, async () => {
  const ua = await RawUdp.open();
  try {
    await withLab({}, async (lab) => {
      await ua.send(request('OPTIONS', 'foo:bar', ua, `count-${hex(4)}`), lab.sipPort);
      await ua.waitFor((t) => t.startsWith('SIP/2.0 416'), 5_000, 'the 416');
      await lab.settle();
      const before = lab.host.snapshot().sip!;
      const result = await lab.host.applySettings({ sip: `127.0.0.1:${await freePort()}` });
      assert.ok(result.ok, result.ok ? '' : result.error);
      assert.deepEqual(result.restarted, ['proxy']);
      const after = lab.host.snapshot().sip!;
      assert.equal(after.messagesIn, before.messagesIn);
      assert.equal(after.answered['416'], 1);
      assert.equal(after.finals['4xx'], before.finals['4xx']);
    });
  } finally {
    await ua.close();
  }
});
