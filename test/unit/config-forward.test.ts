/**
 * `--forward` and its TLS flags (issue 15): off by default, TCP unless told
 * TLS, the CA file read and checked at start, every bad value one clear
 * line, and the same keys in the JSON config file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { DEFAULT_CONFIG, USAGE, parseLabArgs } from '../../app/config';

const dir = mkdtempSync(join(tmpdir(), 'callpath-config-forward-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CA = join(dir, 'ca.pem');
execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=app.lab', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', CA], { stdio: 'ignore' });
const PEM = readFileSync(CA, 'utf8');

/** A file system of a few files; anything else is ENOENT, as readFileSync says it. */
function files(map: Record<string, string>) {
  return (p: string): string => {
    if (p in map) return map[p]!;
    throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
  };
}
const parse = (argv: string[], fs: Record<string, string> = {}) => parseLabArgs(argv, {}, files(fs));

function error(argv: string[], fs: Record<string, string> = {}): string {
  const r = parse(argv, fs);
  assert.equal(r.ok, false, `expected ${argv.join(' ')} to be refused`);
  return r.ok ? '' : r.error;
}

test('forwarding is off unless --forward names a target; --forward off says so too', () => {
  assert.equal(DEFAULT_CONFIG.forward, null);
  const none = parse([]);
  assert.ok(none.ok);
  assert.equal(none.config.forward, null);
  const off = parse(['--forward', 'off']);
  assert.ok(off.ok);
  assert.equal(off.config.forward, null);
});

test('--forward HOST:PORT alone is plain TCP; localhost is taken as 127.0.0.1 like every other address', () => {
  const r = parse(['--forward', 'localhost:9000']);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.config.forward, { target: { host: '127.0.0.1', port: 9000 }, tls: null });
  const v6 = parse(['--forward=[::1]:9000']);
  assert.ok(v6.ok);
  assert.deepEqual(v6.config.forward?.target, { host: '::1', port: 9000 });
});

test('--forward-tls checks the certificate against the system CAs, --forward-insecure not at all, --forward-ca against the file, read at start', () => {
  const tls = parse(['--forward', '10.0.0.5:9443', '--forward-tls']);
  assert.ok(tls.ok);
  assert.deepEqual(tls.config.forward, { target: { host: '10.0.0.5', port: 9443 }, tls: {} });
  const insecure = parse(['--forward', '10.0.0.5:9443', '--forward-insecure']);
  assert.ok(insecure.ok);
  assert.deepEqual(insecure.config.forward?.tls, { insecure: true }, '--forward-insecure means TLS, unverified');
  const ca = parse(['--forward', '10.0.0.5:9443', '--forward-ca', CA], { [CA]: PEM });
  assert.ok(ca.ok, ca.ok ? '' : ca.error);
  assert.equal(ca.config.forward?.tls?.caFile, CA);
  assert.equal(ca.config.forward?.tls?.ca?.toString('utf8'), PEM, 'the PEM text, for the forwarder to trust');
  assert.equal(ca.config.forward?.tls?.insecure, undefined);
});

test('bad forwarding values are one clear line each, never a crash', () => {
  assert.equal(error(['--forward', '127.0.0.1:0']), '--forward: 0 is outside 1-65535');
  assert.equal(error(['--forward', '127.0.0.1:70000']), '--forward: 70000 is outside 1-65535');
  assert.match(error(['--forward', 'app.example.com:9000']), /^--forward: "app\.example\.com" is not an IP address/);
  assert.match(error(['--forward', '9000']), /^--forward: "9000" is not HOST:PORT/);
  assert.equal(error(['--forward', '127.0.0.1:9000', '--forward-ca', '/nope/ca.pem']), '--forward-ca: cannot read /nope/ca.pem: ENOENT');
  const junk = join(dir, 'junk.pem');
  assert.equal(error(['--forward', '127.0.0.1:9000', '--forward-ca', junk], { [junk]: 'not a certificate\n' }), `--forward-ca: ${junk} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  const broken = join(dir, 'broken.pem');
  assert.match(
    error(['--forward', '127.0.0.1:9000', '--forward-ca', broken], { [broken]: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }),
    new RegExp(`^--forward-ca: certificate 1 in ${broken} does not parse: `),
  );
  assert.match(error(['--forward', '127.0.0.1:9000', '--forward-ca', CA, '--forward-insecure'], { [CA]: PEM }), /^--forward-ca and --forward-insecure contradict each other/);
  assert.equal(error(['--forward-tls']), '--forward-tls needs --forward HOST:PORT');
  assert.equal(error(['--forward', 'off', '--forward-ca', CA], { [CA]: PEM }), '--forward-ca needs --forward HOST:PORT');
  assert.equal(error(['--forward-insecure']), '--forward-insecure needs --forward HOST:PORT');
  assert.equal(error(['--forward']), '--forward needs a value');
  assert.equal(error(['--forward', '127.0.0.1:9000', '--forward-ca']), '--forward-ca needs a value');
});

test('the JSON config file takes forward, forwardTls, forwardCa and forwardInsecure; flags win', () => {
  const file = join(dir, 'lab.json');
  const conf = (o: unknown) => ({ [file]: JSON.stringify(o), [CA]: PEM });
  const tls = parse(['--config', file], conf({ forward: '127.0.0.1:9443', forwardTls: true }));
  assert.ok(tls.ok, tls.ok ? '' : tls.error);
  assert.deepEqual(tls.config.forward, { target: { host: '127.0.0.1', port: 9443 }, tls: {} });
  const ca = parse(['--config', file], conf({ forward: '127.0.0.1:9443', forwardCa: CA }));
  assert.ok(ca.ok, ca.ok ? '' : ca.error);
  assert.equal(ca.config.forward?.tls?.caFile, CA);
  const insecure = parse(['--config', file], conf({ forward: '127.0.0.1:9443', forwardInsecure: true }));
  assert.ok(insecure.ok);
  assert.deepEqual(insecure.config.forward?.tls, { insecure: true });
  const off = parse(['--config', file], conf({ forward: false }));
  assert.ok(off.ok);
  assert.equal(off.config.forward, null);
  const flagWins = parse(['--config', file, '--forward', '127.0.0.1:9000'], conf({ forward: '127.0.0.1:9443' }));
  assert.ok(flagWins.ok);
  assert.equal(flagWins.config.forward?.target.port, 9000);
  assert.match(error(['--config', file], conf({ forward: '127.0.0.1:9443', forwardTls: 'yes' })), /"forwardTls" must be true or false/);
});

test('the usage text lists the forwarding flags and their config keys', () => {
  for (const flag of ['--forward HOST:PORT|off', '--forward-tls', '--forward-ca FILE', '--forward-insecure']) assert.ok(USAGE.includes(flag), flag);
  assert.match(USAGE, /forward, forwardTls, forwardCa, forwardInsecure/);
});
