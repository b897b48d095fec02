/**
 * The performance smoke test (#16): a few seconds of the built-in traffic
 * through the proxy and the relay, with thresholds generous enough that only
 * a collapse fails them (the real measurements, side by side with Kamailio
 * and rtpengine, are `npm run bench`). It prints its figures as one JSON
 * line (a test diagnostic), so a CI log shows how far from the thresholds a
 * run was. No reference tools: this guards against our own regressions.
 *
 * Thresholds, each about 10× what this box gives on a quiet run:
 * - 100 Trying p99 (engine) under 200 ms — the story's incident check;
 * - no call failed, and at least 90 % of the calls due were placed (the
 *   generator kept up) and answered;
 * - RTP: at least 98 % of what the endpoints sent came back through the relay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ComponentStatus } from '../../app/contract';
import { withLab } from '../helpers/lab';

const CPS = 50;
const SECONDS = 4;

test(`perf smoke: ${CPS} calls/s for ${SECONDS} s of built-in traffic through the proxy and the relay stay far from collapse`, async (t) => {
  await withLab({}, async (lab) => {
    assert.ok((await lab.host.applySettings({ traffic: `cps=${CPS} hold=1 answer=0.05 busy=0 noanswer=0 cancel=0 loss=0 max=1000` })).ok);
    const started = (await lab.host.invoke({ cmd: 'setComponent', name: 'traffic', action: 'start' })) as ComponentStatus;
    assert.equal(started.state, 'running', started.error ?? '');
    await new Promise((r) => setTimeout(r, SECONDS * 1000 + 2_500)); // the last calls' hold and BYE, and a stats report
    const traffic = lab.host.snapshot().traffic!;
    await lab.host.invoke({ cmd: 'setComponent', name: 'traffic', action: 'stop' });
    await lab.settle();
    const snap = lab.host.snapshot();
    const trying = snap.sip!.trying100;
    const figures = {
      placed: traffic.calls.placed,
      completed: traffic.calls.completed,
      failed: traffic.calls.failed,
      t100_p99_ms: trying.p99 / 1000,
      setup_p99_ms: traffic.setupMs.p99,
      rtp_back_share: traffic.rtp.sent > 0 ? Math.round((traffic.rtp.received / traffic.rtp.sent) * 1000) / 1000 : null,
      generator_busy_pct: traffic.generator.busyPct,
      sip_worker_loop_p99_ms: snap.sip!.loopDelay.p99 / 1000,
    };
    t.diagnostic(JSON.stringify({ smoke: 'perf', cps: CPS, seconds: SECONDS, ...figures }));
    assert.equal(traffic.calls.failed, 0, JSON.stringify(traffic.failures));
    assert.ok(traffic.calls.placed >= CPS * SECONDS * 0.9, `placed ${traffic.calls.placed} of ${CPS * SECONDS} due`);
    assert.ok(traffic.calls.answered >= traffic.calls.placed * 0.9, `answered ${traffic.calls.answered} of ${traffic.calls.placed}`);
    assert.ok(trying.count > 0 && trying.p99 < 200_000, `100 Trying p99 ${trying.p99 / 1000} ms (engine)`);
    assert.ok(figures.rtp_back_share !== null && figures.rtp_back_share >= 0.98, `RTP back through the relay: ${figures.rtp_back_share}`);
  });
});
