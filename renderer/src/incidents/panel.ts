/**
 * The incidents panel's wording, pure (test/unit/incident-panel.test.ts):
 * one row per incident of the story with the buttons it offers now, and for
 * the one running its verdict, its checks with their values and where each
 * is measured, what happened in production, what this phase sets up, where
 * to look, and what the runner did or could not do.
 */
import { INCIDENT_IDS, INCIDENTS, type IncidentCheck, type IncidentId, type IncidentPhase, type IncidentStatus } from '../../../app/contract';

export interface IncidentButton {
  label: string;
  enabled: boolean;
  /** This incident is already in the phase this button runs. */
  pressed: boolean;
  title: string;
}

export interface IncidentRow {
  id: IncidentId;
  title: string;
  /** A badge saying the reproduction is of a design not to copy; null for the others. */
  badge: { text: string; title: string } | null;
  /** The phase this incident runs in, null when it does not. */
  running: IncidentPhase | null;
  run: IncidentButton;
  /** Offered only once this incident runs: there is nothing to fix before its bad configuration is up. */
  fix: IncidentButton | null;
  /** Offered only on the running incident's row. */
  stop: IncidentButton | null;
}

export interface CheckLine {
  mark: '✓' | '✗' | '…';
  pass: boolean | null;
  text: string;
  /** Where it is measured and over what. */
  title: string;
}

export interface IncidentDetails {
  id: IncidentId;
  heading: string;
  /** Which phase, for how long, and what the runner does meanwhile (restarts, quick). */
  phaseLine: string;
  verdict: { state: IncidentStatus['verdict']; text: string; title: string };
  checks: CheckLine[];
  /** Incident 1 only: that it reproduces a design not to copy. */
  knownBad: string | null;
  story: string;
  /** What this phase sets up. */
  phaseDoes: string;
  /** What the other phase would set up (the fix, while the bad configuration runs). */
  otherPhase: string;
  lookAt: string[];
  log: string[];
  error: string | null;
}

export interface IncidentPanelView {
  rows: IncidentRow[];
  /** The running incident's details; null collapses the panel to its row of buttons. */
  running: IncidentDetails | null;
}

/** The reproductions that are of a known bad design, and why it is bad: never a mode to run in production. */
const KNOWN_BAD_DESIGN: Partial<Record<IncidentId, string>> = {
  'sync-publish':
    'A reproduction of a known bad design: the SIP worker waits for Redis to answer its PUBLISH before it relays the INVITE. It is here to be seen failing, not to be used; the fix is the design to keep.',
};

export const QUICK_TITLE = 'Shortened durations: the fix’s timeouts and the restart period are shorter, for a quick demonstration or a test. Takes effect on the next click.';

const PHASE_NAME: Record<IncidentPhase, string> = { bad: 'bad configuration', fixed: 'with the fix' };

const MARK = (pass: boolean | null): CheckLine['mark'] => (pass === true ? '✓' : pass === false ? '✗' : '…');

export function checkLine(c: IncidentCheck): CheckLine {
  return { mark: MARK(c.pass), pass: c.pass, text: `${MARK(c.pass)} ${c.label}: ${c.value}`, title: `Measured: ${c.where}` };
}

/** "failing: 100 Trying p99 < 200 ms is 812.3 ms", naming every failing check with its value; passing and waiting likewise. */
export function verdictText(status: Pick<IncidentStatus, 'verdict' | 'checks'>): string {
  const { verdict, checks } = status;
  const is = (c: IncidentCheck) => `${c.label} is ${c.value}`;
  if (verdict === 'fail') return `failing: ${checks.filter((c) => c.pass === false).map(is).join('; ')}`;
  if (verdict === 'pass') return `passing: ${checks.map((c) => `${c.label} (${c.value})`).join('; ')}`;
  // A check waits for enough calls in its phase (or, for the PCM check, for forwarding to start).
  return `waiting: not judged yet: ${checks.filter((c) => c.pass === null).map((c) => `${c.label} (${c.value})`).join('; ')}`;
}

function verdictTitle(phase: IncidentPhase): string {
  return phase === 'bad'
    ? 'The bad configuration should fail these checks, as the incident did in production. Each check waits for enough calls in this phase before it passes or fails.'
    : 'The fix should pass these checks under the same load. Each check waits for enough calls in this phase before it passes or fails.';
}

function runButton(id: IncidentId, running: IncidentStatus | null): IncidentButton {
  const here = running?.id === id ? running.phase : null;
  const other = running && running.id !== id ? ` Stops “${running.title}” first.` : '';
  return {
    label: 'Reproduce',
    enabled: here !== 'bad',
    pressed: here === 'bad',
    title:
      here === 'bad'
        ? 'Running in its bad configuration.'
        : here === 'fixed'
          ? `Back to the bad configuration: ${INCIDENTS[id].bad}`
          : `Set up the bad configuration: ${INCIDENTS[id].bad}${other}`,
  };
}

function fixButton(id: IncidentId, running: IncidentStatus | null): IncidentButton | null {
  if (running?.id !== id) return null;
  const info = INCIDENTS[id];
  return running.phase === 'bad'
    ? { label: 'Apply the fix', enabled: true, pressed: false, title: `Switch to the fix under the same load: ${info.fixed}` }
    : { label: 'Apply the fix', enabled: false, pressed: true, title: `The fix is applied: ${info.fixed}` };
}

function rowOf(id: IncidentId, running: IncidentStatus | null): IncidentRow {
  const info = INCIDENTS[id];
  const knownBad = KNOWN_BAD_DESIGN[id];
  const here = running?.id === id;
  return {
    id,
    title: info.title,
    badge: knownBad ? { text: 'known bad design', title: knownBad } : null,
    running: here ? running.phase : null,
    run: runButton(id, running),
    fix: fixButton(id, running),
    stop: here ? { label: 'Stop', enabled: true, pressed: false, title: 'Stop the incident: its traffic and load stop, the settings it changed go back.' } : null,
  };
}

function phaseLine(s: IncidentStatus): string {
  const parts = [`${PHASE_NAME[s.phase]} for ${Math.round(s.phaseSeconds)} s`];
  if (s.restartEveryS !== null) parts.push(`the proxy and the built-in endpoints restart every ${s.restartEveryS} s`);
  if (s.quick) parts.push('quick (shortened durations)');
  return parts.join(' · ');
}

function detailsOf(s: IncidentStatus): IncidentDetails {
  return {
    id: s.id,
    heading: s.title,
    phaseLine: phaseLine(s),
    verdict: { state: s.verdict, text: verdictText(s), title: verdictTitle(s.phase) },
    checks: s.checks.map(checkLine),
    knownBad: KNOWN_BAD_DESIGN[s.id] ?? null,
    story: s.story,
    phaseDoes: s.phase === 'bad' ? s.bad : s.fixed,
    otherPhase: s.phase === 'bad' ? `Apply the fix: ${s.fixed}` : `The bad configuration was: ${s.bad}`,
    lookAt: s.lookAt,
    log: s.log,
    error: s.error,
  };
}

/** What the panel shows for the snapshot's incident (null: none runs). */
export function incidentPanel(running: IncidentStatus | null): IncidentPanelView {
  return { rows: INCIDENT_IDS.map((id) => rowOf(id, running)), running: running ? detailsOf(running) : null };
}
