import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_CONFIG, USAGE, defaultDataDir, parseLabArgs, settingsOf } from '../../app/config';

const noFile = (p: string): string => {
  throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
};
const parse = (argv: string[], env: Record<string, string> = {}, readFile = noFile) => parseLabArgs(argv, env, readFile);

function error(argv: string[], readFile = noFile): string {
  const r = parse(argv, {}, readFile);
  assert.equal(r.ok, false, `expected ${argv.join(' ')} to be refused`);
  return r.ok ? '' : r.error;
}

test('no flags gives the documented defaults', () => {
  const r = parse([]);
  assert.ok(r.ok);
  // DEFAULT_CONFIG's data folder comes from this process's env; parseLabArgs's from the env it is given.
  assert.deepEqual(r.config, { ...DEFAULT_CONFIG, dataDir: defaultDataDir({}) });
  assert.equal(r.config.redis, 'auto');
  assert.deepEqual(r.config.sip, { host: '127.0.0.1', port: 5060 });
  // Below the kernel's ephemeral ports (32768-60999 on Linux): no client socket can take a relay port.
  assert.deepEqual(r.config.rtp, { host: '127.0.0.1', min: 16384, max: 32767 });
  assert.deepEqual(r.config.relayTimeouts, { timeout: 60, silentTimeout: 3600, offerTimeout: 3600, finalTimeout: 14400 });
});

test('--rtp off switches the relay off and frees its range from the port-clash check', () => {
  const r = parse(['--rtp', 'off', '--sip', '127.0.0.1:20000']);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.equal(r.config.relayOff, true);
  assert.equal(settingsOf(r.config).rtp, 'off');
  const on = parse(['--rtp', '127.0.0.1:20000-20999']);
  assert.ok(on.ok);
  assert.equal(on.config.relayOff, false);
});

test("reads rtpengine's timeouts, 0 switching one off, and refuses nonsense", () => {
  const r = parse(['--timeout', '5', '--silent-timeout', '0', '--offer-timeout', '30', '--final-timeout', '0', '--rtp-shards', '2', '--rtp-warm', '0', '--strict-source']);
  assert.ok(r.ok);
  assert.deepEqual(r.config.relayTimeouts, { timeout: 5, silentTimeout: 0, offerTimeout: 30, finalTimeout: 0 });
  assert.equal(r.config.rtpShards, 2);
  assert.equal(r.config.rtpWarmPairs, 0);
  assert.equal(r.config.strictSource, true);
  assert.match(error(['--final-timeout', '-1']), /--final-timeout/);
  assert.match(error(['--timeout', 'soon']), /--timeout/);
  assert.match(error(['--rtp-shards', '0']), /--rtp-shards/);
  assert.match(error(['--rtp-warm', '-1']), /--rtp-warm/);
});

test('the relay\'s media path: auto by default, native or node when asked (flag or config file), nothing else', () => {
  const d = parse([]);
  assert.ok(d.ok);
  assert.equal(d.config.mediaPath, 'auto');
  const n = parse(['--media-path', 'node']);
  assert.ok(n.ok);
  assert.equal(n.config.mediaPath, 'node');
  const f = parse(['--config', 'c.json'], {}, () => JSON.stringify({ mediaPath: 'native' }));
  assert.ok(f.ok);
  assert.equal(f.config.mediaPath, 'native');
  assert.match(error(['--media-path', 'kernel']), /--media-path must be auto, native or node, not "kernel"/);
});

test('reads every flag, in both --flag value and --flag=value forms', () => {
  const r = parse(['--sip', '127.0.0.1:5070', '--route=127.0.0.1:5090,[::1]:5091', '--rtp', '127.0.0.1:20000-20999', '--ng', 'off', '--redis', 'redis://127.0.0.1:6390', '--record', '/tmp/rec', '--ui', '127.0.0.1:0', '--token', 'secret', '--t1', '50', '--max-calls', '20', '--max-call-messages', '10000']);
  assert.ok(r.ok);
  const c = r.config;
  assert.deepEqual(c.sip, { host: '127.0.0.1', port: 5070 });
  assert.deepEqual(c.route, [{ host: '127.0.0.1', port: 5090, transport: 'udp' }, { host: '::1', port: 5091, transport: 'udp' }]);
  assert.deepEqual(c.rtp, { host: '127.0.0.1', min: 20000, max: 20999 });
  assert.equal(c.ng, null);
  assert.equal(c.redis, 'redis://127.0.0.1:6390');
  assert.equal(c.record, '/tmp/rec');
  assert.equal(c.token, 'secret');
  assert.equal(c.timers.T1, 50);
  assert.equal(c.maxCalls, 20);
  assert.equal(c.maxCallMessages, 10000);
});

test('--redis takes auto, a URL or off, and auto is the default', () => {
  const redis = (argv: string[], file?: string) => {
    const r = file === undefined ? parse(argv) : parse(['--config', 'lab.json', ...argv], {}, () => file);
    assert.ok(r.ok, r.ok ? '' : r.error);
    return r.config.redis;
  };
  assert.equal(redis([]), 'auto');
  assert.equal(redis(['--redis', 'auto']), 'auto');
  assert.equal(redis(['--redis=redis://127.0.0.1:6390']), 'redis://127.0.0.1:6390');
  assert.equal(redis(['--redis', 'off']), null);
  assert.equal(redis([], '{"redis": "auto"}'), 'auto');
  assert.equal(redis([], '{"redis": false}'), null);
  assert.equal(redis(['--redis', 'auto'], '{"redis": "off"}'), 'auto', 'a flag wins over the file');
  assert.match(error(['--redis', 'automatic']), /^--redis: "automatic" is not a URL \(redis:\/\/HOST:PORT\), "auto" or "off"$/);
  assert.match(USAGE, /--redis auto\|URL\|off .*default auto/);
});

test('--publish-queue bounds the events held for Redis, 10000 by default', () => {
  const q = (argv: string[]) => {
    const r = parse(argv);
    assert.ok(r.ok, r.ok ? '' : r.error);
    return r.config.publishQueue;
  };
  assert.equal(q([]), 10_000);
  assert.equal(q(['--publish-queue', '50']), 50);
  assert.equal(q(['--publish-queue=1']), 1);
  assert.match(error(['--publish-queue', '0']), /^--publish-queue: 0 is outside 1-10000000$/);
  assert.match(error(['--publish-queue', 'lots']), /^--publish-queue: "lots" is not a whole number/);
});

test('the data folder is --data, else $XDG_DATA_HOME/callpath, else ~/.local/share/callpath', () => {
  const dataDir = (argv: string[], env: Record<string, string> = {}, file?: string) => {
    const r = file === undefined ? parse(argv, env) : parse(['--config', 'lab.json', ...argv], env, () => file);
    assert.ok(r.ok, r.ok ? '' : r.error);
    return r.config.dataDir;
  };
  assert.equal(dataDir([], { XDG_DATA_HOME: '/xdg/data', HOME: '/home/eng' }), '/xdg/data/callpath');
  assert.equal(dataDir([], { HOME: '/home/eng' }), '/home/eng/.local/share/callpath');
  assert.equal(dataDir([], { XDG_DATA_HOME: 'relative/data', HOME: '/home/eng' }), '/home/eng/.local/share/callpath', 'a relative $XDG_DATA_HOME is ignored (XDG spec)');
  assert.equal(dataDir([]), join(homedir(), '.local', 'share', 'callpath'));
  assert.equal(dataDir(['--data', '/srv/callpath'], { XDG_DATA_HOME: '/xdg/data' }), '/srv/callpath');
  assert.equal(dataDir(['--data=state']), resolve('state'), 'relative to the current directory');
  assert.equal(dataDir([], {}, '{"data": "/from/file"}'), '/from/file');
  assert.match(error(['--data', ' ']), /^--data needs a directory$/);
  assert.match(USAGE, /--data DIR/);
});

test('a route target may ask for TCP with /tcp', () => {
  const r = parse(['--route', '127.0.0.1:5090/tcp,127.0.0.1:5091/udp']);
  assert.ok(r.ok);
  assert.deepEqual(r.config.route?.map((t) => t.transport), ['tcp', 'udp']);
});

test('the token also comes from CALLPATH_TOKEN, and a flag wins over it', () => {
  const fromEnv = parse([], { CALLPATH_TOKEN: 'envtok' });
  assert.ok(fromEnv.ok && fromEnv.config.token === 'envtok');
  const flag = parse(['--token', 'flagtok'], { CALLPATH_TOKEN: 'envtok' });
  assert.ok(flag.ok && flag.config.token === 'flagtok');
});

test('a JSON config file sets options and flags override it', () => {
  const file = JSON.stringify({ sip: '127.0.0.1:5080', route: ['127.0.0.1:5090'], redis: 'off', t1: 100 });
  const r = parse(['--config', 'lab.json', '--sip', '127.0.0.1:5081'], {}, () => file);
  assert.ok(r.ok);
  assert.deepEqual(r.config.sip, { host: '127.0.0.1', port: 5081 });
  assert.deepEqual(r.config.route, [{ host: '127.0.0.1', port: 5090, transport: 'udp' }]);
  assert.equal(r.config.redis, null);
  assert.equal(r.config.timers.T1, 100);
});

test('refuses bad input with one clear line', () => {
  assert.match(error(['--bogus']), /unknown option --bogus/);
  assert.match(error(['--sip', 'nohost']), /--sip: "nohost" is not HOST:PORT/);
  assert.match(error(['--sip', 'example.com:5060']), /not an IP address/);
  assert.match(error(['--sip', '127.0.0.1:70000']), /70000 is outside 0-65535/);
  assert.match(error(['--rtp', '127.0.0.1:40000-30000']), /impossible port range 40000-30000/);
  assert.match(error(['--rtp', '127.0.0.1:30000-30001']), /fewer than 4 ports/);
  assert.match(error(['--redis', 'http://x']), /must start with redis:\/\//);
  assert.match(error(['--config', '/nope.json']), /cannot read config file \/nope\.json: ENOENT/);
  assert.match(error(['--config', 'x.json'], () => '{not json'), /is not valid JSON/);
  assert.match(error(['--config', 'x.json'], () => '{"sipp": "1"}'), /unknown key "sipp"/);
  assert.match(error(['--sip']), /--sip needs a value/);
  assert.match(error(['stray']), /unexpected argument "stray"/);
  assert.match(error(['--sip', '127.0.0.1:31000']), /inside the --rtp range/);
  for (const argv of [['--bogus'], ['--sip', 'x']]) assert.ok(!error(argv).includes('\n'), 'one line');
});

test('refuses a non-loopback console without a token, and --no-auth off loopback', () => {
  assert.match(error(['--ui', '0.0.0.0:7070']), /without --token/);
  assert.match(error(['--ui', '0.0.0.0:7070', '--no-auth']), /only on a loopback/);
  const ok = parse(['--ui', '0.0.0.0:7070', '--token', 't']);
  assert.ok(ok.ok);
  const loop = parse(['--no-auth']);
  assert.ok(loop.ok && loop.config.auth === false);
});

test('--record-mix: stereo by default, mono mixes both directions; anything else is refused naming the choices; the config file key is recordMix', () => {
  const r = parse([]);
  assert.ok(r.ok && r.config.recordMix === 'stereo');
  const m = parse(['--record-mix', 'mono']);
  assert.ok(m.ok && m.config.recordMix === 'mono' && settingsOf(m.config).recordMix === 'mono');
  assert.equal(error(['--record-mix', 'left']), '--record-mix: "left" is not one of stereo, mono');
  const f = parse(['--config', 'c.json'], {}, () => '{"recordMix": "mono"}');
  assert.ok(f.ok && f.config.recordMix === 'mono');
});
