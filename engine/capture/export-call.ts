/**
 * One call in any call format: pcap (its SIP messages' bytes in time order,
 * original addresses, for Wireshark/tshark), txt (ladder + raw messages for a
 * ticket), svg, png (that SVG rendered by resvg), mmd (Mermaid
 * sequenceDiagram) and json (the host's document). Every ladder is the one
 * ladder model's, in time order, columns titled with `columnNames`.
 */
import { Resvg } from '@resvg/resvg-js';
import type { CallRecord } from '../call/model';
import { sipEntriesByTime } from '../ladder/entries';
import { CONTENT_TYPES, type CallFormat, type ExportOptions } from './formats';
import { mermaidLadder } from './mermaid';
import { pcapFile } from './pcap';
import { svgLadder } from './svg-ladder';
import { textLadder } from './text-ladder';

export function exportCall(c: CallRecord, format: CallFormat, opts: ExportOptions): { body: Buffer; contentType: string } {
  return { body: callBody(c, format, opts), contentType: CONTENT_TYPES[format] };
}

function callBody(c: CallRecord, format: CallFormat, opts: ExportOptions): Buffer {
  switch (format) {
    case 'pcap':
      return pcapFile(sipEntriesByTime(c));
    case 'txt':
      return Buffer.from(textLadder(c, opts.columnNames));
    case 'svg':
      return Buffer.from(svgLadder(c, opts.columnNames));
    case 'png':
      // resvg ships prebuilt in its npm package: no browser and no download at run time.
      return new Resvg(svgLadder(c, opts.columnNames), { background: '#ffffff' }).render().asPng();
    case 'mmd':
      return Buffer.from(mermaidLadder(c, opts.columnNames));
    case 'json':
      return Buffer.from(JSON.stringify(opts.json(c), null, 2));
  }
}
