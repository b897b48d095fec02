/**
 * The headless lab console: the same React UI, a JSON API, /metrics and a
 * WebSocket carrying the typed contract — for lab boxes without a display.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { CALL_FORMATS, COMPONENT_NAMES, validateCommand, validateExportRequest, type ApplySettingsResult, type ExportRequest, type RecordCallResult, type ServerFrame } from '../contract';
import { ContractError, type Host } from '../host';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '../prometheus';
import { TOKEN_COOKIE, hostHeaderAllowed, presentedToken, tokenMatches } from './auth';
import { loadStatic, resolveStatic } from './static';

export interface LabServerOptions {
  host: string;
  port: number;
  /** null = no auth (only allowed on loopback; the config enforces it). */
  token: string | null;
  /** Built renderer (index.html and assets). */
  rendererDir: string;
}

/** Bytes a browser may leave unread before its live batches are skipped (counted). */
const WS_MAX_BUFFERED = 4 * 1024 * 1024;
/** Largest JSON body (an export selection of 10,000 Call-IDs fits). */
const MAX_BODY = 16 * 1024 * 1024;
const MAX_WS_FRAME = 64 * 1024;
/** Largest capture accepted by POST /api/import. */
const MAX_IMPORT = 256 * 2 ** 20;
/** Largest settings patch (eleven short strings). */
const MAX_SETTINGS_BODY = 64 * 1024;

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export interface LabServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startLabServer(host: Host, opts: LabServerOptions): Promise<LabServer> {
  let boundPort = opts.port;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_FRAME });

  const authorized = (req: IncomingMessage, url: URL) =>
    opts.token === null || tokenMatches(presentedToken(req, url), opts.token);

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof ContractError && !res.headersSent) return sendJson(res, 400, { error: err.message });
      host.engine.drops.count('lab.http', 'handler-error');
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    if (!hostHeaderAllowed(req.headers.host, opts.host, boundPort)) return sendJson(res, 421, { error: 'unexpected Host header' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!authorized(req, url)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="callpath"');
      return sendJson(res, 401, { error: 'missing or wrong token: use Authorization: Bearer T or ?token=T' });
    }
    if (opts.token !== null && url.searchParams.get('token') === opts.token) {
      res.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${encodeURIComponent(opts.token)}; HttpOnly; SameSite=Strict; Path=/`);
    }
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/metrics' && method === 'GET') {
      res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
      res.end(renderPrometheus(host.snapshot()));
      return;
    }
    if (path.startsWith('/api/')) return api(req, res, url, method);
    if (method !== 'GET' && method !== 'HEAD') return sendJson(res, 405, { error: `${method} not allowed here` });
    const file = resolveStatic(opts.rendererDir, path);
    const found = file ? await loadStatic(file) : null;
    if (!found) return sendJson(res, 404, { error: `no such page ${path}` });
    res.writeHead(200, { 'Content-Type': found.type, 'Content-Security-Policy': CSP, 'Cache-Control': 'no-cache' });
    res.end(method === 'HEAD' ? undefined : found.body);
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    const parts = url.pathname.split('/').slice(2).map(safeDecode);
    if (parts.some((p) => p === null)) return sendJson(res, 400, { error: 'bad percent-encoding in path' });
    const [a, b, c, ...rest] = parts as string[];
    if (method === 'GET' && a === 'snapshot' && b === undefined) return sendJson(res, 200, host.snapshot());
    if (method === 'GET' && a === 'calls' && b === undefined) {
      const limitText = url.searchParams.get('limit');
      const command = limitText === null ? { cmd: 'listCalls' } : { cmd: 'listCalls', limit: Number(limitText) };
      return invoke(res, command);
    }
    if (method === 'GET' && a === 'calls' && b !== undefined && c === undefined) {
      const from = url.searchParams.get('from');
      if (from !== null && !/^\d{1,15}$/.test(from)) return sendJson(res, 400, { error: 'from must be a whole number (an entry index)' });
      const call = host.getCall(b, from === null ? 0 : Number(from));
      return call ? sendJson(res, 200, call) : sendJson(res, 404, { error: `no call with key ${b}` });
    }
    const format = /^ladder\.([a-z]+)$/.exec(c ?? '')?.[1];
    if (method === 'GET' && a === 'calls' && b !== undefined && format !== undefined && rest.length === 0) {
      if (!(CALL_FORMATS as readonly string[]).includes(format)) return sendJson(res, 404, { error: `no export format ${format}; one of ${CALL_FORMATS.join(', ')}` });
      return streamExport(res, { keys: [b], format: format as ExportRequest['format'] });
    }
    if (a === 'export' && b === undefined) {
      if (method !== 'POST') return sendJson(res, 405, { error: 'POST {"keys": [...], "format": "pcap|json|txt|md|svg"} or {"query": {"filter", "sort"}, "format"} (one call: any ladder format)' });
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req, MAX_BODY)).toString('utf8'));
      } catch {
        return sendJson(res, 400, { error: 'body must be JSON' });
      }
      const v = validateExportRequest(body);
      if (!v.ok) return sendJson(res, 400, { error: v.error });
      return streamExport(res, v.value);
    }
    if (a === 'import' && b === undefined) {
      if (method !== 'POST') return sendJson(res, 405, { error: 'POST the .pcap or .pcapng file as the request body (?name=FILE names its source)' });
      const body = await readBody(req, MAX_IMPORT);
      return sendJson(res, 200, host.importCapture(body, url.searchParams.get('name') ?? 'capture'));
    }
    if (a === 'components' && b !== undefined && c !== undefined && rest.length === 0) {
      if (method !== 'POST') return sendJson(res, 405, { error: 'use POST to start or stop a component' });
      await drainBody(req);
      if (!COMPONENT_NAMES.includes(b as never)) return sendJson(res, 404, { error: `no component ${b}; one of ${COMPONENT_NAMES.join(', ')}` });
      return invoke(res, { cmd: 'setComponent', name: b, action: c });
    }
    if (a === 'relay' && b === 'release-orphans' && c === undefined) {
      if (method !== 'POST') return sendJson(res, 405, { error: 'use POST to release the orphaned relay sessions' });
      await drainBody(req);
      return invoke(res, { cmd: 'releaseOrphans' });
    }
    if (a === 'recorder' && b === 'file' && c === undefined) {
      if (method !== 'GET') return sendJson(res, 405, { error: 'GET /api/recorder/file?path=PATH (a WAV or sidecar the recorder lists)' });
      const file = host.recordingFile(url.searchParams.get('path') ?? '');
      if (!file) return sendJson(res, 404, { error: 'not a recording the recorder lists (it must be running; only its active and recent files)' });
      return sendFile(res, file.path, file.type);
    }
    if (a === 'recorder' && b === 'calls' && c !== undefined && rest.length === 1 && (rest[0] === 'start' || rest[0] === 'stop')) {
      if (method !== 'POST') return sendJson(res, 405, { error: 'use POST to start or stop recording a call' });
      await drainBody(req);
      return invoke(res, { cmd: 'recordCall', callId: c, on: rest[0] === 'start' }, (r) => ((r as RecordCallResult).ok ? 200 : 409));
    }
    if (a === 'incidents' && b === 'stop' && c === undefined) {
      if (method !== 'POST') return sendJson(res, 405, { error: 'use POST to stop the incident' });
      await drainBody(req);
      return invoke(res, { cmd: 'stopIncident' });
    }
    if (a === 'incidents' && b !== undefined && c !== undefined && rest.length === 0) {
      if (method !== 'POST') return sendJson(res, 405, { error: 'use POST /api/incidents/{id}/{bad|fixed}[?quick=1] to run an incident' });
      await drainBody(req);
      // Validated by the contract: an unknown id or phase is a 400 that lists the right ones.
      return invoke(res, { cmd: 'runIncident', id: b, phase: c, quick: url.searchParams.get('quick') === '1' });
    }
    if (a === 'settings' && b === undefined) {
      if (method === 'GET') return invoke(res, { cmd: 'getSettings' });
      if (method !== 'POST') return sendJson(res, 405, { error: 'GET the settings, or POST a JSON patch such as {"t1": "250"}' });
      let patch: unknown;
      try {
        patch = JSON.parse((await readBody(req, MAX_SETTINGS_BODY, 'settings patch')).toString('utf8'));
      } catch (err) {
        if (err instanceof ContractError) throw err;
        return sendJson(res, 400, { error: 'body must be JSON' });
      }
      // Same command as the UI's; a refused value is 400 with the field and the error line.
      return invoke(res, { cmd: 'applySettings', patch }, (r) => ((r as ApplySettingsResult).ok ? 200 : 400));
    }
    return sendJson(res, 404, { error: `no API route ${method} ${url.pathname}` });
  }

  /**
   * An export streamed with backpressure (chunked). The calls were frozen
   * when it started, so the body is complete in its format; if producing it
   * fails midway the connection is aborted, never ended as if complete.
   */
  async function streamExport(res: ServerResponse, request: ExportRequest): Promise<void> {
    const out = await host.exportCalls(request);
    if (out.found === 0) return sendJson(res, 404, { error: 'none of those calls is stored any more' });
    res.writeHead(200, {
      'Content-Type': out.contentType,
      'Content-Disposition': `attachment; filename="${out.name}"`,
      'Cache-Control': 'no-store',
      'X-Callpath-Calls': String(out.found),
      'X-Callpath-Missing': String(out.missing),
    });
    try {
      for await (const chunk of out.chunks) {
        if (res.destroyed) return; // the client went away: stop producing
        if (!res.write(chunk)) await drained(res);
      }
      res.end();
    } catch (err) {
      host.engine.drops.count('lab.http', 'export-aborted');
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** A contract command over HTTP: 400 when it is malformed; `status` picks the code from the result (default 200). */
  async function invoke(res: ServerResponse, command: unknown, status: (result: unknown) => number = () => 200): Promise<void> {
    const v = validateCommand(command);
    if (!v.ok) return sendJson(res, 400, { error: v.error });
    const result = await host.invoke(v.value);
    return sendJson(res, status(result), result);
  }

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const origin = req.headers.origin;
    const reject = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/ws') return reject('404 Not Found');
    if (!hostHeaderAllowed(req.headers.host, opts.host, boundPort)) return reject('421 Misdirected Request');
    // Browsers always send Origin on WebSocket; a foreign page must not ride the cookie.
    if (origin !== undefined && origin !== `http://${req.headers.host}`) return reject('403 Forbidden');
    if (!authorized(req, url)) return reject('401 Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws));
  });

  function serveSocket(ws: WebSocket): void {
    const send = (f: ServerFrame) => ws.send(JSON.stringify(f));
    send({ type: 'hello', contractVersion: host.snapshot().contractVersion });
    const unsubscribe = host.subscribe((batch) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > WS_MAX_BUFFERED) {
        // A slow browser must not grow our memory; it re-lists calls when it catches up.
        host.engine.drops.count('lab.ws', 'slow-consumer-batch');
        return;
      }
      send({ type: 'batch', batch });
    });
    ws.on('message', (data, isBinary) => {
      let frame: unknown;
      try {
        frame = isBinary ? null : JSON.parse(data.toString());
      } catch {
        frame = null;
      }
      const f = frame as { type?: unknown; id?: unknown; command?: unknown } | null;
      if (!f || f.type !== 'invoke' || !Number.isInteger(f.id)) {
        host.engine.drops.count('lab.ws', 'bad-frame');
        return;
      }
      const id = f.id as number;
      host.invoke(f.command).then(
        (value) => send({ type: 'result', id, ok: true, value }),
        (err: unknown) => send({ type: 'result', id, ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
    });
    ws.on('close', unsubscribe);
    ws.on('error', () => host.engine.drops.count('lab.ws', 'socket-error'));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  boundPort = (server.address() as AddressInfo).port;
  const h = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const base = `http://${h}:${boundPort}/`;
  return {
    port: boundPort,
    url: opts.token ? `${base}?token=${encodeURIComponent(opts.token)}` : base,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A file streamed as an attachment; a file gone meanwhile is a 404, an error midway aborts the response. */
async function sendFile(res: ServerResponse, path: string, type: string): Promise<void> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return sendJson(res, 404, { error: `the file is gone: ${basename(path)}` });
  }
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': String(size), 'Content-Disposition': `attachment; filename="${basename(path).replace(/[^\w.-]/g, '_')}"`, 'Cache-Control': 'no-store' });
  await new Promise<void>((resolve) => {
    const stream = createReadStream(path);
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    stream.on('end', resolve);
    stream.pipe(res);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

/** Resolves when the response can take more, or is gone; removes both listeners either way (one pair per wait, never piling up). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

async function readBody(req: IncomingMessage, max: number, what = 'capture'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req) {
    n += (chunk as Buffer).length;
    if (n > max) throw new ContractError(`${what} larger than ${max >= 2 ** 20 ? `${max / 2 ** 20} MiB` : `${max / 1024} KiB`}`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function drainBody(req: IncomingMessage): Promise<void> {
  let n = 0;
  for await (const chunk of req) {
    n += (chunk as Buffer).length;
    if (n > MAX_BODY) throw new ContractError('request body too large');
  }
}
