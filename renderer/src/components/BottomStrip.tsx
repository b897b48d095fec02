import { LiveChart } from './LiveChart';
import { PortPoolPanel } from './PortPoolPanel';
import { PublishPanel } from './PublishPanel';
import { RecorderPanel } from './RecorderPanel';
import { TrafficPanel } from './TrafficPanel';

export function BottomStrip() {
  return (
    <footer className="bottom-strip">
      <LiveChart />
      <PortPoolPanel />
      <PublishPanel />
      <RecorderPanel />
      <TrafficPanel />
    </footer>
  );
}
