import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { LabConfig } from '../../app/config';
import { ensureRendererBuilt } from '../../app/lab/renderer-bundle';
import { openBrowser } from './browser';
import { startLab, type RunningLab } from './lab';

/** Where e2e tests save their screenshots (git-ignored). */
export const ARTIFACTS = 'test/artifacts';

export interface OpenConsole {
  lab: RunningLab;
  browser: Awaited<ReturnType<typeof openBrowser>>;
  page: Page;
  /** The lab API's Authorization header. */
  auth(): Record<string, string>;
  close(): Promise<void>;
}

/** A real lab (host + server) with its console open in Chromium, once the proxy shows running. */
export async function openConsole(overrides: Partial<LabConfig> = {}): Promise<OpenConsole> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const built = await ensureRendererBuilt(() => undefined);
  assert.ok(built.ok, built.ok ? '' : built.error);
  const lab = await startLab(overrides);
  const browser = await openBrowser();
  const page = browser.page;
  await page.goto(`${lab.base}/?token=${lab.token}`);
  await page.locator('[data-testid="toggle-proxy"][data-state="running"]').waitFor({ timeout: 15_000 });
  return {
    lab,
    browser,
    page,
    auth: () => ({ Authorization: `Bearer ${lab.token}` }),
    async close() {
      await browser.close();
      await lab.stop();
    },
  };
}

/** One ladder arrow as the user sees it. */
export interface DrawnArrow {
  index: number;
  label: string | null;
  src: string | null;
  dst: string | null;
  /** data-retransmission: "true" / "false". */
  rtx: string | null;
  title: string;
  /** The line's computed stroke-dasharray ("none" when solid). */
  dash: string;
  /** Whether the line is stroked in the theme's warning colour. */
  warn: boolean;
}

/**
 * Every drawn arrow of the open ladder (or of one lane: 'sip' for the SIP
 * messages alone): what, from where to where, and how its line is stroked.
 */
export function drawnArrows(page: Page, lane?: string): Promise<DrawnArrow[]> {
  return page.locator(`[data-testid="ladder-arrow"]${lane ? `[data-lane="${lane}"]` : ''}`).evaluateAll((els) => {
    const probe = document.createElement('span');
    probe.style.color = 'var(--warn)';
    document.body.append(probe);
    const warn = getComputedStyle(probe).color;
    probe.remove();
    return els.map((e) => {
      const cs = getComputedStyle(e.querySelector('.ladder-line')!);
      return {
        index: Number(e.getAttribute('data-index')),
        label: e.getAttribute('data-label'),
        src: e.getAttribute('data-src'),
        dst: e.getAttribute('data-dst'),
        rtx: e.getAttribute('data-retransmission'),
        title: e.querySelector('title')?.textContent ?? '',
        dash: cs.strokeDasharray,
        warn: cs.stroke === warn,
      };
    });
  });
}
