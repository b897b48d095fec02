import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALIAS_MAX, parseAliases, withAlias } from '../../renderer/src/ladder/aliases';
import { useAliases } from '../../renderer/src/store/aliases';

test('sets, renames and (with an empty name) removes the alias of an address:port, without mutating the old map', () => {
  const a0 = {};
  const a1 = withAlias(a0, '127.0.0.1:5061', '  UAC ');
  assert.deepEqual(a1, { '127.0.0.1:5061': 'UAC' });
  assert.deepEqual(a0, {});
  const a2 = withAlias(a1, '127.0.0.1:5060', 'callpath');
  const a3 = withAlias(a2, '127.0.0.1:5061', 'caller  A');
  assert.deepEqual(a3, { '127.0.0.1:5061': 'caller A', '127.0.0.1:5060': 'callpath' });
  assert.deepEqual(withAlias(a3, '127.0.0.1:5061', '   '), { '127.0.0.1:5060': 'callpath' });
  assert.equal(withAlias(a3, '127.0.0.1:5060', 'callpath'), a3, 'no change: same map');
  assert.equal(withAlias(a3, '10.0.0.1:5060', ''), a3, 'removing a missing alias: same map');
  assert.equal(withAlias({}, 'x:1', 'y'.repeat(100))['x:1']!.length, ALIAS_MAX);
});

test('reads stored aliases defensively: bad JSON, arrays and non-string values are ignored', () => {
  assert.deepEqual(parseAliases(null), {});
  assert.deepEqual(parseAliases('{not json'), {});
  assert.deepEqual(parseAliases('[1,2]'), {});
  assert.deepEqual(parseAliases('"UAC"'), {});
  assert.deepEqual(parseAliases('{"a:1":"UAC","b:2":7,"c:3":"  ","d:4":" UAS "}'), { 'a:1': 'UAC', 'd:4': 'UAS' });
});

test('the store persists aliases as JSON under callpath.aliases', () => {
  const stored = new Map<string, string>();
  const g = globalThis as { localStorage?: unknown };
  const had = 'localStorage' in g;
  const prev = g.localStorage;
  g.localStorage = { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => void stored.set(k, v) };
  try {
    useAliases.getState().setAlias('127.0.0.1:5080', 'UAS');
    assert.deepEqual(parseAliases(stored.get('callpath.aliases') ?? null), { '127.0.0.1:5080': 'UAS' });
    assert.equal(useAliases.getState().aliases['127.0.0.1:5080'], 'UAS');
    useAliases.getState().setAlias('127.0.0.1:5080', '');
    assert.deepEqual(useAliases.getState().aliases, {});
    assert.equal(stored.get('callpath.aliases'), '{}');
  } finally {
    if (had) g.localStorage = prev;
    else delete g.localStorage;
  }
});
