import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** A port free on 127.0.0.1 for both UDP and TCP right now (the OS picks it; tests never collide). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    if (await tcpFree(port)) return port;
  }
  throw new Error('no free port pair found');
}

/** Whether `port` on 127.0.0.1 is free for both UDP and TCP right now (for a port a test must predict). */
export async function isPortFree(port: number): Promise<boolean> {
  const udpFree = await new Promise<boolean>((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  return udpFree && (await tcpFree(port));
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
