/**
 * Which payload types of one direction went into the WAV and which did not,
 * for the metadata sidecar: counted per payload type as packets are drained,
 * named from the SDP's map over RFC 3551's static table.
 *
 * "Decoded" is the Playout's own rule, `g711Codec` (g711.ts): PCMU or PCMA
 * (any case) at 8000 Hz.
 */
import { STATIC_PAYLOAD_TYPES, type PayloadFormat } from '../rtp/stream-stats';
import type { UndecodedPayload } from './metadata';
import { g711Codec } from './g711';

const PAYLOAD_TYPES = 128;
/** RFC 3551 §6 reserves 19, which drafts gave to comfort noise; the Playout skips it as CN. */
const OLD_CN: PayloadFormat = { name: 'CN', rate: 8000 };

export class PayloadCounts {
  private readonly counts = new Uint32Array(PAYLOAD_TYPES);

  constructor(private readonly map: ReadonlyMap<number, PayloadFormat> = new Map()) {}

  count(pt: number): void {
    this.counts[pt & 0x7f]!++;
  }

  /** The format the Playout uses for `pt`: the SDP's, else RFC 3551's. */
  format(pt: number): PayloadFormat | null {
    return this.map.get(pt) ?? STATIC_PAYLOAD_TYPES.get(pt) ?? (pt === 19 ? OLD_CN : null);
  }

  /** "PCMU", or "PCMU, PCMA" after a codec change; null when no packet was decodable. */
  decodedCodec(): string | null {
    const names: string[] = [];
    for (let pt = 0; pt < PAYLOAD_TYPES; pt++) {
      if (this.counts[pt] === 0) continue;
      const name = decodableName(this.format(pt));
      if (name !== null && !names.includes(name)) names.push(name);
    }
    return names.length === 0 ? null : names.join(', ');
  }

  /** Every payload type seen that was not decoded, lowest first, with its packets. */
  undecoded(): UndecodedPayload[] {
    const out: UndecodedPayload[] = [];
    for (let pt = 0; pt < PAYLOAD_TYPES; pt++) {
      const packets = this.counts[pt]!;
      if (packets === 0) continue;
      const f = this.format(pt);
      if (decodableName(f) !== null) continue;
      out.push({ payloadType: pt, name: f !== null && typeof f.name === 'string' && f.name !== '' ? f.name : null, packets });
    }
    return out;
  }
}

function decodableName(f: PayloadFormat | null): string | null {
  return f === null || typeof f.name !== 'string' ? null : g711Codec(f.name, f.rate);
}
