/**
 * A live ladder fetches only what is new (`getCall(callId, fromIndex)`) and
 * appends it to what it holds, so a 10,000-message call is not re-sent four
 * times a second. Pure, so the merge rules are unit-tested.
 */
import type { CallDetail } from '../../../app/contract';

/** The index to ask for next: one past the last message held, or 0 with nothing held. */
export function nextFromIndex(held: CallDetail | null | undefined): number {
  if (!held || held.messages.length === 0) return held ? held.messagesDropped : 0;
  return held.messages[held.messages.length - 1]!.index + 1;
}

/**
 * Merges an incremental answer into what is held. Messages the engine has
 * rotated out (below `messagesDropped`) go; new ones are appended in index
 * order. Returns null when the answer does not continue what is held (the
 * Call-ID was reused, say, by an import after eviction): fetch it all again.
 */
export function mergeCallDetail(held: CallDetail | null | undefined, fresh: CallDetail, fromIndex: number): CallDetail | null {
  if (!held || fromIndex === 0) return fresh;
  if (fresh.startedUs !== held.startedUs || fresh.messageCount < fromIndex) return null;
  const firstNew = fresh.messages[0]?.index;
  if (firstNew !== undefined && firstNew < fromIndex) return null;
  const kept = fresh.messagesDropped > 0 ? held.messages.filter((m) => m.index >= fresh.messagesDropped) : held.messages;
  if (fresh.messages.length === 0 && kept.length === held.messages.length) return { ...fresh, messages: held.messages };
  return { ...fresh, messages: kept.concat(fresh.messages) };
}
