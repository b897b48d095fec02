import { LiveChart } from './LiveChart';
import { PortPoolPanel } from './PortPoolPanel';
import { PublishPanel } from './PublishPanel';

export function BottomStrip() {
  return (
    <footer className="bottom-strip">
      <LiveChart />
      <PortPoolPanel />
      <PublishPanel />
    </footer>
  );
}
