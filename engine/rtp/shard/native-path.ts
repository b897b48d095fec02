/**
 * The relay shard's packets through the native packet thread
 * (`../native/relay.c`): this thread binds and hands over sockets and asks
 * for figures; the packets never reach JS, except those the recorder taps,
 * which arrive as batches and go on through the shard's capture flow like
 * the dgram path's (`node-path.ts`).
 */
import { FIGURE_FIELDS, type NativeRelayAddon, type NativeRelayHandle, type NativeSideFigures } from '../native/addon';
import { payloadTableFor, type PayloadTable } from '../stream-stats';
import type { MediaPath } from './media-path';
import type { OpenResult, ShardCall, SideFigures, SlotFigures } from './protocol';
import { readTap, type TapPacket, type TapWriter } from './tap';

export interface NativePathOptions {
  addon: NativeRelayAddon;
  host: string;
  strictSource: boolean;
  /** The engine clock now, µs. */
  engineNowUs: number;
  /** The shard's tap flow (`ThreadSide.capture`). */
  capture(p: TapPacket): void;
  tap: TapWriter;
}

const F = Object.fromEntries(FIGURE_FIELDS.map((name, i) => [name, i])) as Record<(typeof FIGURE_FIELDS)[number], number>;

interface Stream {
  table: PayloadTable;
  ports: readonly number[];
  fds: readonly number[];
}


/** One side of relay.c's figures as the contract carries them (`codec` named from the stream's payload table). */
export function sideFigures([n, latched]: NativeSideFigures, table: PayloadTable): SideFigures {
  const started = n[F.started] === 1;
  const orNull = (v: number) => (started ? v : null);
  const pt = n[F.payloadType]!;
  return {
    packets: n[F.packets]!,
    bytes: n[F.bytes]!,
    ssrc: orNull(n[F.ssrc]!),
    ssrcChanges: n[F.ssrcChanges]!,
    firstSeq: orNull(n[F.firstSeq]!),
    payloadType: orNull(pt),
    codec: started ? table.codecs[pt]! : null,
    expected: n[F.expected]!,
    lost: n[F.lost]!,
    sequenceErrors: n[F.sequenceErrors]!,
    maxDeltaMs: n[F.maxDeltaMs]!,
    jitterMs: n[F.jitterMs]!,
    maxJitterMs: n[F.maxJitterMs]!,
    meanJitterMs: n[F.meanJitterMs]!,
    firstUs: orNull(n[F.firstUs]!),
    lastUs: orNull(n[F.lastUs]!),
    latched,
    rtcpPackets: n[F.rtcpPackets]!,
  };
}

export function createNativePath(o: NativePathOptions): MediaPath {
  const a = o.addon;
  const r: NativeRelayHandle = a.create(o.engineNowUs, o.strictSource, (batch) => {
    for (const p of readTap(batch)) o.capture(p);
  });
  /** Bound sockets no stream holds (warm or lent), by port. */
  const warm = new Map<number, number>();
  const streams = new Map<number, Stream>();

  /** A warm socket for the port, or a new one bound to it (throws when another process holds the port). */
  const take = (port: number): number => {
    const fd = warm.get(port);
    if (fd !== undefined) {
      warm.delete(port);
      return fd;
    }
    return a.bind(r, o.host, port);
  };

  const slotFigures = (slot: number, f: [NativeSideFigures, NativeSideFigures], table: PayloadTable): SlotFigures => ({ slot, sides: [sideFigures(f[0], table), sideFigures(f[1], table)] });

  function open(c: Extract<ShardCall, { op: 'open' }>): OpenResult {
    if (streams.has(c.slot)) return { ok: true }; // a repeated open (a retransmitted offer): already bound
    const ports = [c.ports[0], c.ports[0] + 1, c.ports[1], c.ports[1] + 1];
    const fds: number[] = [];
    const busy: number[] = [];
    let error = '';
    for (const port of ports) {
      try {
        fds.push(take(port));
      } catch (err) {
        if (!busy.includes(port & ~1)) busy.push(port & ~1);
        error ||= (err as Error).message;
      }
    }
    if (busy.length > 0) {
      // The pool marks the busy pairs cold and the others released cold: close what was bound.
      for (const fd of fds) a.closeSocket(r, fd);
      return { ok: false, busy, error };
    }
    const table = payloadTableFor(c.clockRates);
    if (!a.open(r, c.slot, fds, table.divisors, table.events, c.recording === true)) {
      for (const fd of fds) a.closeSocket(r, fd);
      return { ok: false, busy: [], error: `native relay refused to open slot ${c.slot}` };
    }
    streams.set(c.slot, { table, ports, fds });
    c.peers.forEach((p, side) => {
      if (p) a.setPeer(r, c.slot, side as 0 | 1, p.address, p.rtpPort, p.rtcpPort);
    });
    a.replay(r, c.slot);
    return { ok: true };
  }

  return {
    name: 'native',
    open,
    peer(slot, side, p) {
      a.setPeer(r, slot, side, p.address, p.rtpPort, p.rtcpPort);
    },
    record(slot, on) {
      return a.record(r, slot, on);
    },
    close(slot, keepWarm) {
      const s = streams.get(slot);
      const f = a.close(r, slot, keepWarm);
      streams.delete(slot);
      if (!s || !f) return null;
      if (keepWarm) s.ports.forEach((port, i) => warm.set(port, s.fds[i]!));
      return slotFigures(slot, f, s.table);
    },
    bindWarm(pairs) {
      const busy: number[] = [];
      for (const rtp of pairs) {
        const had = [warm.get(rtp), warm.get(rtp + 1)];
        // Every unheld native socket holds what arrives for the next open (relay.c), lent or not.
        if (had[0] !== undefined && had[1] !== undefined) continue;
        const bound: number[] = [];
        try {
          bound.push(take(rtp));
          bound.push(take(rtp + 1));
        } catch {
          for (const fd of bound) a.closeSocket(r, fd);
          busy.push(rtp);
          continue;
        }
        bound.forEach((fd, i) => warm.set(rtp + i, fd));
      }
      return busy;
    },
    takeChanged() {
      const out: SlotFigures[] = [];
      for (const slot of a.takeDirty(r)) {
        const s = streams.get(slot);
        const f = a.figures(r, slot);
        if (s && f) out.push(slotFigures(slot, f, s.table));
      }
      return out;
    },
    stats() {
      const t = a.totals(r);
      const dropped = new Map<number, [number, number]>();
      for (const [slot, x, y] of [...o.tap.takeDropped(), ...a.takeTapDropped(r)]) {
        const d = dropped.get(slot) ?? [0, 0];
        dropped.set(slot, [d[0] + x, d[1] + y]);
      }
      return {
        sessions: t[8]!,
        packets: t[0]!,
        bytes: t[1]!,
        garbage: t[2]!,
        strictDrops: t[3]!,
        noPeer: t[4]!,
        stray: t[5]!,
        sendErrors: t[6]!,
        tapOverflow: o.tap.overflow + t[7]!,
        tapDropped: [...dropped].map(([slot, [x, y]]) => [slot, x, y] as [number, number, number]),
      };
    },
    closeAll() {
      a.destroy(r);
      warm.clear();
      streams.clear();
    },
  };
}
