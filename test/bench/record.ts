/**
 * Recorder benchmark (issue #15): the relay benchmark's load (N G.711 calls
 * over NG, both directions at 50 packets/s, `../shared/bench/rtp/run-relay.sh`)
 * with recording off and on, for callpath and for rtpengine 10.5 in
 * userspace, in one invocation:
 *   - callpath: without a recorder, then with `--record DIR` and every call
 *     flagged `record call` (decoded stereo WAV + sidecar per call);
 *   - rtpengine: without recording, then `--recording-method=pcap` (raw
 *     packets to pcap files, no decoding: its WAV path needs the kernel
 *     module or rtpengine-recording, which produced no files here).
 * For each: relay CPU µs per packet, loss, and for callpath the recorder's
 * own account from the sidecars (files, packets recorded, drops on the way to it, lost).
 * Extra CPU = (on − off) / off per packet; the target (≤ 25 %, no added
 * relay loss) is judged at the relay's clean capacity, the most calls callpath
 * relayed cleanly without recording. Args: [SECONDS=20] [CALLS="100 250 500"]
 */
import { mkdirSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { labCommand, runScript, sharedBench, type Json } from './shared-bench';

const RECORD_CALL = '{"record call":"yes"}';
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const extra = (on: Json | null, off: Json | null): number | null => {
  const a = num(on?.relay_cpu_us_per_pkt);
  const b = num(off?.relay_cpu_us_per_pkt);
  return a !== null && b !== null && b > 0 ? Math.round(((a - b) / b) * 1000) / 10 : null;
};

const ratioOf = (a: number | null, b: number | null): number | null => (a !== null && b !== null && b > 0 ? Math.round((a / b) * 1000) / 1000 : null);

/** What callpath's recorder says it did, from the sidecars under DIR/YYYY-MM-DD/. */
function sidecars(dir: string): Json {
  const out = { files: 0, wav_bytes: 0, packets: 0, drops: 0, lost: 0, errors: 0, dropped_samples: 0 };
  if (!existsSync(dir)) return out;
  for (const day of readdirSync(dir)) {
    const folder = join(dir, day);
    let names: string[];
    try {
      names = readdirSync(folder).filter((n) => n.endsWith('.json'));
    } catch {
      continue;
    }
    for (const n of names) {
      const m = JSON.parse(readFileSync(join(folder, n), 'utf8')) as { bytes: number; droppedSamples: number; error: string | null; directions: Record<'caller' | 'callee', { packets: number; drops: number; lost: number }> };
      out.files++;
      out.wav_bytes += m.bytes;
      out.dropped_samples += m.droppedSamples;
      if (m.error) out.errors++;
      for (const d of [m.directions.caller, m.directions.callee]) {
        out.packets += d.packets;
        out.drops += d.drops;
        out.lost += d.lost;
      }
    }
  }
  return out;
}

function pick(r: Json | null): Json | null {
  // run-relay.sh gives no verdict of its own: clean as compare.sh defines it, every call set up and loss < 0.1 %.
  const clean = r ? r.setup_failed === 0 && typeof r.loss_pct === 'number' && r.loss_pct < 0.1 : false;
  return r ? { clean, loss_pct: r.loss_pct ?? null, cpu_us_per_pkt: r.relay_cpu_us_per_pkt ?? null, cpu_pct: r.relay_cpu_pct ?? null, lat_p50_us: r.lat_p50_us ?? null } : null;
}

export async function main(args: string[]): Promise<void> {
  const seconds = args[0] ?? '20';
  const steps = (args[1] ?? '100 250 500').split(/[ ,]+/).filter(Boolean);
  const rtp = join(sharedBench(), 'rtp');
  const relay = join(rtp, 'run-relay.sh');
  const flags = '--ng 127.0.0.1:$NG_PORT --rtp 127.0.0.1:$PORT_MIN-$PORT_MAX --sip 127.0.0.1:0 --ui off --redis off --wire off';
  const off = { SUT: 'cmd', IMPL: 'callpath', SUT_CMD: labCommand(flags) };
  const on = { SUT: 'cmd', IMPL: 'callpath-record', SUT_CMD: labCommand(`${flags} --record $BENCH_RUN_DIR/recordings`), NG_FLAGS: RECORD_CALL };
  const points: Json[] = [];
  for (const calls of steps) {
    const pcapDir = join(process.env.BENCH_OUT ?? '/tmp/callpath-bench', 'rtp', `rtpengine-pcap-${process.pid}-${calls}`);
    mkdirSync(pcapDir, { recursive: true });
    process.stderr.write(`\n== ${calls} calls, ${seconds} s: rtpengine, rtpengine recording pcap, callpath, callpath recording ==\n`);
    const refOff = await runScript(relay, [calls, seconds], { SUT: 'rtpengine', IMPL: 'rtpengine' });
    const refOn = await runScript(relay, [calls, seconds], { SUT: 'rtpengine', IMPL: 'rtpengine-rec-pcap', RTPE_EXTRA: `--recording-method=pcap --recording-dir=${pcapDir}`, NG_FLAGS: RECORD_CALL });
    const oursOff = await runScript(relay, [calls, seconds], off);
    const oursOn = await runScript(relay, [calls, seconds], on);
    const recorder = typeof oursOn?.run_dir === 'string' ? sidecars(join(oursOn.run_dir, 'recordings')) : null;
    points.push({
      calls: Number(calls),
      callpath: { off: pick(oursOff), recording: pick(oursOn), extra_cpu_pct: extra(oursOn, oursOff), recorder },
      rtpengine: { off: pick(refOff), recording_pcap: pick(refOn), extra_cpu_pct: extra(refOn, refOff) },
      // Recording's whole cost per packet, callpath (decoded WAVs) ÷ rtpengine (raw pcap), same run.
      ratio_cpu_per_pkt_recording: ratioOf(num(oursOn?.relay_cpu_us_per_pkt), num(refOn?.relay_cpu_us_per_pkt)),
    });
  }
  // The target is at the relay's clean capacity: the most calls at which callpath relayed cleanly without recording.
  type Point = { calls: number; callpath: { extra_cpu_pct: number | null; off: Json | null; recording: Json | null; recorder: Json | null } };
  const clean = (points as Point[]).filter((p) => p.callpath.off?.clean === true);
  const atCapacity = clean[clean.length - 1];
  const addedLoss = atCapacity ? (num(atCapacity.callpath.recording?.loss_pct) ?? 0) - (num(atCapacity.callpath.off?.loss_pct) ?? 0) : null;
  process.stdout.write(
    JSON.stringify({
      bench: 'record',
      seconds: Number(seconds),
      points,
      target_at_clean_capacity: atCapacity
        ? { calls: atCapacity.calls, extra_cpu_le_25pct: atCapacity.callpath.extra_cpu_pct !== null ? atCapacity.callpath.extra_cpu_pct <= 25 : null, extra_cpu_pct: atCapacity.callpath.extra_cpu_pct, added_relay_loss_pct: addedLoss, recorder_drops: atCapacity.callpath.recorder?.drops ?? null }
        : null,
    }) + '\n',
  );
}
