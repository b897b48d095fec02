import { useCallback, useMemo } from 'react';
import type { CallDetail } from '../../../app/contract';
import { LadderBody, LadderHeader } from '../ladder/LadderSvg';
import { MessageView } from '../ladder/MessageView';
import { buildLadder, formatRelMs } from '../ladder/model';
import { useCallDetail } from '../ladder/useCallDetail';
import { usToMs } from '../format';
import { useUi } from '../store/ui';

export function LadderPanel() {
  const callId = useUi((s) => s.selectedCallId);
  return (
    <section className="panel ladder-panel" aria-label="Ladder">
      {callId === null ? (
        <div className="empty" data-testid="ladder-empty">
          <p>No call selected.</p>
          <p>Pick a call on the left to see its message ladder; click an arrow to read the message.</p>
        </div>
      ) : (
        <CallLadder key={callId} callId={callId} />
      )}
    </section>
  );
}

function CallLadder({ callId }: { callId: string }) {
  const { detail, error } = useCallDetail(callId);
  if (detail === undefined) {
    return <div className="empty">{error ? <span className="error">{error}</span> : 'Loading call…'}</div>;
  }
  if (detail === null) {
    return (
      <div className="empty">
        <p>The engine no longer holds call {callId}</p>
        <p className="muted">(evicted from its bounded call store).</p>
        {error ? <p className="error">{error}</p> : null}
      </div>
    );
  }
  return <LadderView detail={detail} error={error} />;
}

function LadderView({ detail, error }: { detail: CallDetail; error: string | null }) {
  const selected = useUi((s) => s.selectedMessage);
  const selectMessage = useUi((s) => s.selectMessage);
  const model = useMemo(() => buildLadder(detail.messages), [detail.messages]);
  const titles = useMemo(
    () =>
      new Map(
        detail.messages.map((m) => [
          m.index,
          `${m.label}${m.retransmission ? ' (retransmission)' : ''}\n${m.src} → ${m.dst} ${m.transport.toUpperCase()} ${m.size} B\nCSeq ${m.cseq}${m.branch ? `\nbranch ${m.branch}` : ''}`,
        ]),
      ),
    [detail.messages],
  );
  const onSelect = useCallback((i: number) => selectMessage(i), [selectMessage]);
  const onClose = useCallback(() => selectMessage(null), [selectMessage]);
  const message = selected === null ? undefined : detail.messages.find((m) => m.index === selected);

  return (
    <div className="ladder-layout">
      <CallHeader detail={detail} />
      {error ? <div className="error banner">refresh failed: {error}</div> : null}
      {model.arrows.length === 0 ? (
        <div className="empty">No messages captured for this call.</div>
      ) : (
        <div className="ladder-scroll">
          <div className="ladder-sticky">
            <LadderHeader model={model} />
          </div>
          <LadderBody model={model} selected={selected} titles={titles} onSelect={onSelect} />
        </div>
      )}
      {message && model.startUs !== null ? (
        <MessageView message={message} startUs={model.startUs} onClose={onClose} />
      ) : (
        <div className="message-hint muted">Click an arrow to read the message.</div>
      )}
    </div>
  );
}

function CallHeader({ detail }: { detail: CallDetail }) {
  const t = detail.timings;
  const kinds = Object.entries(detail.retransmissionsByKind).filter(([, n]) => n > 0);
  const duration = (detail.endedUs ?? detail.updatedUs) - detail.startedUs;
  return (
    <div className="call-header">
      <div className="call-header-main">
        <span className="mono call-id" title={detail.callId}>
          {detail.callId}
        </span>
        <span className={`state-pill state-${detail.state}`}>
          {detail.state}
          {detail.finalStatus !== null ? ` ${detail.finalStatus}` : ''}
        </span>
        <span className="ellipsis muted" title={`${detail.from} → ${detail.to}`}>
          {detail.from} → {detail.to}
        </span>
      </div>
      <div className="call-header-facts">
        <Fact label="100 Trying" value={t.trying100Us} />
        <Fact label="forwarded" value={t.forwardedUs} />
        <Fact label="ringing" value={t.ringingUs} />
        <Fact label="answered" value={t.answeredUs} />
        <span>
          span <b className="mono">{formatRelMs(duration)}</b>
        </span>
        <span>
          msgs <b className="mono">{detail.messageCount}</b>
        </span>
        <span className={detail.retransmissions > 0 ? 'warn' : undefined} title={kinds.map(([k, n]) => `${k}: ${n}`).join('\n') || undefined}>
          retrans <b className="mono">{detail.retransmissions}</b>
          {kinds.length > 0 ? ` (${kinds.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}
        </span>
        {detail.messagesDropped > 0 ? (
          <span className="warn" title="Messages not kept for this call (per-call capture bound)">
            dropped <b className="mono">{detail.messagesDropped}</b>
          </span>
        ) : null}
      </div>
    </div>
  );
}

function Fact({ label, value }: { label: string; value: number | null }) {
  return (
    <span>
      {label} <b className="mono">{value === null ? '—' : `${usToMs(value, 3)} ms`}</b>
    </span>
  );
}
