import type { SipCaptureEvent, TransportName } from '../events';
import type { SipMessage } from './message';

/** The fields of a message the capture needs, known without re-parsing what we send. */
export type CaptureMeta = Pick<SipCaptureEvent, 'callId' | 'cseqSeq' | 'cseqMethod' | 'method' | 'status' | 'label' | 'branch'>;

export function metaOf(msg: SipMessage): CaptureMeta {
  const sl = msg.startLine;
  return {
    callId: msg.callId,
    cseqSeq: msg.cseq.seq,
    cseqMethod: msg.cseq.method,
    method: sl.kind === 'request' ? sl.method : null,
    status: sl.kind === 'response' ? sl.status : null,
    label: sl.kind === 'request' ? sl.method : `${sl.status} ${sl.reason}`,
    branch: msg.topVia.branch ?? null,
  };
}

/** Meta of a response we build or relay for a request whose meta we know. */
export function responseMeta(request: CaptureMeta, status: number, reason: string, branch: string | null): CaptureMeta {
  return { ...request, method: null, status, label: `${status} ${reason}`, branch };
}

export function captureEvent(
  tsUs: number,
  direction: 'in' | 'out',
  transport: TransportName,
  src: string,
  dst: string,
  meta: CaptureMeta,
  raw: Buffer,
  retransmission: boolean,
): SipCaptureEvent {
  return {
    kind: 'sip',
    tsUs,
    direction,
    transport,
    src,
    dst,
    callId: meta.callId,
    cseqSeq: meta.cseqSeq,
    cseqMethod: meta.cseqMethod,
    method: meta.method,
    status: meta.status,
    label: meta.label,
    branch: meta.branch,
    size: raw.length,
    raw,
    retransmission,
  };
}
