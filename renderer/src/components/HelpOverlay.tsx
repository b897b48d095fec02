import { useEffect, useRef } from 'react';
import { KEY_HELP } from '../keys';
import { useUi } from '../store/ui';

export function HelpOverlay() {
  const open = useUi((s) => s.helpOpen);
  const setHelp = useUi((s) => s.setHelp);
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (open) closeRef.current?.focus();
  }, [open]);
  if (!open) return null;
  return (
    <div className="overlay" data-testid="help-overlay" onClick={() => setHelp(false)}>
      <div className="overlay-card" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" onClick={(e) => e.stopPropagation()}>
        <div className="overlay-title">
          Keyboard
          <span className="header-spacer" />
          <button ref={closeRef} type="button" className="btn btn-ghost" onClick={() => setHelp(false)} title="Close (Esc)">
            ✕
          </button>
        </div>
        <table className="keys-table">
          <tbody>
            {KEY_HELP.map((k) => (
              <tr key={k.keys}>
                <td>
                  <kbd>{k.keys}</kbd>
                </td>
                <td>{k.action}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted">Keys are ignored while typing in a field.</p>
      </div>
    </div>
  );
}
