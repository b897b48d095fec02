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
const SLICE = 2_000;

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export async function* exportSelection(calls: readonly CallRecord[], format: SelectionFormat, jsonCall: (c: CallRecord) => unknown): AsyncGenerator<Buffer> {
  switch (format) {
    case 'pcap': {
      // One file, all messages in time order across the calls.
      const all = calls.flatMap((c) => c.messages).sort((a, b) => a.tsUs - b.tsUs);
      const flows: PcapFlowState = new Map();
      yield pcapGlobalHeader();
      for (let i = 0; i < all.length; i += SLICE) {
        yield Buffer.concat(all.slice(i, i + SLICE).map((m) => pcapRecord(m, flows)));
        await yieldToLoop();
      }
      return;
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

const columnsOf = (c: CallRecord) => new Set(c.messages.flatMap((m) => [m.src, m.dst])).size;
const svgStackHeight = (calls: readonly CallRecord[]) => calls.reduce((h, c) => h + svgLadderSize(0, c.messages.length).height, 0);
const svgStackWidth = (calls: readonly CallRecord[]) => svgLadderSize(Math.max(1, ...calls.map(columnsOf)), 0).width;
