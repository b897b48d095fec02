/**
 * One UDP socket of the built-in traffic, with the signalling loss the user
 * asked for: each datagram handed to `send` is dropped on purpose with
 * probability `lossPct` (counted, never sent), so the proxy and the other
 * endpoint retransmit as they would over a lossy network. Retransmissions
 * (what a transaction re-sends) are counted here too.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Addr } from './messages';

export class LossyUdp {
  /** Datagrams dropped on purpose, and re-sent by a transaction. */
  dropped = 0;
  retransmitted = 0;
  sendErrors = 0;
  lossPct = 0;
  private constructor(
    private readonly sock: Socket,
    readonly local: Addr,
    private readonly random: () => number,
  ) {}

  static async open(host: string, onMessage: (msg: Buffer, from: RemoteInfo) => void, random: () => number): Promise<LossyUdp> {
    const sock = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    const u = new LossyUdp(sock, { host, port: sock.address().port }, random);
    sock.on('message', onMessage);
    sock.on('error', () => u.sendErrors++);
    return u;
  }

  /** True when it went out or was dropped on purpose (a transaction treats both as sent). */
  send(bytes: Buffer, to: Addr, isRetransmission: boolean): boolean {
    if (isRetransmission) this.retransmitted++;
    if (this.lossPct > 0 && this.random() * 100 < this.lossPct) {
      this.dropped++;
      return true;
    }
    this.sock.send(bytes, to.port, to.host);
    return true;
  }

  /** A datagram without loss (RTP: the loss setting is about signalling). */
  sendRaw(bytes: Buffer, to: Addr): void {
    this.sock.send(bytes, to.port, to.host);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.sock.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
