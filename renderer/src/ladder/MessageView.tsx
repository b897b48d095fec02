import type { CapturedMessage } from '../../../app/contract';
import { formatRelMs } from './model';

export function MessageView({ message, startUs, onClose }: { message: CapturedMessage; startUs: number; onClose: () => void }) {
  const text = message.text.replace(/\r\n/g, '\n');
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
        <button type="button" className="btn btn-ghost" onClick={onClose} title="Close">
          ✕
        </button>
      </div>
      <pre className="message-text">{text}</pre>
    </section>
  );
}
