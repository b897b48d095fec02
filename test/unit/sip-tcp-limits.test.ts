/** SIP/TCP connection bounds (issue #12): defaults from the descriptor limit, and the flags that set them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLabArgs, DEFAULT_CONFIG } from '../../app/config';
import { readOpenFileLimit, resolveTcpLimits } from '../../engine/sip/transport/tcp-limits';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test('reads the soft open-file limit from /proc/self/limits, and says when it had to assume one', () => {
  assert.deepEqual(readOpenFileLimit(() => LIMITS), { soft: 1024, source: '/proc/self/limits' });
  assert.equal(readOpenFileLimit(() => LIMITS.replace('1024 ', 'unlimited ')).soft, Number.MAX_SAFE_INTEGER);
  const missing = readOpenFileLimit(() => {
    throw Object.assign(new Error('no'), { code: 'ENOENT' });
  });
  assert.equal(missing.soft, 1024);
  assert.match(missing.source, /assumed/);
  // This process, for real: a number, from /proc on Linux.
  assert.ok(readOpenFileLimit().soft > 0);
});

test('default bounds leave a quarter of the descriptors (at least 256) to the console, at most 4096 connections, a quarter of them per source', () => {
  const auto = { maxConnections: null, maxPerSource: null, idleS: 120 };
  assert.deepEqual(resolveTcpLimits(auto, 1024), { maxConnections: 768, maxPerSource: 192, idleMs: 120_000 });
  assert.deepEqual(resolveTcpLimits(auto, 20_000), { maxConnections: 4096, maxPerSource: 1024, idleMs: 120_000 });
  assert.equal(resolveTcpLimits(auto, 256).maxConnections, 16);
  // Set by hand: wins, but never past what the descriptor limit leaves, and per source never past the total.
  assert.deepEqual(resolveTcpLimits({ maxConnections: 100, maxPerSource: 500, idleS: 5 }, 20_000), { maxConnections: 100, maxPerSource: 100, idleMs: 5000 });
  assert.equal(resolveTcpLimits({ maxConnections: 100_000, maxPerSource: null, idleS: 5 }, 1024).maxConnections, 768);
});

test('--tcp-max-conns, --tcp-max-per-source and --tcp-idle are read from flags and the config file, and checked', () => {
  const parse = (argv: string[], file = '{}') => parseLabArgs(argv, {}, () => file);
  const d = parse([]);
  assert.ok(d.ok);
  assert.equal(d.config.tcpMaxConns, null);
  assert.equal(d.config.tcpMaxPerSource, null);
  assert.equal(d.config.tcpIdleS, 120);
  assert.equal(DEFAULT_CONFIG.tcpIdleS, 120);
  const r = parse(['--tcp-max-conns', '500', '--tcp-max-per-source=50', '--tcp-idle', '30']);
  assert.ok(r.ok);
  assert.deepEqual([r.config.tcpMaxConns, r.config.tcpMaxPerSource, r.config.tcpIdleS], [500, 50, 30]);
  const f = parse(['--config', 'c.json'], '{"tcpMaxConns": 10, "tcpMaxPerSource": 2, "tcpIdle": 7}');
  assert.ok(f.ok);
  assert.deepEqual([f.config.tcpMaxConns, f.config.tcpMaxPerSource, f.config.tcpIdleS], [10, 2, 7]);
  for (const [argv, msg] of [
    [['--tcp-idle', '0'], /--tcp-idle: 0 is outside 1-86400/],
    [['--tcp-max-conns', 'many'], /--tcp-max-conns: "many" is not a whole number/],
    [['--tcp-max-per-source', '0'], /--tcp-max-per-source: 0 is outside/],
  ] as const) {
    const bad = parse([...argv]);
    assert.ok(!bad.ok);
    assert.match(bad.error, msg);
  }
});
