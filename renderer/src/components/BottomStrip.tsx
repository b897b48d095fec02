import { LiveChart } from './LiveChart';
import { PortPoolPanel } from './PortPoolPanel';
import { PublishPanel } from './PublishPanel';
import { RecorderPanel } from './RecorderPanel';

export function BottomStrip() {
  return (
    <footer className="bottom-strip">
      <LiveChart />
      <PortPoolPanel />
      <PublishPanel />
      <RecorderPanel />
    </footer>
  );
}
