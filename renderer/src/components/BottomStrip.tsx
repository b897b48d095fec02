import { LiveChart } from './LiveChart';
import { PublishPanel } from './PublishPanel';

export function BottomStrip() {
  return (
    <footer className="bottom-strip">
      <LiveChart />
      <Placeholder testId="placeholder-rtp" title="RTP port pool — arrives with the relay" />
      <PublishPanel />
    </footer>
  );
}

function Placeholder({ title, testId }: { title: string; testId: string }) {
  return (
    <div className="placeholder" data-testid={testId}>
      <div className="strip-title">{title}</div>
      <div className="placeholder-body">not yet</div>
    </div>
  );
}
