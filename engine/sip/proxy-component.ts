/**
 * The SIP proxy as an engine component: UDP and TCP on one address, the
 * proxy core behind them, and the lifecycle every part shares.
 */
import type { ComponentImpl } from '../component';
import type { EngineContext } from '../engine';
import { frameStream } from './message';
import { ProxyCore } from './proxy/core';
import type { NextHop } from './proxy/routing';
import { EMPTY_PROXY_STATS, type ProxyStats } from './stats';
import { createRealTimerHost, type TimerValues } from './transaction';
import { openTcpTransport, type StreamFramer } from './transport/tcp';
import { peerKey, type SipTransport } from './transport/types';
import { openUdpTransport } from './transport/udp';

export interface ProxyOptions {
  listen: { host: string; port: number };
  /** Round-robin targets for initial requests; null routes by Request-URI. */
  route: { host: string; port: number }[] | null;
  timers: { t1: number; t2: number; t4: number };
}

const frame: StreamFramer = (buf) => {
  const r = frameStream(buf);
  if ('messageLength' in r) return { length: r.skip + r.messageLength, skip: r.skip };
  if ('need' in r) return { need: 'more' };
  return { error: r.error.reason };
};

export class SipProxyComponent implements ComponentImpl {
  readonly name = 'proxy' as const;
  private core: ProxyCore | null = null;
  private udp: (SipTransport & { port: number }) | null = null;
  private tcp: SipTransport | null = null;
  private boundPort: number;

  constructor(
    private readonly ctx: EngineContext,
    private readonly opts: ProxyOptions,
  ) {
    this.boundPort = opts.listen.port;
  }

  get endpoint(): string {
    return `udp+tcp ${peerKey({ address: this.opts.listen.host, port: this.boundPort })}`;
  }

  /** The port actually bound (differs from the config when it asked for 0). */
  get port(): number {
    return this.boundPort;
  }

  detail(): string | null {
    const r = this.opts.route;
    return r ? `routes to ${r.map((t) => peerKey({ address: t.host, port: t.port })).join(', ')} (round robin)` : 'routes by Request-URI';
  }

  stats(): ProxyStats {
    return this.core?.stats() ?? EMPTY_PROXY_STATS;
  }

  async start(): Promise<void> {
    const { host } = this.opts.listen;
    const timers: TimerValues = { T1: this.opts.timers.t1, T2: this.opts.timers.t2, T4: this.opts.timers.t4 };
    let core: ProxyCore | null = null;
    const deliver = (data: Buffer, peer: Parameters<ProxyCore['receive']>[1]) => core?.receive(data, peer);
    try {
      // A restart keeps the port it had, even when the config asked the OS to pick one.
      this.udp = await openUdpTransport(host, this.boundPort || this.opts.listen.port, deliver, this.ctx.drops, (err) => this.ctx.fail('proxy', err));
      this.boundPort = this.udp.port;
      // TCP shares the UDP port number (RFC 3261 §18: one sent-by for both).
      this.tcp = await openTcpTransport(host, this.boundPort, deliver, frame, this.ctx.drops);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? 'address in use' : e.code === 'EADDRNOTAVAIL' ? 'address not available on this host' : e.message;
      throw new Error(`cannot listen on ${peerKey({ address: host, port: this.opts.listen.port })}: ${why}`);
    }
    const targets: NextHop[] | null = this.opts.route ? this.opts.route.map((t) => ({ address: t.host, port: t.port, transport: 'udp' })) : null;
    core = new ProxyCore({
      self: { host, port: this.boundPort },
      targets,
      timers,
      timerHost: createRealTimerHost(),
      clock: this.ctx.clock,
      events: this.ctx.events,
      drops: this.ctx.drops,
    });
    core.attach(this.udp, this.tcp);
    this.core = core;
  }

  async stop(): Promise<void> {
    this.core?.detach();
    this.core = null;
    await Promise.all([this.udp?.close(), this.tcp?.close()]);
    this.udp = null;
    this.tcp = null;
  }
}

export function createProxy(ctx: EngineContext, opts: ProxyOptions): SipProxyComponent {
  return new SipProxyComponent(ctx, opts);
}
