/**
 * Exports of a selection of calls, streamed in chunks that yield to the event
 * loop, so a 100,000-message export neither blocks the host (UI batches, API,
 * capture intake) nor builds the whole file in memory first.
 */
import type { CallRecord } from './call-store';
import { mermaidLadder } from './mermaid';
import { pcapGlobalHeader, pcapRecord, type PcapFlowState } from './pcap';
import { svgLadder, svgLadderSize } from './svg-ladder';
import { textLadder } from './text-ladder';

export const SELECTION_FORMATS = ['pcap', 'json', 'txt', 'md', 'svg'] as const;
export type SelectionFormat = (typeof SELECTION_FORMATS)[number];

/** Messages handled between two yields to the event loop. */
const SLICE = 500;

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export async function* exportSelection(calls: readonly CallRecord[], format: SelectionFormat, jsonCall: (c: CallRecord) => unknown): AsyncGenerator<Buffer> {
  switch (format) {
    case 'pcap': {
      // One file, all messages in time order across the calls: each call's
      // messages are already in time order, so merge them (a heap over the
      // calls) a slice at a time instead of sorting everything in one block.
      const flows: PcapFlowState = new Map();
      yield pcapGlobalHeader();
      const merge = mergeByTime(calls.map((c) => c.messages));
      for (;;) {
        const slice = merge(SLICE);
        if (slice.length === 0) return;
        yield Buffer.concat(slice.map((m) => pcapRecord(m, flows)));
        await yieldToLoop();
      }
    }
    case 'json': {
      yield Buffer.from('{"schemaVersion":1,"exportedBy":"callpath","calls":[\n');
      let n = 0;
      for (let i = 0; i < calls.length; i++) {
        yield Buffer.from((i ? ',\n' : '') + JSON.stringify(jsonCall(calls[i]!)));
        n += calls[i]!.messages.length;
        if (n >= SLICE) {
          n = 0;
          await yieldToLoop();
        }
      }
      yield Buffer.from('\n]}\n');
      return;
    }
    case 'txt':
    case 'md':
    case 'svg': {
      if (format === 'svg') yield Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${svgStackWidth(calls)}" height="${svgStackHeight(calls)}">\n`);
      let y = 0;
      let n = 0;
      for (const c of calls) {
        if (format === 'txt') yield Buffer.from(textLadder(c.callId, c.messages) + '\n\n');
        else if (format === 'md') yield Buffer.from(`## ${c.callId}\n\n\`\`\`mermaid\n${mermaidLadder(c.callId, c.messages)}\`\`\`\n\n`);
        else {
          const one = svgLadder(c.callId, c.messages).replace('<svg ', `<svg y="${y}" `);
          yield Buffer.from(one);
          y += svgLadderSize(0, c.messages.length).height;
        }
        n += c.messages.length;
        if (n >= SLICE) {
          n = 0;
          await yieldToLoop();
        }
      }
      if (format === 'svg') yield Buffer.from('</svg>\n');
      return;
    }
  }
}

/** k-way merge of time-ordered lists; each call returns up to n more items, [] at the end. */
export function mergeByTime<T extends { tsUs: number }>(lists: readonly (readonly T[])[]): (n: number) => T[] {
  const heap: [number, number][] = []; // [list, index]
  const key = (h: [number, number]) => lists[h[0]]![h[1]]!.tsUs;
  const up = (i: number) => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (key(heap[p]!) <= key(heap[i]!)) break;
      [heap[p], heap[i]] = [heap[i]!, heap[p]!];
      i = p;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && key(heap[l]!) < key(heap[m]!)) m = l;
      if (r < heap.length && key(heap[r]!) < key(heap[m]!)) m = r;
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

const columnsOf = (c: CallRecord) => new Set(c.messages.flatMap((m) => [m.src, m.dst])).size;
const svgStackHeight = (calls: readonly CallRecord[]) => calls.reduce((h, c) => h + svgLadderSize(0, c.messages.length).height, 0);
const svgStackWidth = (calls: readonly CallRecord[]) => svgLadderSize(Math.max(1, ...calls.map(columnsOf)), 0).width;
