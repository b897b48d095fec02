import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useApi } from '../api';
import { FORMAT_KEYS, chooserKey } from '../files/logic';
import { useFiles } from '../store/files';

const FORMAT_HINT: Record<string, string> = {
  pcap: 'libpcap for Wireshark',
  txt: 'text ladder and messages',
  svg: 'ladder drawing',
  png: 'ladder image',
  mmd: 'Mermaid sequence diagram',
  md: 'Mermaid diagrams in Markdown',
  json: 'capture model',
};

/** The small format menu `e` (one call) and "Export N calls…" open. */
export function ExportChooser() {
  const chooser = useFiles((s) => s.chooser);
  if (chooser === null) return null;
  return <ChooserCard key={chooser.target.kind === 'keys' ? chooser.target.keys.join('\n') : `query ${chooser.target.count}`} />;
}

function ChooserCard() {
  const api = useApi();
  const chooser = useFiles((s) => s.chooser)!;
  const close = useFiles((s) => s.closeChooser);
  const runExport = useFiles((s) => s.runExport);
  const [current, setCurrent] = useState(0);
  const listRef = useRef<HTMLUListElement>(null);
  useEffect(() => {
    listRef.current?.focus();
  }, []);
  const pick = (i: number) => {
    const format = chooser.formats[i];
    if (format) void runExport(api, format);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    // The chooser owns the keyboard while open: nothing reaches the console shortcuts.
    e.stopPropagation();
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const step = chooserKey(chooser.formats, current, e.key);
    if (step === null) return;
    e.preventDefault();
    if (step.kind === 'close') close();
    else if (step.kind === 'move') setCurrent(step.index);
    else pick(step.index);
  };
  return (
    <div className="overlay" data-testid="export-chooser" onClick={close}>
      <div className="overlay-card export-card" role="dialog" aria-modal="true" aria-label="Export format" onClick={(e) => e.stopPropagation()} onKeyDown={onKeyDown}>
        <div className="overlay-title">
          <span className="ellipsis">Export {chooser.subject}</span>
          <span className="header-spacer" />
          <button type="button" className="btn btn-ghost" onClick={close} title="Close (Esc)">
            ✕
          </button>
        </div>
        <ul
          ref={listRef}
          className="export-formats"
          role="listbox"
          tabIndex={0}
          aria-label="Formats"
          aria-activedescendant={`export-format-${chooser.formats[current] ?? ''}`}
        >
          {chooser.formats.map((f, i) => (
            <li
              key={f}
              id={`export-format-${f}`}
              role="option"
              data-testid="export-format"
              data-format={f}
              aria-selected={i === current}
              className={i === current ? 'export-format current' : 'export-format'}
              onMouseEnter={() => setCurrent(i)}
              onClick={() => pick(i)}
            >
              <kbd data-testid="export-format-key">{FORMAT_KEYS[f]}</kbd> <b className="mono">{f}</b> <span className="muted">{FORMAT_HINT[f] ?? ''}</span>
            </li>
          ))}
        </ul>
        <p className="muted small-print">↑/↓ and Enter, or a format's key; Esc closes.</p>
      </div>
    </div>
  );
}
