/**
 * The ladder as data, for the exports (text, Mermaid): columns are
 * address:port in order of first appearance; each message is an arrow from
 * one column to another. Pure.
 */
export interface LadderInput {
  tsUs: number;
  src: string;
  dst: string;
  label: string;
  retransmission: boolean;
}

export interface LadderArrow {
  from: number;
  to: number;
  label: string;
  /** µs since the first message. */
  atUs: number;
  retransmission: boolean;
}

export function ladderOf(messages: readonly LadderInput[]): { columns: string[]; arrows: LadderArrow[] } {
  const columns: string[] = [];
  const col = (a: string) => {
    let i = columns.indexOf(a);
    if (i < 0) i = columns.push(a) - 1;
    return i;
  };
  const t0 = messages[0]?.tsUs ?? 0;
  const arrows = messages.map((m) => ({ from: col(m.src), to: col(m.dst), label: m.label, atUs: m.tsUs - t0, retransmission: m.retransmission }));
  return { columns, arrows };
}

export function ms(us: number): string {
  return (us / 1000).toFixed(3);
}
