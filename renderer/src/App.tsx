import { useEffect } from 'react';
import { BottomStrip } from './components/BottomStrip';
import { CallsPanel } from './components/CallsPanel';
import { ControlBar } from './components/ControlBar';
import { ExportChooser } from './components/ExportChooser';
import { Header } from './components/Header';
import { HelpOverlay } from './components/HelpOverlay';
import { IncidentPanel } from './components/IncidentPanel';
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
      {/* One row of the app's grid for both boards: the suspects and the incidents that turn them red. */}
      <div className="boards">
        <SuspectsBoard />
        <IncidentPanel />
      </div>
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
