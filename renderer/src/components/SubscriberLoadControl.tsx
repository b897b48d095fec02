import { useState } from 'react';
import { MAX_SUBSCRIBER_LOAD, type SubscriberLoadRequest } from '../../../app/contract';
import { useApi } from '../api';
import { DEFAULT_LOAD_COUNT, loadStatus, parseLoadCount } from '../publish/controls';
import { useConnection } from '../store/connection';
import { describeError } from '../store/live';
import { useSnapshot } from '../store/snapshot';

/** The story's pattern subscribers on the publisher's Redis: how many, which patterns, reading slowly or not; start, replace, stop. */
export function SubscriberLoadControl({ available }: { available: boolean }) {
  const api = useApi();
  const online = useConnection((s) => s.status === 'connected');
  const load = useSnapshot((s) => s.snapshot?.subscriberLoad ?? null);
  const [countText, setCountText] = useState(String(DEFAULT_LOAD_COUNT));
  const [patterns, setPatterns] = useState<SubscriberLoadRequest['patterns']>('same');
  const [slow, setSlow] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const count = parseLoadCount(countText);
  const status = loadStatus(load);

  const send = (request: SubscriberLoadRequest | null) => {
    setBusy(true);
    setError(null);
    api
      .setSubscriberLoad(request)
      .catch((err: unknown) => setError(describeError(err)))
      .finally(() => setBusy(false));
  };

  const disabled = !online || !available || busy;
  return (
    <div className="publish-load" data-testid="subscriber-load">
      <span className="publish-load-name" title="Pattern-subscribed connections on the publisher's Redis, like the story's 640 (8 servers × 8 processes × a pool of 10)">
        subscribers
      </span>
      <input
        data-testid="load-count"
        className={count === null ? 'input input-num invalid' : 'input input-num'}
        aria-label="Pattern-subscriber connections"
        aria-invalid={count === null}
        title={`Connections, 1 to ${MAX_SUBSCRIBER_LOAD}`}
        value={countText}
        onChange={(e) => setCountText(e.target.value)}
      />
      <select
        data-testid="load-patterns"
        className="input"
        aria-label="Patterns"
        title="same: all on call:* (every event is copied to each); distinct: a pattern each that matches nothing (every PUBLISH tries them all)"
        value={patterns}
        onChange={(e) => setPatterns(e.target.value as SubscriberLoadRequest['patterns'])}
      >
        <option value="same">same</option>
        <option value="distinct">distinct</option>
      </select>
      <label className="calls-filter-check" title="Read slowly, so Redis's output buffers for them grow until it drops them">
        <input type="checkbox" data-testid="load-slow" checked={slow} onChange={(e) => setSlow(e.target.checked)} />
        slow
      </label>
      <button type="button" className="btn" data-testid="load-start" disabled={disabled || count === null} onClick={() => count !== null && send({ count, patterns, slow })}>
        {load ? 'replace' : 'start'}
      </button>
      <button type="button" className="btn" data-testid="load-stop" disabled={disabled || load === null} onClick={() => send(null)}>
        stop
      </button>
      <span
        className={`publish-load-status ellipsis${status.tone ? ` ${status.tone}` : ' muted'}`}
        data-testid="load-status"
        data-connected={load?.connected ?? 0}
        title={status.title}
      >
        {busy ? (load ? 'changing…' : 'connecting…') : status.text}
      </span>
      {error ? (
        <span className="error ellipsis" data-testid="load-error" title={error}>
          {error}
        </span>
      ) : null}
    </div>
  );
}
