/**
 * The suspects board's links select the calls that tripped them (#16), on
 * a real lab: incident 3 (a slow PCM consumer, set up through the API)
 * makes the recorder drop frames of every call it forwards; once the
 * application reads at full speed again, new calls lose nothing. The
 * recorder suspect's link, run as a calls query through the contract, must
 * list every call whose forwarding connections dropped frames, with the
 * count its connections give (those dropped as a connection closed
 * included), and none of the calls that lost nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SORT, NO_FILTER, type CallPage, type IncidentStatus, type Snapshot } from '../../app/contract';
import { REPORT_EVERY_US } from '../../engine/record/drop-reports';
import { startLab } from '../helpers/lab';
import { until } from '../helpers/until';

/**
 * The forwarder's figures of every connection, as seen over the run: the
 * snapshot lists the open ones and only the newest 100 closed, so each is
 * kept from the snapshots that showed it (a closed one's figures are final).
 */
class ForwardingTruth {
  private readonly legs = new Map<string, { callId: string; startUs: number; closedAt: number | null; framesDropped: number; closeReason: string | null }>();

  see(s: Snapshot): void {
    for (const c of s.recorder?.forwarding?.connections ?? []) {
      const key = `${c.leg} ${c.callId}`;
      const closedAt = c.state === 'closed' ? (this.legs.get(key)?.closedAt ?? Date.now()) : null;
      this.legs.set(key, { callId: c.callId, startUs: c.startUs, closedAt, framesDropped: c.framesDropped, closeReason: c.closeReason });
    }
  }

  /**
   * Per call whose two legs' connections were both seen closed at least
   * `settledMs` ago (time for the recorder's next report of the call):
   * frames dropped over both, whether a leg dropped some as it closed, and
   * when its first leg's audio began (engine µs).
   */
  closedCalls(settledMs: number): Map<string, { framesDropped: number; droppedAtClose: boolean; reasons: string[]; startUs: number }> {
    const byCall = new Map<string, { legs: number; closed: boolean; framesDropped: number; droppedAtClose: boolean; reasons: string[]; startUs: number }>();
    const before = Date.now() - settledMs;
    for (const l of this.legs.values()) {
      const x = byCall.get(l.callId) ?? { legs: 0, closed: true, framesDropped: 0, droppedAtClose: false, reasons: [], startUs: l.startUs };
      x.legs++;
      x.startUs = Math.min(x.startUs, l.startUs);
      x.closed &&= l.closedAt !== null && l.closedAt <= before;
      x.framesDropped += l.framesDropped;
      // "end timeout after 2000 ms: N PCM bytes not sent", "ended while waiting to reconnect: …": what was queued was dropped then.
      x.droppedAtClose ||= /^(end timeout|ended while)/.test(l.closeReason ?? '');
      x.reasons.push(l.closeReason ?? '');
      byCall.set(l.callId, x);
    }
    return new Map([...byCall].filter(([, x]) => x.legs === 2 && x.closed));
  }
}

test("incident 3's slow PCM consumer: the recorder suspect's link lists exactly the calls whose frames were not forwarded, each with its connections' count, and not the calls that lost nothing", { timeout: 180_000 }, async () => {
  const lab = await startLab({}, { ui: false });
  const forwarding = new ForwardingTruth();
  const watch = setInterval(() => forwarding.see(lab.host.snapshot()), 500);
  try {
    const run = (phase: 'bad' | 'fixed') => lab.host.invoke({ cmd: 'runIncident', id: 'slow-pcm-consumer', phase, quick: true }) as Promise<IncidentStatus>;
    const started = await run('bad');
    assert.equal(started.error, null, started.log.join('\n'));
    const red = await until('the recorder red, linking to its calls', () => {
      const r = lab.host.snapshot().suspects.find((x) => x.id === 'recorder')!;
      return r.state === 'red' && r.calls !== null ? r : null;
    }, 60_000);
    assert.deepEqual(red.calls, { recorderDrops: true });
    assert.match(red.callsMeaning!, /the recorder dropped packets of, or did not forward PCM frames of$/);

    // The link as the board gives it, run as the console runs it: a calls query through the contract.
    const filter = { ...NO_FILTER, ...red.calls };
    let last = '';
    /** Polls until every call seen closed with frames dropped is listed with its connections' count, and `enough` holds. */
    const linkAgrees = (enough: (dropped: string[], clean: string[], truth: ReturnType<ForwardingTruth['closedCalls']>) => boolean) =>
      pollAsync(async () => {
        forwarding.see(lab.host.snapshot());
        // A call's reports come at most every 5 s (REPORT_EVERY_US) from a tick every second: its last is due by then.
        const truth = forwarding.closedCalls(REPORT_EVERY_US / 1000 + 2_000);
        const dropped = [...truth].filter(([, x]) => x.framesDropped > 0).map(([id]) => id);
        const clean = [...truth].filter(([, x]) => x.framesDropped === 0).map(([id]) => id);
        const page = (await lab.host.invoke({ cmd: 'queryCalls', filter, sort: DEFAULT_SORT, offset: 0, limit: 10_000 })) as CallPage;
        const listed = new Map(page.calls.map((c) => [c.callId, c] as const));
        const counts = (id: string) => `${truth.get(id)!.framesDropped}/${listed.get(id)?.recorder?.framesDropped}`;
        last = `dropped ${dropped.length}, clean ${clean.length}, listed ${listed.size}; disagreeing ${dropped.filter((id) => listed.get(id)?.recorder?.framesDropped !== truth.get(id)!.framesDropped).slice(0, 5).map(counts)}`;
        const agree = dropped.every((id) => listed.get(id)?.recorder?.framesDropped === truth.get(id)!.framesDropped);
        return agree && enough(dropped, clean, truth) ? { page, truth, dropped, clean, listed } : null;
      }, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}: ${last}`);
      });

    // While the application is slow: calls whose connections closed with frames still queued (dropped as they closed, after
    // the recording had stopped and between two of the recorder's reports) are listed with every frame counted.
    const bad = await linkAgrees((dropped) => dropped.length >= 3);
    assert.ok(bad.dropped.some((id) => bad.truth.get(id)!.droppedAtClose), `some connection dropped frames as it closed: ${[...bad.truth.values()].map((x) => x.reasons).slice(0, 3)}`);

    await run('fixed');
    const fixedUs = lab.host.snapshot().nowUs;
    await until('every PCM frame reaching the application again', () => (lab.host.snapshot().incident?.verdict === 'pass' ? true : null), 60_000);
    // Calls whose audio began once the application read at full speed again lost nothing.
    const settled = await linkAgrees((dropped, clean, truth) => dropped.length >= 3 && clean.filter((id) => truth.get(id)!.startUs > fixedUs).length >= 3);
    const { page, clean, listed } = settled;
    for (const id of bad.dropped) assert.ok(listed.has(id), `call ${id}, listed while the application was slow, still is`);
    for (const id of clean) assert.equal(listed.has(id), false, `call ${id} forwarded every frame and is not listed`);
    for (const c of page.calls) assert.ok(c.recorder !== null && (c.recorder.framesDropped > 0 || c.recorder.drops > 0), `a listed call lost something: ${JSON.stringify(c.recorder)}`);
    const noFilter = (await lab.host.invoke({ cmd: 'queryCalls', filter: NO_FILTER, sort: DEFAULT_SORT, offset: 0, limit: 10_000 })) as CallPage;
    assert.ok(noFilter.calls.some((c) => clean.includes(c.callId) && c.recorder !== null), 'the clean calls are in the store, recorded');

    // Each report is on the call's ladder: the record lane's `dropped` entries add up to the call's count.
    const one = page.calls.find((c) => settled.dropped.includes(c.callId))!;
    const detail = lab.host.getCall(one.key)!;
    const reports = detail.entries.filter((e) => e.lane === 'record' && e.phase === 'dropped');
    assert.ok(reports.length >= 1);
    assert.equal(reports.reduce((n, e) => n + (e.lane === 'record' ? e.framesDropped : 0), 0), one.recorder!.framesDropped);
  } finally {
    clearInterval(watch);
    await lab.host.invoke({ cmd: 'stopIncident' }).catch(() => undefined);
    await lab.stop();
  }
});

/** `until` for an async probe. */
async function pollAsync<T>(probe: () => Promise<T | null>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for the link to agree with the forwarder');
    await new Promise((r) => setTimeout(r, 250));
  }
}
