/**
 * The calls list's publish cell: how a call's events reached the application
 * (the reference consumer), from the call's `publish` summary. Pure,
 * unit-tested (test/unit/publish-ui.test.ts).
 */
import { LATE_DELIVERY_US, undelivered, type PublishSummary } from '../../../app/contract';
import { formatMs } from '../../../app/ladder';

export interface DeliveryCell {
  text: string;
  className: string;
  title: string;
}

const VIAS = ['pubsub', 'list', 'stream'] as const;

/**
 * "pubsub", "list", "pubsub+list", "stream"; "late · pubsub" when an event
 * came later than LATE_DELIVERY_US after its SIP message; "not delivered n/m"
 * when the consumer has not received some (given up, or acknowledged by Redis
 * and not received — yet, for a call whose last event is in flight); "—" when
 * nothing was published for the call.
 */
export function deliveryCell(p: PublishSummary | null): DeliveryCell {
  if (!p) return { text: '—', className: 'muted', title: 'Nothing published for this call (publisher off, or a call from a file)' };
  const vias = VIAS.filter((v) => p.delivered[v] > 0);
  const via = vias.join('+');
  const total = p.replied + p.failed;
  const missing = undelivered(p);
  const title = [
    `Published ${total}: Redis acknowledged ${p.replied}, given up ${p.failed}; slowest SIP message → Redis reply ${formatMs(p.slowestUs, 2)} ms`,
    `Received by the application (reference consumer): pubsub ${p.delivered.pubsub}, list ${p.delivered.list}, stream ${p.delivered.stream}`,
    `Late (more than ${formatMs(LATE_DELIVERY_US, 0)} ms after the SIP message): ${p.late}`,
  ];
  if (missing > 0) {
    title.push(`Not received: ${missing} (the consumer may be stopped, or the last event still on its way)`);
    return { text: `not delivered ${missing}/${total}`, className: 'delivery-missing', title: title.join('\n') };
  }
  if (p.late > 0) return { text: `late · ${via}`, className: 'delivery-late', title: title.join('\n') };
  return { text: via || '—', className: via ? 'delivery-ok' : 'muted', title: title.join('\n') };
}
