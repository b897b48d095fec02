/**
 * The publish panel's controls, the pure part: the delivery modes as the
 * mode switch offers them (inline marked as the incident it reproduces),
 * the subscriber-load count as typed, and the load's status line.
 * Unit-tested without a DOM (test/unit/publish-ui.test.ts).
 */
import { MAX_SUBSCRIBER_LOAD, PUBLISH_MODES, type PublishMode, type SubscriberLoadStats } from '../../../app/contract';

export interface ModeChoice {
  mode: PublishMode;
  label: string;
  title: string;
  /** A reproduction of a known bad design: shown in the warning style. */
  bad: boolean;
}

const MODE_WORDS: Record<PublishMode, Omit<ModeChoice, 'mode'>> = {
  'pubsub+list': {
    label: 'pubsub+list',
    title: 'PUBLISH call:<Call-ID>; when it reaches nobody, RPUSH call-mq:<Call-ID> (with an expiry) for the application to drain. Off the SIP path.',
    bad: false,
  },
  stream: {
    label: 'stream',
    title: 'XADD to one stream read by consumer groups: nothing is lost while the application is away. Off the SIP path.',
    bad: false,
  },
  inline: {
    label: 'inline — reproduces the incident',
    title: 'A reproduction of a known bad design, on purpose: the SIP worker waits for Redis\'s reply to a new call\'s event before it answers and forwards the INVITE, so every Redis stall becomes a SIP stall.',
    bad: true,
  },
};

/** Every mode, in the contract's order. */
export const MODE_CHOICES: readonly ModeChoice[] = PUBLISH_MODES.map((mode) => ({ mode, ...MODE_WORDS[mode] }));

export const modeChoice = (mode: PublishMode): ModeChoice => MODE_CHOICES.find((c) => c.mode === mode)!;

/** The warning shown while `inline` runs. */
export const INLINE_WARNING = 'inline reproduces a known bad design: each SIP worker waits for Redis before it answers an INVITE.';

/** The story's 640 pattern-subscribed connections (8 servers × 8 processes × a pool of 10). */
export const DEFAULT_LOAD_COUNT = 640;

/** The load's count as typed: a whole number from 1 to MAX_SUBSCRIBER_LOAD, else null (refused, Start disabled). */
export function parseLoadCount(input: string): number | null {
  const s = input.trim();
  if (!/^\d{1,6}$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 && n <= MAX_SUBSCRIBER_LOAD ? n : null;
}

/** One line for the running load, with its tooltip; "off" while there is none. */
export function loadStatus(l: SubscriberLoadStats | null): { text: string; title: string; tone: 'warn' | 'error' | null } {
  if (!l) return { text: 'off', title: 'No pattern-subscriber load on the publisher\'s Redis.', tone: null };
  const lost = l.failed + l.droppedByRedis;
  return {
    text: `connected ${l.connected} / ${l.wanted} · failed ${l.failed} · dropped by Redis ${l.droppedByRedis}`,
    title: [
      `${l.wanted} connections PSUBSCRIBEd to ${l.patterns === 'same' ? 'call:* (one pattern, every event copied to each)' : 'a pattern each, matching none of our channels (every PUBLISH tries them all)'}${l.slow ? ', reading slowly so Redis\'s output buffers grow' : ''}.`,
      'connected: open and subscribed now; failed: could not connect or subscribe when started; dropped by Redis: closed after subscribing (output buffer limit, CLIENT KILL, a restart) — counted, not reopened.',
      `Read so far: ${l.messages} messages, ${l.bytes} bytes.`,
      `Reading them keeps the load's own thread ${l.busyPct} % busy (event-loop utilization over the last second, not CPU time; a thread of this process, apart from the publisher's, so it takes CPU from this box as a neighbour would, not time from the publish timings).`,
    ].join('\n'),
    tone: l.droppedByRedis > 0 ? 'error' : lost > 0 || l.connected < l.wanted ? 'warn' : null,
  };
}
