import { DEFAULT_CONFIG, type LabConfig } from '../../app/config';
import { Host } from '../../app/host';
import { startLabServer, type LabServer } from '../../app/lab/server';
import { rendererDir } from '../../app/lab/renderer-bundle';
import type { LadderEntry, SipEntry } from '../../app/contract';
import type { SipProxyComponent } from '../../engine/sip/proxy-component';

export interface RunningLab {
  host: Host;
  server: LabServer | null;
  sipPort: number;
  base: string;
  token: string;
  /** Waits until everything the SIP worker handled is captured and counted on this side. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The real host and lab server in-process, on ports the OS picks. The wire
 * tap is off unless a test asks for it (`wire: 'auto'`): dozens of test labs
 * each running a dumpcap would be two cores' worth of noise.
 */
export async function startLab(overrides: Partial<LabConfig> = {}, opts: { ui?: boolean } = {}): Promise<RunningLab> {
  const token = overrides.token ?? 'test-token';
  const config: LabConfig = {
    ...DEFAULT_CONFIG,
    sip: { host: '127.0.0.1', port: 0 },
    // Below Linux's ephemeral ports (32768-60999): a port the OS picks for a test (freePort) can then never fall in the RTP range, which the config refuses.
    rtp: { host: '127.0.0.1', min: 20000, max: 29999 },
    ng: null,
    redis: null,
    wire: 'off',
    ui: opts.ui === false ? null : { host: '127.0.0.1', port: 0 },
    token,
    ...overrides,
  };
  const host = new Host(config);
  await host.start();
  const proxy = host.engine.status('proxy');
  if (config.sip.port === 0 && proxy.state !== 'running') {
    await host.stop();
    throw new Error(`the lab's proxy did not start on a port of the OS's choosing: ${proxy.error ?? proxy.state}`);
  }
  const server = config.ui ? await startLabServer(host, { host: config.ui.host, port: config.ui.port, token, rendererDir: rendererDir() }) : null;
  const sipPort = host.engine.impl<SipProxyComponent>('proxy').port;
  return {
    host,
    server,
    sipPort,
    token,
    base: server ? `http://127.0.0.1:${server.port}` : '',
    settle: async () => {
      await host.engine.impl<SipProxyComponent>('proxy').flush();
      await host.settleWire();
    },
    async stop() {
      await server?.close();
      await host.stop();
    },
  };
}

/** A lab without the UI server for the length of `fn`, stopped however `fn` ends. */
export async function withLab(overrides: Partial<LabConfig>, fn: (lab: RunningLab) => Promise<void>): Promise<void> {
  const lab = await startLab(overrides, { ui: false });
  try {
    await fn(lab);
  } finally {
    await lab.stop();
  }
}

/** A call's SIP entries (the SIP lane of its ladder); none for a call that is not stored. */
export function sipEntries(detail: { entries: readonly LadderEntry[] } | null | undefined): SipEntry[] {
  return (detail?.entries ?? []).filter((e): e is SipEntry => e.lane === 'sip');
}

/** Entries as every ladder and export draws them: in time order, capture order breaking ties. */
export function inTimeOrder<T extends { tsUs: number; index: number }>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => a.tsUs - b.tsUs || a.index - b.index);
}
