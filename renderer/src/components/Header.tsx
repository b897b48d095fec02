import { useShallow } from 'zustand/react/shallow';
import { useConnection } from '../store/connection';
import { useSettings } from '../store/settings';
import { useSnapshot } from '../store/snapshot';
import { useUi } from '../store/ui';
import { storeLine, storeTitle } from '../calls/counts';
import { rate, usToMs } from '../format';
import { tryingFigure, wireCounter } from '../wire';
import type { Snapshot } from '../../../app/contract';

export function Header() {
  return (
    <header className="header">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          ⇄
        </span>
        callpath
      </div>
      <ConnectionIndicator />
      <Counters />
      <div className="header-spacer" />
      <SettingsButton />
      <ThemeToggle />
    </header>
  );
}

function ConnectionIndicator() {
  const { status, host, lostAtMs, lastError } = useConnection(
    useShallow((s) => ({ status: s.status, host: s.host, lostAtMs: s.lostAtMs, lastError: s.lastError })),
  );
  const text = status === 'connected' ? 'live' : status === 'connecting' ? 'connecting…' : 'reconnecting…';
  const title = [
    host ? `host: ${host}` : null,
    lostAtMs ? `connection lost at ${new Date(lostAtMs).toLocaleTimeString()}` : null,
    lastError ? `last error: ${lastError}` : null,
    status !== 'connected' && host === 'lab' ? 'Waiting for the lab server. If this lasts, open the URL the lab printed (with ?token=…).' : null,
  ]
    .filter(Boolean)
    .join('\n');
  return (
    <div className={`conn conn-${status}`} data-testid="connection" data-status={status} title={title || undefined}>
      <span className="conn-dot" aria-hidden="true" />
      {text}
    </div>
  );
}

function Counters() {
  const c = useSnapshot(
    useShallow((s) => {
      const snap = s.snapshot;
      if (!snap) return null;
      const sip = snap.sip;
      return {
        // The proxy's figures are absent (null) while it is not built or switched off.
        sip: sip !== null,
        cps: sip?.callsPerSecond ?? 0,
        active: sip?.activeCalls ?? 0,
        retrans: sip?.retransmissionsPerSecond ?? 0,
        // Primitives only: useShallow compares one level, and a fresh object per call would re-render forever.
        ...tryingFields(snap),
        ...wireFields(snap),
        eld99: sip?.loopDelay.p99 ?? 0,
        hostEld99: snap.eventLoopDelay.p99,
        drops: snap.drops,
      };
    }),
  );
  if (!c) return <div className="counters muted">waiting for the engine…</div>;
  const dropTotal = c.drops.reduce((n, d) => n + d.count, 0);
  const dropTitle =
    c.drops.length === 0 ? 'No drops counted' : c.drops.map((d) => `${d.where} / ${d.reason}: ${d.count}`).join('\n');
  const none = 'The SIP proxy reports no figures while it is not running';
  return (
    <div className="counters">
      <Counter label="calls/s" value={c.sip ? rate(c.cps) : '—'} testId="counter-cps" title={c.sip ? undefined : none} />
      <Counter label="active" value={c.sip ? String(c.active) : '—'} testId="counter-active" title={c.sip ? 'Calls in progress in the SIP proxy' : none} />
      <Counter label="retrans/s" value={c.sip ? rate(c.retrans) : '—'} warn={c.retrans > 0} testId="counter-retrans" title={c.sip ? undefined : none} />
      <Counter
        label={`100 Trying p99 · ${c.tryingSide}`}
        value={c.tryingCount > 0 ? `${usToMs(c.trying99, 3)} ms` : '—'}
        testId="counter-trying"
        title={c.tryingTitle ?? none}
      />
      <Counter label="wire gap p99" value={c.wireValue} warn={c.wireWarn} title={c.wireTitle} testId="counter-wire" />
      <Counter
        label="loop delay p99"
        value={c.sip ? `${usToMs(c.eld99, 1)} ms` : '—'}
        testId="counter-eld"
        title={`Event-loop delay p99 of the SIP thread${c.sip ? '' : ' (not running)'} (the host thread: ${usToMs(c.hostEld99, 1)} ms)`}
      />
      <Counter label="drops" value={String(dropTotal)} warn={dropTotal > 0} title={dropTitle} testId="counter-drops" />
      <StoreCounter />
    </div>
  );
}

function tryingFields(snap: Snapshot) {
  const f = tryingFigure(snap);
  return { tryingSide: f?.side ?? 'engine', trying99: f?.summary.p99 ?? 0, tryingCount: f?.summary.count ?? 0, tryingTitle: f?.title ?? null };
}

function wireFields(snap: Snapshot) {
  const w = wireCounter(snap);
  return { wireValue: w.value, wireTitle: w.title, wireWarn: w.warn };
}

/** What the engine's call store holds and let go: "2,000 active of 10,000 stored · 120 MB / 512 MB · 3,400 evicted (bytes 3,000, idle 400)". */
function StoreCounter() {
  const line = useSnapshot((s) => (s.snapshot ? storeLine(s.snapshot.calls) : null));
  const title = useSnapshot((s) => (s.snapshot ? storeTitle(s.snapshot.calls) : ''));
  const evicted = useSnapshot((s) => s.snapshot?.calls.evicted ?? 0);
  if (line === null) return null;
  return (
    <div className={evicted > 0 ? 'counter counter-store counter-warn' : 'counter counter-store'} title={title} data-testid="counter-store" data-evicted={evicted}>
      <span className="counter-value ellipsis">{line}</span>
      <span className="counter-label">call store</span>
    </div>
  );
}

function Counter(props: { label: string; value: string; warn?: boolean; title?: string; testId: string }) {
  return (
    <div className={props.warn ? 'counter counter-warn' : 'counter'} title={props.title} data-testid={props.testId}>
      <span className="counter-value">{props.value}</span>
      <span className="counter-label">{props.label}</span>
    </div>
  );
}

function SettingsButton() {
  const show = useSettings((s) => s.show);
  return (
    <button type="button" className="btn btn-ghost" onClick={show} data-testid="open-settings" title="Lab settings: SIP, route, timers, RTP, Redis… (,)">
      ⚙ Settings
    </button>
  );
}

function ThemeToggle() {
  const theme = useUi((s) => s.theme);
  const toggle = useUi((s) => s.toggleTheme);
  return (
    <button type="button" className="btn btn-ghost" onClick={toggle} data-testid="theme-toggle" title="Switch theme">
      {theme === 'dark' ? '☀ light' : '☾ dark'}
    </button>
  );
}
