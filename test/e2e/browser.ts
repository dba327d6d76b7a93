import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

/**
 * Real-browser helpers: Debian's Chromium driven by playwright-core (which never downloads a browser). Every
 * context is fenced to the harness's loopback origin, so a page that tries to reach anything else fails its case.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SKIP_LINE = `Browser suite skipped: ${CHROMIUM_PATH} not found (apt-get install -y chromium).`;

/** The network is closed: the background-networking flags keep Chromium from trying to reach Google. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

type Chromium = typeof import('playwright-core').chromium;

/** Decided once, at module load of the suite: the executable exists and playwright-core imports. */
export async function findChromium(): Promise<{ ok: true; chromium: Chromium } | { ok: false; why: string }> {
  if (!existsSync(CHROMIUM_PATH)) return { ok: false, why: `${CHROMIUM_PATH} not found` };
  try {
    const { chromium } = await import('playwright-core');
    return { ok: true, chromium };
  } catch (error) {
    return { ok: false, why: `playwright-core does not import: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export function launch(chromium: Chromium): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/**
 * The hooks of a real-browser describe block: one Chromium for the block and a fresh harness per case. `open()` gives
 * a context fenced to the harness's origin; after each case every context must have tried nothing outside it and
 * thrown nothing. `chromium` is undefined when findChromium found none (the block is skipped then).
 */
export function browserCases(chromium: Chromium | undefined): { harness(): Harness; open(): Promise<FencedContext> } {
  let browser: Browser | undefined;
  let h: Harness | undefined;
  const contexts: FencedContext[] = [];
  beforeAll(async () => {
    if (chromium === undefined) throw new Error('no Chromium');
    browser = await launch(chromium);
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    // Whatever a case did, no page tried to leave loopback or threw.
    for (const c of contexts.splice(0)) {
      await c.context.close();
      expect(c.blocked, 'requests outside the harness origin').toEqual([]);
      expect(c.errors, 'page errors').toEqual([]);
    }
    await h?.close();
  });
  const harness = (): Harness => {
    if (h === undefined) throw new Error('no harness outside a case');
    return h;
  };
  return {
    harness,
    open: async () => {
      if (browser === undefined) throw new Error('no browser');
      const c = await fencedContext(browser, harness().origin);
      contexts.push(c);
      return c;
    },
  };
}

export interface FencedContext {
  context: BrowserContext;
  page: Page;
  /** Requests the page tried to send anywhere but `origin` (aborted). */
  blocked: string[];
  /** Uncaught page errors and console errors (not Chromium's note on a 4xx/5xx page: cases assert statuses). */
  errors: string[];
}

/** A fresh context (no cookies) whose requests may only go to `origin`. */
export async function fencedContext(browser: Browser, origin: string): Promise<FencedContext> {
  const context = await browser.newContext();
  context.setDefaultTimeout(8_000);
  context.setDefaultNavigationTimeout(8_000);
  const blocked: string[] = [];
  const errors: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded with a status of')) errors.push(`console: ${m.text()}`);
  });
  return { context, page, blocked, errors };
}

/**
 * Clicks `target` and waits for the page to land on `pathname` (after any redirects), returning the response of the
 * last navigation request that reached `pathname`.
 */
export async function clickAndLand(page: Page, target: Locator, pathname: string): Promise<Response> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().frame() === page.mainFrame() && new URL(r.url()).pathname === pathname),
    target.click(),
  ]);
  await page.waitForURL((u) => u.pathname === pathname, { waitUntil: 'load' });
  return response;
}

/** The page's visible text, white space folded. */
export async function visibleText(page: Page): Promise<string> {
  return (await page.locator('body').innerText()).replace(/\s+/g, ' ').trim();
}

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results', 'e2e');

/** Saves the whole page as test-results/e2e/<name>.png, the case's artifact. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
