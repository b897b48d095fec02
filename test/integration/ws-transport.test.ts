import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { apiFromTransport, type LiveBatch } from '../../app/contract';
import { startLabServer } from '../../app/lab/server';
import { rendererDir } from '../../app/lab/renderer-bundle';
import { createWsTransport, wsUrlFromLocation } from '../../app/ws-transport';
import { startLab } from '../helpers/lab';

const waitFor = async (cond: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('the page derives the WebSocket URL from its own address and token', () => {
  assert.equal(wsUrlFromLocation({ protocol: 'http:', host: '127.0.0.1:7070', search: '?token=a b' }), 'ws://127.0.0.1:7070/ws?token=a%20b');
  assert.equal(wsUrlFromLocation({ protocol: 'https:', host: 'lab:443', search: '' }), 'wss://lab:443/ws');
});

test('the browser transport drives the real lab: commands, live batches, and reconnect after the server restarts', async () => {
  const lab = await startLab();
  const port = lab.server!.port;
  let server = lab.server!;
  const transport = createWsTransport(`ws://127.0.0.1:${port}/ws?token=${lab.token}`, {
    WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
    invokeTimeoutMs: 2_000,
  });
  const api = apiFromTransport(transport);
  assert.equal(api.showRecording, null, 'the browser downloads recordings; only the desktop app opens their folder');
  assert.equal(api.recordingUrl?.('/data/recordings/a b.wav'), '/api/recorder/file?path=%2Fdata%2Frecordings%2Fa%20b.wav', 'the lab server serves the files it lists');
  const states: boolean[] = [];
  const batches: LiveBatch[] = [];
  transport.onConnection((c) => states.push(c));
  const unsubscribe = api.subscribe((b) => batches.push(b));
  try {
    const snap = await api.getSnapshot();
    assert.equal(snap.components.find((c) => c.name === 'proxy')?.state, 'running');
    assert.equal((await api.setComponent('proxy', 'stop')).state, 'stopped');
    assert.equal(lab.host.engine.status('proxy').state, 'stopped', 'the engine changed, not a copy');
    assert.equal((await api.setComponent('proxy', 'start')).state, 'running');
    await assert.rejects(transport.invoke({ cmd: 'setComponent', name: 'proxy', action: 'explode' } as never), /action must be/);
    await waitFor(() => batches.length >= 2, 3_000, 'live batches');

    // The server goes away: the transport says so, then comes back by itself.
    await server.close();
    await waitFor(() => states.at(-1) === false, 3_000, 'disconnect');
    server = await startLabServer(lab.host, { host: '127.0.0.1', port, token: lab.token, rendererDir: rendererDir() });
    await waitFor(() => states.at(-1) === true, 8_000, 'reconnect');
    const before = batches.length;
    await waitFor(() => batches.length > before, 3_000, 'batches after reconnect');
    assert.equal((await api.getSnapshot()).contractVersion, snap.contractVersion);
  } finally {
    unsubscribe();
    transport.close();
    await server.close();
    await lab.host.stop();
  }
});
