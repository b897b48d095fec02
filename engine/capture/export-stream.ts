/**
 * Exports of a selection of calls, streamed in chunks that yield to the event
 * loop, so a 100,000-message export neither blocks the host (UI batches, API,
 * capture intake) nor builds the whole file in memory first.
 *
 * Time order everywhere: the pcap holds every call's SIP messages interleaved
 * by timestamp; each ladder (txt, md, svg) is the one ladder model's.
 */
import type { CallRecord } from '../call/model';
import type { SipCaptureEvent } from '../events';
import { ladderEvents, sipEntriesByTime } from '../ladder/entries';
import { buildLadder } from '../ladder/model';
import { EXPORT_SCHEMA_VERSION, type ExportOptions, type SelectionFormat } from './formats';
import { mermaidLadder } from './mermaid';
import { pcapGlobalHeader, pcapRecord, type PcapFlowState } from './pcap';
import { svgLadderSize, svgOfModel } from './svg-ladder';
import { textLadder } from './text-ladder';

/** Entries handled between two yields to the event loop. */
const SLICE = 500;

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export async function* exportSelection(calls: readonly CallRecord[], format: SelectionFormat, opts: ExportOptions): AsyncGenerator<Buffer> {
  switch (format) {
    case 'pcap': {
      // One file, every SIP message in time order across the calls. A call's
      // entries are in capture order, which is not time order (a response
      // forwarded before an earlier one is captured), so each call's SIP
      // entries are sorted first, then merged (a heap over the calls) a
      // slice at a time instead of sorting everything in one block.
      const lists: SipCaptureEvent[][] = [];
      let n = 0;
      for (const c of calls) {
        lists.push(sipEntriesByTime(c));
        n += c.entries.length;
        if (n >= SLICE) {
          n = 0;
          await yieldToLoop();
        }
      }
      const flows: PcapFlowState = new Map();
      yield pcapGlobalHeader();
      const merge = mergeByTime(lists);
      for (;;) {
        const slice = merge(SLICE);
        if (slice.length === 0) return;
        yield Buffer.concat(slice.map((m) => pcapRecord(m, flows)));
        await yieldToLoop();
      }
    }
    case 'json': {
      yield Buffer.from(`{"schemaVersion":${EXPORT_SCHEMA_VERSION},"exportedBy":"callpath","columnNames":${JSON.stringify(opts.columnNames)},"calls":[\n`);
      let n = 0;
      for (let i = 0; i < calls.length; i++) {
        yield Buffer.from((i ? ',\n' : '') + JSON.stringify(opts.json(calls[i]!)));
        n += calls[i]!.entries.length;
        if (n >= SLICE) {
          n = 0;
          await yieldToLoop();
        }
      }
      yield Buffer.from('\n]}\n');
      return;
    }
    case 'txt':
    case 'md': {
      let n = 0;
      for (const c of calls) {
        if (format === 'txt') yield Buffer.from(textLadder(c, opts.columnNames) + '\n\n');
        else yield Buffer.from(`## ${c.callId}\n\n\`\`\`mermaid\n${mermaidLadder(c, opts.columnNames)}\`\`\`\n\n`);
        n += c.entries.length;
        if (n >= SLICE) {
          n = 0;
          await yieldToLoop();
        }
      }
      return;
    }
    case 'svg': {
      // The outer size first (one pass over the models, keeping only their
      // sizes), then each call's ladder stacked below the previous one.
      const sizes: { width: number; height: number }[] = [];
      let n = 0;
      for (const c of calls) {
        const m = buildLadder(ladderEvents(c), { columnNames: opts.columnNames });
        sizes.push(svgLadderSize(m.columns.length, m.arrows.length));
        n += c.entries.length;
        if (n >= SLICE) {
          n = 0;
          await yieldToLoop();
        }
      }
      const width = sizes.reduce((w, s) => Math.max(w, s.width), svgLadderSize(1, 0).width);
      const height = sizes.reduce((h, s) => h + s.height, 0);
      yield Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">\n`);
      let y = 0;
      for (let i = 0; i < calls.length; i++) {
        const c = calls[i]!;
        const one = svgOfModel(c.callId, buildLadder(ladderEvents(c), { columnNames: opts.columnNames }));
        yield Buffer.from(one.replace('<svg ', `<svg y="${y}" `));
        y += sizes[i]!.height;
        n += c.entries.length;
        if (n >= SLICE) {
          n = 0;
          await yieldToLoop();
        }
      }
      yield Buffer.from('</svg>\n');
      return;
    }
  }
}

/**
 * k-way merge of lists each already in time order; each call returns up to n
 * more items, [] at the end. Equal timestamps keep list order (the earlier
 * list first), so the merge is deterministic.
 */
export function mergeByTime<T extends { tsUs: number }>(lists: readonly (readonly T[])[]): (n: number) => T[] {
  const heap: [number, number][] = []; // [list, index]
  const less = (a: [number, number], b: [number, number]) => {
    const ta = lists[a[0]]![a[1]]!.tsUs;
    const tb = lists[b[0]]![b[1]]!.tsUs;
    return ta < tb || (ta === tb && a[0] < b[0]);
  };
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[p], heap[i]] = [heap[i]!, heap[p]!];
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[m], heap[i]] = [heap[i]!, heap[m]!];
      i = m;
    }
  };
  lists.forEach((l, k) => {
    if (l.length > 0) {
      heap.push([k, 0]);
      up(heap.length - 1);
    }
  });
  return (n: number) => {
    const out: T[] = [];
    while (out.length < n && heap.length > 0) {
      const top = heap[0]!;
      out.push(lists[top[0]]![top[1]]!);
      if (top[1] + 1 < lists[top[0]]!.length) heap[0] = [top[0], top[1] + 1];
      else {
        const last = heap.pop()!;
        if (heap.length === 0) break;
        heap[0] = last;
      }
      down(0);
    }
    return out;
  };
}
