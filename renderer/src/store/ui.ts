import { create } from 'zustand';

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
  selectedCallId: string | null;
  /** `CapturedMessage.index` of the message shown in the message view. */
  selectedMessage: number | null;
  theme: Theme;
  selectCall(callId: string | null): void;
  selectMessage(index: number | null): void;
  toggleTheme(): void;
}

export const useUi = create<UiSlice>()((set, get) => ({
  selectedCallId: null,
  selectedMessage: null,
  theme: initialTheme(),
  selectCall(callId) {
    if (get().selectedCallId !== callId) set({ selectedCallId: callId, selectedMessage: null });
  },
  selectMessage(index) {
    set({ selectedMessage: index });
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
