/**
 * Console keyboard shortcuts as data: `keyAction` maps a key press to an
 * action, and is pure so the rules (including "never steal keys from an
 * input") are unit-tested.
 */

export type KeyAction = 'next' | 'prev' | 'nextCall' | 'prevCall' | 'open' | 'focusFilter' | 'cycleTime' | 'compare' | 'help' | 'escape' | 'export' | 'settings' | 'record';

export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  /** The event target is a text input, textarea, select or contenteditable. */
  inEditable: boolean;
}

export const KEY_HELP: readonly { keys: string; action: string }[] = [
  { keys: '↓ / j', action: 'next message' },
  { keys: '↑ / k', action: 'previous message' },
  { keys: '] / J', action: 'next call in the list' },
  { keys: '[ / K', action: 'previous call in the list' },
  { keys: 'Enter', action: 'open the selected message' },
  { keys: '/', action: 'filter calls' },
  { keys: 't', action: 'time: absolute → relative → delta' },
  { keys: 'd', action: 'compare: mark this message, then d on another to diff them (or shift-click)' },
  { keys: 'e', action: 'export the selected call (pick a format: ↑/↓ Enter, or its first letter)' },
  { keys: 'r', action: 'record the selected live call, or stop recording it (the recorder must be running)' },
  { keys: ',', action: 'settings: the lab flags (applied by restarting what they affect)' },
  { keys: '?', action: 'this help' },
  { keys: 'Esc', action: 'close settings / help / diff / message' },
];

export function keyAction(k: KeyPress): KeyAction | null {
  if (k.ctrlKey || k.metaKey || k.altKey) return null;
  if (k.inEditable) return null;
  switch (k.key) {
    case 'ArrowDown':
    case 'j':
      return 'next';
    case 'ArrowUp':
    case 'k':
      return 'prev';
    case ']':
    case 'J':
      return 'nextCall';
    case '[':
    case 'K':
      return 'prevCall';
    case 'Enter':
      return 'open';
    case '/':
      return 'focusFilter';
    case 't':
      return 'cycleTime';
    case 'd':
      return 'compare';
    case 'e':
      return 'export';
    case 'r':
      return 'record';
    case ',':
      return 'settings';
    case '?':
      return 'help';
    case 'Escape':
      return 'escape';
    default:
      return null;
  }
}

export function isEditable(target: EventTarget | null): boolean {
  if (typeof HTMLElement === 'undefined' || !(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color'].includes(type);
}

/**
 * Moves the selection through `order` (ladder rows' message indexes, or the
 * calls list's keys); starts at the first/last when nothing is selected.
 */
export function stepSelection<T>(order: readonly T[], selected: T | null, step: 1 | -1): T | null {
  if (order.length === 0) return null;
  const at = selected === null ? -1 : order.indexOf(selected);
  if (at === -1) return step === 1 ? order[0]! : order[order.length - 1]!;
  return order[Math.min(order.length - 1, Math.max(0, at + step))]!;
}

/**
 * After a mouse click on a button (`detail` > 0; a keyboard "click" has 0)
 * outside a dialog, the button gives its focus back, so Enter and the ladder
 * keys reach the console instead of pressing that button again.
 */
export function blurAfterClick(detail: number, inDialog: boolean): boolean {
  return detail > 0 && !inDialog;
}
