import { useShallow } from 'zustand/react/shallow';
import { INLINE_WARNING } from '../publish/controls';
import { consumerFigures, publisherAbsentLine, publisherFigures } from '../publish/figures';
import { useSnapshot } from '../store/snapshot';
import { FigureCell } from './FigureCell';
import { PublishChart } from './PublishChart';
import { PublishModeSwitch } from './PublishModeSwitch';
import { SubscriberLoadControl } from './SubscriberLoadControl';

/**
 * The bottom strip's publish timings: created → Redis reply over time, the
 * publisher's and the application's figures (each says where and over what
 * window it is measured), the delivery mode and the subscriber load.
 */
export function PublishPanel() {
  const publisher = useSnapshot((s) => s.snapshot?.publisher ?? null);
  const mode = publisher?.mode ?? null;
  return (
    <div className={mode === 'inline' ? 'publish-panel publish-inline' : 'publish-panel'} data-testid="publish-panel" data-mode={mode ?? undefined}>
      <div className="publish-head">
        <span className="strip-title" title="Call events: the SIP message that made each → Redis's reply, engine clock">Publish · created → Redis reply (ms) · last 2 min</span>
        {mode ? <PublishModeSwitch mode={mode} /> : null}
      </div>
      {mode === 'inline' ? (
        <div className="publish-warning" data-testid="publish-inline-warning" role="alert">
          ⚠ {INLINE_WARNING}
        </div>
      ) : null}
      {publisher ? (
        <div className="publish-body">
          <PublishChart />
          <Figures />
        </div>
      ) : (
        <AbsentLine />
      )}
      <SubscriberLoadControl available={publisher !== null} />
    </div>
  );
}

function AbsentLine() {
  const line = useSnapshot((s) => publisherAbsentLine(s.snapshot?.components.find((c) => c.name === 'publisher')));
  return (
    <div className="publish-absent muted ellipsis" data-testid="publish-absent" title={line}>
      {line}
    </div>
  );
}

/** Both figure lists; the snapshot sections are read whole (a new object per batch), so this re-renders per batch and nothing else does. */
function Figures() {
  const { publisher, consumer, consumerStatus } = useSnapshot(
    useShallow((s) => ({
      publisher: s.snapshot?.publisher ?? null,
      consumer: s.snapshot?.consumer ?? null,
      consumerStatus: s.snapshot?.components.find((c) => c.name === 'consumer'),
    })),
  );
  if (!publisher) return null;
  return (
    <div className="publish-figures">
      {publisherFigures(publisher).map((f) => (
        <FigureCell panel="publish" key={f.id} {...f} />
      ))}
      {consumerFigures(consumer, consumerStatus).map((f) => (
        <FigureCell panel="publish" key={f.id} {...f} />
      ))}
    </div>
  );
}

