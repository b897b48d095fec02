import { memo, useMemo } from 'react';
import type { SipEntry } from '../../../app/contract';
import { diffLines, diffStats, messageLines } from './diff';
import { formatRelMs } from '../../../app/ladder';

/** Unified line diff of two captured messages: removed lines (first only) and added lines (second only) coloured. */
export const DiffView = memo(function DiffView({ a, b, startUs, onClose }: { a: SipEntry; b: SipEntry; startUs: number; onClose: () => void }) {
  const lines = useMemo(() => diffLines(messageLines(a.text), messageLines(b.text)), [a.text, b.text]);
  const stats = useMemo(() => diffStats(lines), [lines]);
  const side = (m: SipEntry) => `${m.label}${m.retransmission ? ' ⟳' : ''} · ${m.src} → ${m.dst} · +${formatRelMs(m.tsUs - startUs)}`;
  return (
    <section className="message-view diff-view" data-testid="diff-view" data-a={a.index} data-b={b.index} aria-label="Message diff">
      <div className="message-meta">
        <strong>diff</strong>
        <span className="diff-side-del mono" title="first message (removed lines)">
          − {side(a)}
        </span>
        <span className="diff-side-add mono" title="second message (added lines)">
          + {side(b)}
        </span>
        <span className="mono" data-testid="diff-stats">
          <span className="diff-side-add">+{stats.added}</span> <span className="diff-side-del">−{stats.removed}</span>
        </span>
        <span className="header-spacer" />
        <button type="button" className="btn btn-ghost" onClick={onClose} title="Close (Esc)">
          ✕
        </button>
      </div>
      <div className="message-text">
        {stats.added === 0 && stats.removed === 0 ? <div className="muted diff-identical">The two messages are byte-for-byte identical.</div> : null}
        <pre className="diff-lines">
          {lines.map((l, i) => (
            <span key={i} className={`diff-line diff-${l.op}`} data-op={l.op}>
              <span className="diff-num">{l.a ?? ''}</span>
              <span className="diff-num">{l.b ?? ''}</span>
              <span className="diff-sign">{l.op === 'add' ? '+' : l.op === 'del' ? '−' : ' '}</span>
              {l.text}
            </span>
          ))}
        </pre>
      </div>
    </section>
  );
});
