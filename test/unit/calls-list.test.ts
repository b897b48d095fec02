import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ComponentStatus, StoreStats } from '../../app/contract';
import { COLUMNS, MAX_COLUMN_PX, MIN_COLUMN_PX, gridTemplate, resizeColumn, visibleColumns } from '../../renderer/src/calls/columns';
import { listCountText, shortBytes, storeLine, storeTitle } from '../../renderer/src/calls/counts';
import { NO_FILTER } from '../../renderer/src/calls/query';
import { MAX_SAVED_FILTERS, SAVED_FILTERS_KEY, cleanName, parseSavedFilters, serializeSavedFilters, withSaved, withoutSaved } from '../../renderer/src/calls/saved';
import { shownError, toggleNotice } from '../../renderer/src/controls/logic';

test('the list count says what matches, of how many stored, how many were evicted', () => {
  assert.equal(listCountText({ queried: true, shown: 12, matched: 12, stored: 10_000, evicted: 3_400 }), '12 of 10,000 stored (3,400 evicted)');
  assert.equal(listCountText({ queried: true, shown: 0, matched: 0, stored: 5, evicted: 0 }), '0 of 5 stored');
  assert.equal(listCountText({ queried: false, shown: 2_000, matched: null, stored: 2_000, evicted: 0 }), '2,000 stored');
  assert.equal(listCountText({ queried: false, shown: 3, matched: null, stored: null, evicted: null }), '3 stored', 'before the first snapshot: what the list holds');
});

test('the list count says so when the engine has more than the list holds', () => {
  assert.equal(
    listCountText({ queried: true, shown: 10_000, matched: 25_000, stored: 40_000, evicted: 1 }),
    '25,000 of 40,000 stored (1 evicted) · list shows the first 10,000',
  );
  assert.equal(listCountText({ queried: false, shown: 10_000, matched: null, stored: 12_500, evicted: 0 }), '12,500 stored · list shows the newest 10,000');
});

const stats = (over: Partial<StoreStats> = {}): StoreStats => ({
  active: 2_000,
  stored: 10_000,
  bytes: 120 * 2 ** 20,
  maxBytes: 512 * 2 ** 20,
  evicted: 3_400,
  evictedBy: { 'finished-limit': 0, 'active-limit': 0, idle: 400, bytes: 3_000 },
  entriesDropped: 7,
  sources: [
    { id: 'live', name: 'live', addedUs: 0 },
    { id: 'import-1', name: 'trace.pcap', addedUs: 1 },
  ],
  ...over,
});

test('the header store line: active of stored, bytes of the budget, evictions by reason', () => {
  assert.equal(storeLine(stats()), '2,000 active of 10,000 stored · 120 MiB / 512 MiB · 3,400 evicted (idle 400, bytes 3,000)');
  assert.equal(storeLine(stats({ evicted: 0, evictedBy: { 'finished-limit': 0, 'active-limit': 0, idle: 0, bytes: 0 }, bytes: 900 })), '2,000 active of 10,000 stored · 900 B / 512 MiB · none evicted');
  const title = storeTitle(stats());
  assert.match(title, /engine call store, since the engine started/);
  assert.match(title, /live, trace\.pcap/);
  assert.match(title, /entries rotated out of long calls 7/);
  assert.equal(shortBytes(1.5 * 2 ** 30), '1.5 GiB');
  assert.equal(shortBytes(536_870_912), '512 MiB', 'the default --max-store-mb reads as given');
  assert.equal(shortBytes(1023), '1023 B');
});

test('the Source column shows only with more than one source', () => {
  assert.ok(!visibleColumns(1).some((c) => c.key === 'source'));
  assert.ok(visibleColumns(2).some((c) => c.key === 'source'));
  assert.equal(visibleColumns(2).length, COLUMNS.length);
});

test('a dragged column width is clamped, and a new widths object is made only when it changes', () => {
  const w0 = {};
  const w1 = resizeColumn(w0, 'callId', 180, 40);
  assert.deepEqual(w1, { callId: 220 });
  assert.deepEqual(w0, {}, 'the old widths are not mutated');
  assert.equal(resizeColumn(w1, 'callId', 180, 40), w1, 'unchanged: the same object (no re-render)');
  assert.equal(resizeColumn(w1, 'from', 140, -500).from, MIN_COLUMN_PX);
  assert.equal(resizeColumn(w1, 'from', 140, 5_000).from, MAX_COLUMN_PX);
  const cols = visibleColumns(1);
  assert.equal(gridTemplate(cols, w1), cols.map((c) => (c.key === 'callId' ? '220px' : `${c.width}px`)).join(' '));
});

test('saved filters survive a reload under a versioned key; what fails the contract check is dropped', () => {
  assert.equal(SAVED_FILTERS_KEY, 'callpath.savedFilters.v1');
  const busy = { ...NO_FILTER, outcome: 'busy' as const };
  const list = withSaved(withSaved([], 'slow', { ...NO_FILTER, tryingSlowerThanMs: 5 }), 'busy', busy);
  assert.deepEqual(list.map((s) => s.name), ['busy', 'slow'], 'newest first');
  assert.deepEqual(parseSavedFilters(serializeSavedFilters(list)), list, 'round trip');
  assert.deepEqual(withSaved(list, 'slow', NO_FILTER).map((s) => s.name), ['slow', 'busy'], 'same name replaces');
  assert.deepEqual(withoutSaved(list, 'busy').map((s) => s.name), ['slow']);

  assert.deepEqual(parseSavedFilters(null), []);
  assert.deepEqual(parseSavedFilters('not json'), []);
  assert.deepEqual(parseSavedFilters(JSON.stringify({ version: 2, filters: list })), [], 'another version is not read');
  assert.deepEqual(parseSavedFilters(JSON.stringify([list])), []);
  const raw = JSON.stringify({
    version: 1,
    filters: [
      { name: 'old shape', filter: { text: 'x', state: 'all', retransmissionsOnly: false, tryingSlowerThanMs: null } },
      { name: 'bad regex', filter: { ...NO_FILTER, regex: true, text: '(' } },
      { name: '', filter: NO_FILTER },
      { name: 'ok', filter: busy },
      { name: 'ok', filter: NO_FILTER },
      'junk',
    ],
  });
  assert.deepEqual(parseSavedFilters(raw), [{ name: 'ok', filter: busy }], 'only valid, named, first of each name');
  const many = Array.from({ length: 80 }, (_, i) => ({ name: `f${i}`, filter: NO_FILTER }));
  assert.equal(parseSavedFilters(JSON.stringify({ version: 1, filters: many })).length, MAX_SAVED_FILTERS);
  assert.equal(cleanName('  my filter\n'), 'my filter');
  assert.equal(cleanName('   '), null);
  assert.equal(cleanName('x'.repeat(61)), null);
});

const status = (over: Partial<ComponentStatus>): ComponentStatus => ({ name: 'publisher', state: 'stopped', endpoint: null, error: null, detail: null, sinceUs: 0, ...over });

test('a start that does not run says why (error, else detail); a stop clears the red error', () => {
  assert.equal(toggleNotice('start', status({ state: 'running' })), null);
  assert.equal(toggleNotice('start', status({ state: 'stopped', detail: 'switched off: --redis off' })), 'switched off: --redis off');
  assert.equal(toggleNotice('start', status({ state: 'failed', error: 'connect ECONNREFUSED 127.0.0.1:6379', detail: 'x' })), 'connect ECONNREFUSED 127.0.0.1:6379');
  assert.equal(toggleNotice('start', status({ state: 'stopped' })), 'did not start (stopped)');
  assert.equal(toggleNotice('stop', status({ state: 'stopped', error: 'old' })), null);
  assert.equal(shownError(status({ state: 'failed', error: 'boom' }), null), 'boom');
  assert.equal(shownError(status({ state: 'stopped', error: 'boom' }), null), null, 'stopped: the last error is no longer shown red');
  assert.equal(shownError(status({ state: 'stopped' }), 'switched off: --redis off'), 'switched off: --redis off');
});
