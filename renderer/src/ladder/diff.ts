/**
 * Line diff of two messages by longest common subsequence: what stayed, what
 * only the first message has (removed) and what only the second has (added).
 * Pure; common leading and trailing lines are matched before the O(n·m) table
 * so two versions of one SIP message (a handful of changed headers) stay cheap.
 */

export type DiffOp = 'same' | 'del' | 'add';

export interface DiffLine {
  op: DiffOp;
  text: string;
  /** 1-based line number in the first message (same, del), else null. */
  a: number | null;
  /** 1-based line number in the second message (same, add), else null. */
  b: number | null;
}

/** Lines of a raw message: CRLF or LF, without the empty line a trailing newline leaves. */
export function messageLines(raw: string): string[] {
  const lines = raw.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const n = a.length - pre - suf;
  const m = b.length - pre - suf;
  // lcs[i][j]: LCS length of a[pre+i..] and b[pre+j..] (middle part only), flattened.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[pre + i] === b[pre + j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  for (let k = 0; k < pre; k++) out.push({ op: 'same', text: a[k]!, a: k + 1, b: k + 1 });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[pre + i] === b[pre + j]) {
      out.push({ op: 'same', text: a[pre + i]!, a: pre + i + 1, b: pre + j + 1 });
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i * w + j + 1]! > lcs[(i + 1) * w + j]!)) {
      out.push({ op: 'add', text: b[pre + j]!, a: null, b: pre + j + 1 });
      j++;
    } else {
      // Removals before additions when both are as good: a changed line reads "- old" then "+ new".
      out.push({ op: 'del', text: a[pre + i]!, a: pre + i + 1, b: null });
      i++;
    }
  }
  for (let k = 0; k < suf; k++) {
    const ai = a.length - suf + k;
    const bi = b.length - suf + k;
    out.push({ op: 'same', text: a[ai]!, a: ai + 1, b: bi + 1 });
  }
  return out;
}

export function diffStats(d: readonly DiffLine[]): { added: number; removed: number; same: number } {
  let added = 0;
  let removed = 0;
  let same = 0;
  for (const l of d) {
    if (l.op === 'add') added++;
    else if (l.op === 'del') removed++;
    else same++;
  }
  return { added, removed, same };
}
