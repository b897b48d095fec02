import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy that holds every reply from the server for `delayMs` before
 * passing it on (requests go through at once): a Redis that answers late,
 * for the inline-publish incident. Replies keep their order (one delay for
 * all), so pipelining still works, only late.
 */
export async function startDelayProxy(target: { host: string; port: number }, delayMs: number): Promise<{ port: number; url: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.on('data', (b) => upstream.write(b));
    upstream.on('data', (b) => {
      setTimeout(() => {
        if (!client.destroyed) client.write(b);
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
