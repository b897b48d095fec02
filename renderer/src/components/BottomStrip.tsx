import { LiveChart } from './LiveChart';

export function BottomStrip() {
  return (
    <footer className="bottom-strip">
      <LiveChart />
      <Placeholder testId="placeholder-rtp" title="RTP port pool — arrives with the relay" />
      <Placeholder testId="placeholder-publish" title="Publish timings — arrives with the publisher" />
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
