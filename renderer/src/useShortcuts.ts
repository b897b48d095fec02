import { useEffect } from 'react';
import { CALLS_FILTER_ID } from './components/CallsFilterBar';
import { useApi } from './api';
import { blurAfterClick, isEditable, keyAction, stepSelection } from './keys';
import { useCalls } from './store/calls';
import { useFiles } from './store/files';
import { useRecording } from './store/recording';
import { useSettings } from './store/settings';
import { useUi } from './store/ui';

/**
 * Ladder row order (message indexes, top to bottom) of the ladder on screen;
 * set by the ladder view so the shortcuts can step through it.
 */
let ladderOrder: readonly number[] = [];
export function setLadderOrder(order: readonly number[]): void {
  ladderOrder = order;
}

/** Keys of the calls in list order (as shown: filtered and sorted), set by the calls list. */
let callOrder: readonly string[] = [];
export function setCallOrder(order: readonly string[]): void {
  callOrder = order;
}

/** The console's one keydown listener (see `keys.ts` for the map), and the click listener that hands focus back from buttons. */
export function useShortcuts(): void {
  const api = useApi();
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const action = keyAction({ key: e.key, ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey, inEditable: isEditable(e.target) });
      if (action === null) return;
      // The export chooser handles its own keys; a stray one (focus moved away) must not act behind it.
      if (useFiles.getState().chooser !== null) {
        if (action === 'escape') useFiles.getState().closeChooser();
        return;
      }
      // Likewise the settings dialog: its fields are inputs (never shortcuts), and nothing acts behind it.
      if (useSettings.getState().open) {
        if (action === 'escape') useSettings.getState().close();
        return;
      }
      const ui = useUi.getState();
      switch (action) {
        case 'next':
        case 'prev': {
          if (ui.selectedKey === null || ladderOrder.length === 0) return;
          e.preventDefault();
          ui.moveSelection(stepSelection(ladderOrder, ui.selectedMessage, action === 'next' ? 1 : -1));
          return;
        }
        case 'nextCall':
        case 'prevCall': {
          const key = stepSelection(callOrder, ui.selectedKey, action === 'nextCall' ? 1 : -1);
          if (key === null) return;
          e.preventDefault();
          ui.selectCall(key);
          return;
        }
        case 'open':
          // Enter on a button or link is that control's own.
          if (e.target instanceof HTMLButtonElement || e.target instanceof HTMLAnchorElement) return;
          if (ui.selectedMessage === null) return;
          e.preventDefault();
          ui.openMessage();
          return;
        case 'focusFilter': {
          const input = document.getElementById(CALLS_FILTER_ID);
          if (!(input instanceof HTMLInputElement)) return;
          e.preventDefault();
          input.focus();
          input.select();
          return;
        }
        case 'cycleTime':
          e.preventDefault();
          ui.cycleTimeMode();
          return;
        case 'compare':
          if (ui.selectedKey === null || ui.selectedMessage === null) return;
          e.preventDefault();
          ui.markCompare();
          return;
        case 'export':
          if (ui.selectedKey === null) return;
          e.preventDefault();
          useFiles.getState().openChooser({ kind: 'keys', keys: [ui.selectedKey] }, `call ${useCalls.getState().byId.get(ui.selectedKey)?.callId ?? ui.selectedKey}`);
          return;
        case 'record': {
          // The Record button of the call on screen names the call; none shown (no call selected), nothing to record.
          const target = useRecording.getState().target;
          if (target === null || target.key !== ui.selectedKey) return;
          e.preventDefault();
          useRecording.getState().toggleTarget(api);
          return;
        }
        case 'help':
          e.preventDefault();
          ui.setHelp(!ui.helpOpen);
          return;
        case 'settings':
          e.preventDefault();
          ui.setHelp(false);
          useSettings.getState().show();
          return;
        case 'escape':
          if (ui.helpOpen) ui.setHelp(false);
          else if (ui.diff !== null) ui.closeDiff();
          else if (ui.diffBase !== null) useUi.setState({ diffBase: null });
          else if (ui.messageOpen) ui.closeMessage();
          return;
      }
    };
    // A clicked button would keep the focus and take the next Enter (and Space) for itself.
    const onClick = (e: MouseEvent): void => {
      const button = e.target instanceof Element ? e.target.closest('button') : null;
      if (button && blurAfterClick(e.detail, button.closest('[role="dialog"]') !== null)) button.blur();
    };
    window.addEventListener('keydown', onKey);
    window.addEventListener('click', onClick);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('click', onClick);
    };
  }, [api]);
}
