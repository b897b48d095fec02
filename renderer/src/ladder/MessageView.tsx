import { memo, useMemo } from 'react';
import type { CapturedMessage } from '../../../app/contract';
import { formatRelMs } from './model';
import { tokenizeSip, type HeaderLine, type StartLine, type TokenizedSip } from './sipText';

export function MessageView({ message, startUs, onClose }: { message: CapturedMessage; startUs: number; onClose: () => void }) {
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
