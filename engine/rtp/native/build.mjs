#!/usr/bin/env node
/**
 * Compiles the relay's native packet path (relay.c, Node-API) into
 * out/native/relay.node with the system's C compiler. Node-API is
 * ABI-stable, so the one binary loads in Node and in Electron alike.
 *
 * Runs on `npm ci` (the package's install script) and in `npm run build`.
 * Without a compiler or Node's headers it says why and exits 0: the relay
 * then moves packets with Node's dgram (slower per packet, same behaviour),
 * and its status says which path runs. `--require` makes that a failure (CI).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const out = join(root, 'out', 'native', 'relay.node');
const require = process.argv.includes('--require');

const includes = [process.env.CALLPATH_NODE_INCLUDE, join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node', join(root, 'node_modules', 'node-api-headers', 'include')].filter(Boolean);
const include = includes.find((dir) => existsSync(join(dir, 'node_api.h')));
const cc = process.env.CC || 'cc';

function give(reason) {
  const msg = `callpath: native relay not built (${reason}); the relay will use Node's dgram`;
  if (require) {
    console.error(msg);
    process.exit(1);
  }
  console.warn(msg);
  process.exit(0);
}

if (!include) give(`no node_api.h in ${includes.join(', ')}; set CALLPATH_NODE_INCLUDE`);
mkdirSync(dirname(out), { recursive: true });
try {
  execFileSync(cc, ['-O2', '-ffp-contract=off', '-std=gnu11', '-Wall', '-Wextra', '-Wno-unused-parameter', '-fPIC', '-shared', '-fvisibility=hidden', '-DNODE_GYP_MODULE_NAME=relay', `-I${include}`, '-o', out, join(here, 'relay.c'), '-lpthread', '-lm'], { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (err) {
  give(`${cc} failed: ${err.message.split('\n')[0]}`);
}
console.log(`callpath: native relay built: ${out}`);
