/**
 * A PCM consumer for the lab: the story's application at the other end of
 * the recorder's forwarding (record/forward/), listening on loopback TCP.
 * It reads either at full speed or at a set rate in bytes per second (the
 * slow consumer of incident 3): after each chunk it stops reading for as
 * long as that chunk is worth at the rate. Like an application with a
 * fixed pool of workers, it serves at most `maxConnections` at a time and
 * turns the others away at once.
 *
 * Slow reading alone backs a connection up only after megabytes on
 * loopback: Linux grows the sender's socket buffer (tcp_wmem, 4 MiB here)
 * whether or not the receiver reads; measured here, 1.4–2.3 MB went into a
 * connection nobody read before the sender's own queue grew, ~100 s of one
 * leg's audio. The pool bound is what makes the recorder drop within
 * seconds, as a busy application does. Counts what it read; keeps nothing.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface PcmSinkStats {
  port: number;
  /** null: full speed. */
  bytesPerSecond: number | null;
  /** null: any number. */
  maxConnections: number | null;
  connections: number;
  /** Turned away because the pool was full. */
  refused: number;
  open: number;
  bytes: number;
}

export class PcmSink {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private connections = 0;
  private refused = 0;
  private bytes = 0;
  port = 0;

  constructor(
    private rate: number | null,
    private maxConnections: number | null = null,
  ) {}

  async start(host = '127.0.0.1'): Promise<number> {
    const server = createServer((s) => this.accept(s));
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  /** Reads at `bytesPerSecond` from now on, or at full speed (null), serving at most `maxConnections` (null: any); paused connections resume at once. */
  setPace(bytesPerSecond: number | null, maxConnections: number | null): void {
    this.rate = bytesPerSecond;
    this.maxConnections = maxConnections;
    if (bytesPerSecond === null) {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      for (const s of this.sockets) s.resume();
    }
  }

  stats(): PcmSinkStats {
    return { port: this.port, bytesPerSecond: this.rate, maxConnections: this.maxConnections, connections: this.connections, refused: this.refused, open: this.sockets.size, bytes: this.bytes };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(s: Socket): void {
    if (this.maxConnections !== null && this.sockets.size >= this.maxConnections) {
      this.refused++;
      s.destroy();
      return;
    }
    this.connections++;
    this.sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => this.sockets.delete(s));
    s.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      const rate = this.rate;
      if (rate === null) return;
      s.pause();
      const t = setTimeout(() => {
        this.timers.delete(t);
        s.resume();
      }, Math.min(60_000, (chunk.length / rate) * 1000));
      this.timers.add(t);
    });
  }
}
