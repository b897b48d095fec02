/**
 * Export benchmark (issue #5): a 100,000-message selection streamed as pcap,
 * json and txt, with the host's event-loop delay measured meanwhile (the
 * point of streaming in slices), and Wireshark's editcap rewriting the same
 * pcap as the reference in the same run. Prints one JSON line last.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { DEFAULT_CONFIG } from '../../app/config';
import { Host } from '../../app/host';
import type { SipCaptureEvent } from '../../engine/events';
import type { SelectionFormat } from '../../engine/capture/formats';

const MESSAGES = 100_000;
const PER_CALL = 14;

function syntheticCall(host: Host, n: number, t0: number): string {
  const callId = `bench-${n}@127.0.0.1`;
  const labels = ['INVITE', '100 Trying', 'INVITE', '180 Ringing', '180 Ringing', '200 OK', '200 OK', 'ACK', 'ACK', 'BYE', 'BYE', '200 OK', '200 OK', 'INFO'];
  const hops = [['127.0.0.1:5091', '127.0.0.1:5060'], ['127.0.0.1:5060', '127.0.0.1:5091'], ['127.0.0.1:5060', '127.0.0.1:5090'], ['127.0.0.1:5090', '127.0.0.1:5060']];
  labels.slice(0, PER_CALL).forEach((label, i) => {
    const isResp = /^\d/.test(label);
    const [src, dst] = hops[i % 4]!;
    const cseqMethod = i >= 9 ? 'BYE' : i >= 7 ? 'ACK' : 'INVITE';
    const raw = Buffer.from(
      `${isResp ? `SIP/2.0 ${label}` : `${label} sip:service@127.0.0.1:5060 SIP/2.0`}\r\nVia: SIP/2.0/UDP ${src};branch=z9hG4bK-${n}-${i}\r\nFrom: sipp <sip:sipp@127.0.0.1:5091>;tag=${n}\r\nTo: service <sip:service@127.0.0.1:5060>\r\nCall-ID: ${callId}\r\nCSeq: 1 ${cseqMethod}\r\nContact: <sip:sipp@127.0.0.1:5091>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: 129\r\n\r\nv=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`,
    );
    const ev: SipCaptureEvent = { kind: 'sip', tsUs: t0 + i * 1000, direction: isResp ? 'out' : 'in', transport: 'udp', src: src!, dst: dst!, callId, cseqSeq: 1, cseqMethod, method: isResp ? null : label, status: isResp ? Number(label.slice(0, 3)) : null, label, branch: null, size: raw.length, raw, retransmission: false };
    host.engine.events.emit(ev);
  });
  return callId;
}

async function timeExport(host: Host, ids: string[], format: SelectionFormat) {
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const t = performance.now();
  let bytes = 0;
  // The host's export path as the UI takes it: one request by call keys (a live call's key is its Call-ID).
  const out = await host.exportCalls({ keys: ids, format, columnNames: { '127.0.0.1:5091': 'UAC', '127.0.0.1:5090': 'UAS' } });
  const chunks: Buffer[] = [];
  for await (const c of out.chunks) {
    bytes += c.length;
    if (format === 'pcap') chunks.push(c);
  }
  const s = (performance.now() - t) / 1000;
  eld.disable();
  return { format, bytes, seconds: Math.round(s * 1000) / 1000, mb_per_s: Math.round((bytes / 1e6 / s) * 10) / 10, loop_delay_max_ms: Math.round(eld.max / 1e6) - 1, pcap: format === 'pcap' ? Buffer.concat(chunks) : null };
}

export async function main(): Promise<void> {
  const host = new Host({ ...DEFAULT_CONFIG, ui: null, redis: null, ng: null, maxCalls: 100_000 });
  const calls = Math.ceil(MESSAGES / PER_CALL);
  const ids: string[] = [];
  for (let n = 0; n < calls; n++) ids.push(syntheticCall(host, n, 1_700_000_000_000_000 + n * 20_000));
  const results = [];
  let pcap: Buffer | null = null;
  for (const f of ['pcap', 'json', 'txt'] as const) {
    const r = await timeExport(host, ids, f);
    if (r.pcap) pcap = r.pcap;
    results.push({ ...r, pcap: undefined });
    process.stderr.write(`${f}: ${r.bytes} B in ${r.seconds} s = ${r.mb_per_s} MB/s, event-loop delay max ${r.loop_delay_max_ms} ms\n`);
  }
  // Reference: Wireshark's editcap reading that pcap and writing pcapng, same bytes, same run.
  const dir = mkdtempSync(join(tmpdir(), 'callpath-bench-export-'));
  writeFileSync(join(dir, 'sel.pcap'), pcap!);
  const t = performance.now();
  const ed = spawnSync('editcap', ['-F', 'pcapng', join(dir, 'sel.pcap'), join(dir, 'sel.pcapng')]);
  const edS = (performance.now() - t) / 1000;
  const edMBps = ed.status === 0 ? Math.round((statSync(join(dir, 'sel.pcap')).size / 1e6 / edS) * 10) / 10 : null;
  const ours = results.find((r) => r.format === 'pcap')!;
  process.stdout.write(
    JSON.stringify({
      bench: 'export',
      messages: calls * PER_CALL,
      calls,
      callpath: results,
      editcap_pcap_to_pcapng_mb_per_s: edMBps,
      ratio_pcap_vs_editcap: edMBps ? Math.round((ours.mb_per_s / edMBps) * 100) / 100 : null,
    }) + '\n',
  );
}
