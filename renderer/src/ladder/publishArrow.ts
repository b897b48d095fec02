/**
 * How the ladder draws a publish-lane entry on screen: the event name, where
 * it went (PUBLISH's receivers, or "→ list" / "→ stream") and how long it
 * took, in a colour by outcome. The exports keep the engine's labels
 * (engine/ladder/entries.ts); this is the screen's wording only. Pure,
 * unit-tested (test/unit/publish-ui.test.ts).
 */
import { deliveryVia, type LadderEntry, type PublishEntry } from '../../../app/contract';
import { formatMs } from '../../../app/ladder';

const took = (us: number | null) => (us === null ? '' : ` · ${formatMs(us, 2)} ms`);
const ERROR_CHARS = 40;
const short = (s: string) => (s.length > ERROR_CHARS ? `${s.slice(0, ERROR_CHARS - 1)}…` : s);

/** Where a replied event went: PUBLISH's receivers, or the list or stream it was written to. */
function whereTo(e: PublishEntry): string {
  const via = deliveryVia(e.target);
  if (via !== 'pubsub') return `→ ${via}`;
  if (e.receivers === null) return '';
  return `(${e.receivers} receiver${e.receivers === 1 ? '' : 's'})`;
}

/** "new (2 receivers) · 0.84 ms", "early → list · 1.20 ms", "ended failed: … · 5003.00 ms", "answered delivered via pubsub · 2.10 ms". */
export function publishArrowLabel(e: PublishEntry): string {
  switch (e.phase) {
    case 'replied': {
      const where = whereTo(e);
      return `${e.event}${where ? ` ${where}` : ''}${took(e.sinceQueuedUs)}`;
    }
    case 'failed':
      return `${e.event} failed${e.error ? `: ${short(e.error)}` : ''}${took(e.sinceQueuedUs)}`;
    case 'delivered':
      return `${e.event} delivered via ${deliveryVia(e.target)}${took(e.sinceQueuedUs)}`;
    default:
      return e.label;
  }
}

/** The arrow's extra class: failed in the error colour, delivered solid in its own, a list fallback marked. */
export function publishArrowTone(e: PublishEntry): string | undefined {
  if (e.phase === 'failed') return 'publish-failed';
  if (e.phase === 'delivered') return 'publish-delivered';
  if (e.phase === 'replied' && deliveryVia(e.target) === 'list') return 'publish-fallback';
  return undefined;
}

/** A publish arrow's tooltip: what the duration measures, the target, the error. */
export function publishArrowTitle(e: PublishEntry): string {
  const lines = [publishArrowLabel(e), `${e.src} → ${e.dst}`, `target ${e.target}`];
  const ms = e.sinceQueuedUs === null ? null : `${formatMs(e.sinceQueuedUs, 3)} ms`;
  if (e.phase === 'delivered') {
    lines.push(`The reference consumer (the application) received it via ${deliveryVia(e.target)}${ms ? `, ${ms} after the SIP message that made it` : ''}; drawn at the time it was received.`);
  } else {
    if (ms) lines.push(`The SIP message that made it → Redis's ${e.phase === 'failed' ? 'last answer' : 'reply'}: ${ms} (engine clock); drawn at the SIP message's time.`);
    if (e.receivers !== null) lines.push(`PUBLISH reached ${e.receivers} subscriber${e.receivers === 1 ? '' : 's'}${e.receivers === 0 ? ': the event went to the call\'s list' : ''}.`);
    if (e.error) lines.push(`error: ${e.error}`);
  }
  return lines.join('\n');
}

/** The entries as the screen's ladder draws them: publish entries with the labels above, the rest as they are. */
export function withPublishLabels(entries: readonly LadderEntry[]): LadderEntry[] {
  return entries.map((e) => (e.lane === 'publish' ? { ...e, label: publishArrowLabel(e) } : e));
}
