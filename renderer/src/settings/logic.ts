/**
 * The settings dialog, the pure part: which fields it shows and how they are
 * grouped, the patch a draft makes, and the lines it says before and after
 * Apply. The host is the authority on what a value means (it parses them with
 * the CLI's own parsers); nothing here second-guesses it.
 */
import {
  SETTING_COMPONENT,
  LIVE_SETTINGS,
  SETTING_FLAGS,
  SETTING_NAMES,
  type ApplySettingsResult,
  type ComponentName,
  type ComponentState,
  type LabSettings,
  type SettingName,
  type SettingsPatch,
} from '../../../app/contract';

export interface SettingField {
  name: SettingName;
  label: string;
  /** What to type, as the CLI's usage says it. */
  hint: string;
}

export interface SettingGroup {
  /** The component these settings restart, or null for those applied live. */
  component: ComponentName | null;
  title: string;
  fields: SettingField[];
}

export const SETTING_GROUPS: readonly SettingGroup[] = [
  {
    component: 'proxy',
    title: 'SIP proxy',
    fields: [
      { name: 'sip', label: 'Listen address', hint: 'HOST:PORT, UDP and TCP' },
      { name: 'route', label: 'Route', hint: 'HOST:PORT[/tcp],… round robin; empty = by Request-URI' },
      { name: 't1', label: 'T1', hint: 'ms, RTT estimate (RFC 3261 §17)' },
      { name: 't2', label: 'T2', hint: 'ms, longest retransmit interval' },
      { name: 't4', label: 'T4', hint: 'ms, longest a message stays in the network' },
      { name: 'timerC', label: 'Timer C', hint: 's a ringing INVITE branch may wait for its answer before it is CANCELled (RFC 3261 §16.6)' },
    ],
  },
  {
    component: 'relay',
    title: 'RTP relay',
    fields: [
      { name: 'rtp', label: 'Ports', hint: 'HOST:MIN-MAX' },
      { name: 'ng', label: 'NG control', hint: 'HOST:PORT or off' },
      { name: 'timeout', label: 'timeout', hint: 's with no media either way before a session is closed (rtpengine --timeout); 0 = off' },
      { name: 'silentTimeout', label: 'silent-timeout', hint: 's with media one way only (rtpengine --silent-timeout); 0 = off' },
      { name: 'offerTimeout', label: 'offer-timeout', hint: 's offered and never answered (rtpengine --offer-timeout); 0 = off' },
      { name: 'finalTimeout', label: 'final-timeout', hint: 's a session may live at all; 0 = off, and then a session nobody deletes holds its ports for ever' },
    ],
  },
  { component: 'recorder', title: 'Recorder', fields: [{ name: 'record', label: 'Directory', hint: 'DIR or off' }, { name: 'recordMix', label: 'Channels', hint: 'stereo (caller left, callee right) or mono (mixed); recordings in progress keep theirs' }] },
  {
    component: 'publisher',
    title: 'Publisher',
    fields: [
      { name: 'redis', label: 'Redis', hint: 'auto, redis://HOST:PORT or off' },
      { name: 'publishMode', label: 'Delivery', hint: 'pubsub+list, stream, or inline (reproduces the incident: the SIP worker waits for Redis)' },
    ],
  },
  {
    component: 'traffic',
    title: 'Built-in traffic',
    fields: [
      {
        name: 'traffic',
        label: 'Calls',
        hint: 'cps (calls/s), hold (s), max (at once), answer (s ringing), busy / noanswer / cancel (% of calls), loss (% of SIP dropped on send); applies live',
      },
    ],
  },
  {
    component: null,
    title: 'Call store (applied live)',
    fields: [
      { name: 'maxCalls', label: 'Finished calls kept', hint: 'oldest evicted' },
      { name: 'maxCallMessages', label: 'Entries per call', hint: 'oldest rotated out' },
      { name: 'maxStoreMb', label: 'Store budget', hint: 'MiB; oldest calls evicted beyond it' },
      { name: 'maxCallIdle', label: 'Idle call bound', hint: 's without news before a call in progress is evicted; 0 = never' },
    ],
  },
];

export const fieldId = (name: SettingName) => `setting-${name}`;
export const flagOf = (name: SettingName) => SETTING_FLAGS[name];

/** The settings the draft changes, as the patch Apply sends (an empty object when nothing changed). */
export function patchOf(current: LabSettings, draft: LabSettings): SettingsPatch {
  const patch: SettingsPatch = {};
  for (const name of SETTING_NAMES) if (draft[name] !== current[name]) patch[name] = draft[name];
  return patch;
}

const LIVE_LABEL: Record<string, string> = { route: 'targets', t1: 'T1', t2: 'T2', t4: 'T4', timerC: 'Timer C', publishMode: 'publish mode', recordMix: 'recording channels', traffic: 'traffic', maxCalls: 'finished calls kept', maxCallMessages: 'entries per call', maxStoreMb: 'store budget', maxCallIdle: 'idle call bound' };

/**
 * What Apply will do with this patch, before it is sent: which components
 * restart (the running or failed ones), which only take it at their next
 * start, and what applies live.
 */
export function previewLine(patch: SettingsPatch, states: Partial<Record<ComponentName, ComponentState>>): string {
  const names = SETTING_NAMES.filter((n) => patch[n] !== undefined);
  if (names.length === 0) return 'Nothing to apply.';
  const components = [...new Set(names.map((n) => SETTING_COMPONENT[n]).filter((c): c is ComponentName => c !== null))];
  // A running part takes LIVE_SETTINGS without a restart; a failed one is restarted all the same.
  const takesLive = (c: ComponentName) => states[c] === 'running' && names.every((n) => SETTING_COMPONENT[n] !== c || LIVE_SETTINGS.includes(n));
  const restart = components.filter((c) => (states[c] === 'running' || states[c] === 'failed') && !takesLive(c));
  const later = components.filter((c) => !restart.includes(c) && !takesLive(c));
  const live = names.filter((n) => SETTING_COMPONENT[n] === null || takesLive(SETTING_COMPONENT[n]!)).map((n) => LIVE_LABEL[n] ?? n);
  const parts: string[] = [];
  if (restart.length > 0) parts.push(`Apply restarts ${restart.join(', ')}`);
  if (later.length > 0) parts.push(`${later.join(', ')} not running: used at ${later.length > 1 ? 'their' : 'its'} next start`);
  if (live.length > 0) parts.push(`${live.join(' and ')} applied live`);
  return `${parts.join('; ')}.`;
}

/** One line for the result of Apply: what restarted, what failed with its error, or the refusal. */
export function resultLine(r: ApplySettingsResult): string {
  if (!r.ok) return r.error;
  if (r.changed.length === 0) return 'Nothing changed.';
  const parts: string[] = [];
  const ok = r.restarted.filter((n) => !r.failed.some((f) => f.name === n));
  if (ok.length > 0) parts.push(`restarted: ${ok.join(', ')}`);
  for (const f of r.failed) parts.push(`${f.name} failed to restart: ${f.error}`);
  if (r.stopped.length > 0) parts.push(`stopped: ${r.stopped.join(', ')}`);
  if (r.notRunning.length > 0) parts.push(`not running, used at next start: ${r.notRunning.join(', ')}`);
  if (r.live.length > 0) parts.push(`applied live: ${r.live.map((n) => LIVE_LABEL[n] ?? n).join(', ')}`);
  return `Applied (${r.changed.map(flagOf).join(' ')}) — ${parts.join('; ') || 'nothing to restart'}.`;
}
