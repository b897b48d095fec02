import { memo, useMemo } from 'react';
import type { LadderEntry, SipEntry } from '../../../app/contract';
import { formatRelMs } from '../../../app/ladder';
import { tokenizeSip, type HeaderLine, type StartLine, type TokenizedSip } from './sipText';
import { wireBadge } from '../wire';

/** The selected ladder entry: a SIP message's text, or another lane's fields. */
export function MessageView({ message, startUs, onClose }: { message: LadderEntry; startUs: number; onClose: () => void }) {
  return message.lane === 'sip' ? <SipMessageView message={message} startUs={startUs} onClose={onClose} /> : <EntryView entry={message} startUs={startUs} onClose={onClose} />;
}

/** Fields every entry has, shown in the meta line rather than the table. */
const COMMON = new Set(['index', 'lane', 'tsUs', 'src', 'dst', 'label']);

/** The value of one field as text ("—" for none). */
export function fieldText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function EntryView({ entry, startUs, onClose }: { entry: Exclude<LadderEntry, SipEntry>; startUs: number; onClose: () => void }) {
  const fields = Object.entries(entry).filter(([k]) => !COMMON.has(k));
  return (
    <section className="message-view" data-testid="message-view" data-index={entry.index} data-lane={entry.lane} aria-label="Entry">
      <div className="message-meta">
        <strong>{entry.label}</strong>
        <span className="mono">
          {entry.src} → {entry.dst}
        </span>
        <span>{entry.lane}</span>
        <span className="mono">+{formatRelMs(entry.tsUs - startUs)}</span>
        <span className="header-spacer" />
        <button type="button" className="btn btn-ghost" onClick={onClose} title="Close">
          ✕
        </button>
      </div>
      <div className="message-text">
        <table className="entry-fields" data-testid="entry-fields">
          <tbody>
            {fields.map(([k, v]) => (
              <tr key={k} data-field={k}>
                <th>{k}</th>
                <td className="mono">{fieldText(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function SipMessageView({ message, startUs, onClose }: { message: SipEntry; startUs: number; onClose: () => void }) {
  const tokens = useMemo(() => tokenizeSip(message.text), [message.text]);
  return (
    <section className="message-view" data-testid="message-view" data-index={message.index} aria-label="Message">
      <div className="message-meta">
        <strong>{message.label}</strong>
        <span className="mono">
          {message.src} → {message.dst}
        </span>
        <span>{message.transport.toUpperCase()}</span>
        <span>{message.direction === 'in' ? 'received' : 'sent'}</span>
        <span>{message.size} B</span>
        <span className="mono">+{formatRelMs(message.tsUs - startUs)}</span>
        <span className="mono">CSeq {message.cseq}</span>
        {message.retransmission ? <span className="badge-warn">retransmission</span> : null}
        <WireTime message={message} />
        <span className="header-spacer" />
        <span className="muted">
          <kbd>d</kbd> compare
        </span>
        <button type="button" className="btn btn-ghost" onClick={onClose} title="Close">
          ✕
        </button>
      </div>
      <SipText tokens={tokens} />
    </section>
  );
}

/** With the wire tap on: the gap between the wire's time (shown) and the engine's, or who alone saw the message. */
function WireTime({ message }: { message: SipEntry }) {
  const b = wireBadge(message);
  if (!b) return null;
  return (
    <span className={b.warn ? 'badge-warn' : 'mono'} title={b.title} data-testid="message-wire">
      {b.text}
    </span>
  );
}

/** The message with its start line, header names/values and SDP body highlighted. */
const SipText = memo(function SipText({ tokens }: { tokens: TokenizedSip }) {
  return (
    <div className="message-text" data-testid="message-text">
      <pre className="sip-head">
        <Start line={tokens.start} />
        {tokens.headers.map((h, i) => (
          <Header key={i} h={h} />
        ))}
      </pre>
      {tokens.sdp ? (
        <>
          <div className="sip-section-title">SDP</div>
          <pre className="sip-sdp" data-testid="message-sdp">
            {tokens.sdp.map((l, i) =>
              l.type === '' ? (
                <span key={i} className="sdp-line">
                  {l.value}
                  {'\n'}
                </span>
              ) : (
                <span key={i} className={l.key ? `sdp-line sdp-key sdp-${l.type}` : 'sdp-line'} data-sdp-type={l.type}>
                  <span className="sdp-type">{l.type}=</span>
                  {l.value}
                  {'\n'}
                </span>
              ),
            )}
          </pre>
        </>
      ) : tokens.body !== '' ? (
        <>
          <div className="sip-section-title">body</div>
          <pre className="sip-body">{tokens.body}</pre>
        </>
      ) : null}
    </div>
  );
});

function Start({ line }: { line: StartLine }) {
  switch (line.kind) {
    case 'request':
      return (
        <span className="sip-start" data-testid="sip-start">
          <span className="sip-method">{line.method}</span> <span className="sip-uri">{line.uri}</span> <span className="sip-version">{line.version}</span>
          {'\n'}
        </span>
      );
    case 'status':
      return (
        <span className="sip-start" data-testid="sip-start">
          <span className="sip-version">{line.version}</span> <span className={`sip-status sip-status-${line.status[0]}xx`}>{line.status}</span>{' '}
          <span className="sip-reason">{line.reason}</span>
          {'\n'}
        </span>
      );
    case 'other':
      return (
        <span className="sip-start" data-testid="sip-start">
          {line.text}
          {'\n'}
        </span>
      );
  }
}

function Header({ h }: { h: HeaderLine }) {
  if (h.name === '') {
    return (
      <span className={h.key ? 'sip-header sip-key' : 'sip-header'}>
        <span className="hdr-value">{h.value}</span>
        {'\n'}
      </span>
    );
  }
  return (
    <span className={h.key ? 'sip-header sip-key' : 'sip-header'} data-header={h.name.toLowerCase()}>
      <span className="hdr-name">{h.name}</span>
      <span className="hdr-sep">{h.sep}</span>
      <span className="hdr-value">{h.value}</span>
      {'\n'}
    </span>
  );
}
