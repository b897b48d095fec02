import type { Addr } from '../messages';
import type { TrafficSpec } from '../spec';

/** What the traffic thread starts with: the spec, the proxy to call through, the address its sockets bind. */
export interface TrafficStart {
  spec: TrafficSpec;
  proxy: Addr;
  host: string;
}
