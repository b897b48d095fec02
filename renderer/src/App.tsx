import { useEffect } from 'react';
import { BottomStrip } from './components/BottomStrip';
import { CallsPanel } from './components/CallsPanel';
import { ControlBar } from './components/ControlBar';
import { ExportChooser } from './components/ExportChooser';
import { Header } from './components/Header';
import { HelpOverlay } from './components/HelpOverlay';
import { LadderPanel } from './components/LadderPanel';
import { SettingsDialog } from './components/SettingsDialog';
import { SuspectsBoard } from './components/SuspectsBoard';
import { useConnection } from './store/connection';
import { useUi } from './store/ui';
import { useShortcuts } from './useShortcuts';

export function App() {
  const theme = useUi((s) => s.theme);
  const stale = useConnection((s) => s.status === 'disconnected');
  useShortcuts();
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return (
    <div className={stale ? 'app stale' : 'app'}>
      <Header />
      <ControlBar />
      <SuspectsBoard />
      <main className="main">
        <CallsPanel />
        <LadderPanel />
      </main>
      <BottomStrip />
      <HelpOverlay />
      <ExportChooser />
      <SettingsDialog />
    </div>
  );
}
