import { create } from 'zustand';
import { nextTimeMode, type TimeMode } from '../ladder/time';

export type Theme = 'dark' | 'light';
const THEME_KEY = 'callpath.theme';

function initialTheme(): Theme {
  try {
    return localStorage.getItem(THEME_KEY) === 'light' ? 'light' : 'dark';
  } catch {
    return 'dark';
  }
}

interface UiSlice {
  /** `CallSummary.key` of the selected call (not its Call-ID: a live and an imported call may share one). */
  selectedKey: string | null;
  /** `SipEntry.index` of the selected ladder arrow (the keyboard cursor). */
  selectedMessage: number | null;
  /** Whether the message view shows the selected message. */
  messageOpen: boolean;
  timeMode: TimeMode;
  /** Message marked with `d` as the first side of a comparison, waiting for the second. */
  diffBase: number | null;
  /** The two messages (first, second) the diff view compares, or null. */
  diff: { a: number; b: number } | null;
  helpOpen: boolean;
  theme: Theme;
  selectCall(key: string | null): void;
  /** Selects a message and opens it (a click); null closes. */
  selectMessage(index: number | null): void;
  /** Moves the selection (keyboard); an open message view follows it. */
  moveSelection(index: number | null): void;
  openMessage(): void;
  closeMessage(): void;
  cycleTimeMode(): void;
  /**
   * `d`: the first press marks the selected message as the comparison's first
   * side, a press on another message opens the diff of the two, a press on the
   * marked one unmarks it.
   */
  markCompare(): void;
  /** Shift-click: diff the selected message against this one (and select it). */
  compareWith(index: number): void;
  closeDiff(): void;
  setHelp(open: boolean): void;
  toggleTheme(): void;
}

export const useUi = create<UiSlice>()((set, get) => ({
  selectedKey: null,
  selectedMessage: null,
  messageOpen: false,
  timeMode: 'relative',
  diffBase: null,
  diff: null,
  helpOpen: false,
  theme: initialTheme(),
  selectCall(key) {
    if (get().selectedKey !== key) set({ selectedKey: key, selectedMessage: null, messageOpen: false, diffBase: null, diff: null });
  },
  selectMessage(index) {
    set({ selectedMessage: index, messageOpen: index !== null });
  },
  moveSelection(index) {
    set({ selectedMessage: index, messageOpen: get().messageOpen && index !== null });
  },
  openMessage() {
    if (get().selectedMessage !== null) set({ messageOpen: true });
  },
  closeMessage() {
    set({ messageOpen: false });
  },
  cycleTimeMode() {
    set({ timeMode: nextTimeMode(get().timeMode) });
  },
  markCompare() {
    const { selectedMessage: sel, diffBase } = get();
    if (sel === null) return;
    if (diffBase === null) set({ diffBase: sel });
    else if (diffBase === sel) set({ diffBase: null });
    else set({ diff: { a: diffBase, b: sel }, diffBase: null });
  },
  compareWith(index) {
    const sel = get().selectedMessage;
    if (sel === null || sel === index) set({ selectedMessage: index, messageOpen: true });
    else set({ diff: { a: sel, b: index }, diffBase: null, selectedMessage: index });
  },
  closeDiff() {
    set({ diff: null });
  },
  setHelp(open) {
    set({ helpOpen: open });
  },
  toggleTheme() {
    const theme: Theme = get().theme === 'dark' ? 'light' : 'dark';
    try {
      localStorage.setItem(THEME_KEY, theme);
    } catch {
      // Storage may be unavailable (private window); the toggle still works for this session.
    }
    set({ theme });
  },
}));
