/**
 * Files in the lab console (browser side): exports download through the
 * HTTP API, captures upload from a file picker. Progress is reported as bytes
 * arrive so the UI can show a bar for long exports.
 */
import type { ExportOutcome, ExportRequest, ImportOutcome } from './contract';

/** `ws://host:port/ws?token=T` → the HTTP origin and the token (if the URL carried one). */
export function httpFromWsUrl(wsUrl: string): { origin: string; token: string | null } {
  const u = new URL(wsUrl);
  return { origin: `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`, token: u.searchParams.get('token') };
}

const authHeaders = (token: string | null): Record<string, string> => (token ? { Authorization: `Bearer ${token}` } : {});

export async function labExport(origin: string, token: string | null, req: ExportRequest, onProgress?: (bytes: number) => void): Promise<ExportOutcome> {
  const res = await fetch(`${origin}/api/export`, {
        method: 'POST',
        headers: { ...authHeaders(token), 'Content-Type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify(req),
      });
  if (!res.ok) throw new Error(`export failed: ${await errorText(res)}`);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `callpath.${req.format}`;
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const reader = res.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.length;
      onProgress?.(bytes);
    }
  }
  // In a page, hand the bytes to the browser as a download; elsewhere (tests, tools) just report them.
  if (typeof document !== 'undefined') {
    const url = URL.createObjectURL(new Blob(chunks as BlobPart[], { type: res.headers.get('content-type') ?? 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
  return { saved: true, bytes, name };
}

/** Opens the browser's file picker; resolves null when the user cancels. */
export function pickCaptureFile(): Promise<File | null> {
  return new Promise((resolve) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = '.pcap,.pcapng,.cap';
    input.addEventListener('change', () => resolve(input.files?.[0] ?? null), { once: true });
    input.addEventListener('cancel', () => resolve(null), { once: true });
    input.click();
  });
}

export async function labImport(origin: string, token: string | null, file: Blob, name = 'capture'): Promise<ImportOutcome> {
  const res = await fetch(`${origin}/api/import?name=${encodeURIComponent(name)}`, { method: 'POST', headers: authHeaders(token), credentials: 'same-origin', body: file });
  if (!res.ok) throw new Error(`import failed: ${await errorText(res)}`);
  return (await res.json()) as ImportOutcome;
}

async function errorText(res: Response): Promise<string> {
  try {
    return ((await res.json()) as { error?: string }).error ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}
