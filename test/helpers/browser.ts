// Debian's Chromium driven by playwright-core (never a downloaded browser),
// an accessibility check with axe-core on every screen, and screenshots for review.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';

export const CHROMIUM = process.env.KARTEI_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-results');
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export function launchBrowser(): Promise<Browser> {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** The requests of each watched page still under way (for `quiet`). */
const underWay = new WeakMap<Page, Set<Request>>();
/** How long a page must have had no request under way to count as quiet. */
const QUIET_MS = 400;
/** How long `quiet` waits at most: a screen that polls would never be quiet, and the walk should say so. */
const QUIET_LIMIT_MS = 20_000;

/** Collects what the page complains about: CSP violations and uncaught errors must never happen. */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  const pending = new Set<Request>();
  underWay.set(page, pending);
  page.on('request', (r) => pending.add(r));
  page.on('requestfinished', (r) => pending.delete(r));
  page.on('requestfailed', (r) => pending.delete(r));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

/**
 * Waits until the (watched) page has had no request under way for a moment. Before a jump of a fake clock: a
 * screen's part still loading would be answered after the jump, and the page would date that work after it.
 */
export async function quiet(page: Page): Promise<void> {
  const pending = underWay.get(page);
  assert.ok(pending, 'quiet(page) needs watchPage(page) first');
  const start = Date.now();
  for (let since = start; Date.now() - since < QUIET_MS; ) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    if (pending.size > 0) since = Date.now();
    if (Date.now() - start > QUIET_LIMIT_MS)
      assert.fail(
        `the page was not quiet for ${QUIET_MS} ms within ${QUIET_LIMIT_MS} ms; under way: ${[...pending].map((r) => `${r.method()} ${r.url()}`).join(', ')}`,
      );
  }
}

/** Most Tab stops a screen may have before the walk gives up. */
const MAX_TAB_STOPS = 200;

/**
 * Walks the screen with the Tab key as a keyboard user would: every visible
 * control must be reached, and each must show that it has the focus (an outline
 * or a ring). The focus is put back where it was.
 */
async function checkKeyboard(page: Page, name: string): Promise<void> {
  let walked = await walkWithTab(page);
  // A part of the screen that loads on its own (a file's tasks, say) may show its controls while the
  // walk is under way; once nothing is loading any more the walk is made again, and then it counts.
  if (walked.unreached.length > 0) {
    await page.waitForLoadState('networkidle');
    walked = await walkWithTab(page);
  }
  assert.deepEqual(walked.unreached, [], `${name}: controls the Tab key does not reach`);
  assert.deepEqual(walked.unseen, [], `${name}: controls that do not show the focus`);
}

/** One walk round the screen with the Tab key: the visible controls it missed, and those that hid the focus. */
async function walkWithTab(page: Page): Promise<{ unreached: string[]; unseen: string[] }> {
  await page.evaluate(() => {
    const w = window as unknown as {
      __kbd: { before: Element | null; last: Element | null; reached: Set<Element>; unseen: string[] };
    };
    w.__kbd = { before: document.activeElement, last: null, reached: new Set(), unseen: [] };
    (document.activeElement as HTMLElement | null)?.blur();
    // The walk starts at the top of the screen (of the dialog, under a modal one), not where the focus was:
    // a frame after the last control (a PDF's preview) may keep the Tab key inside it, and a walk that
    // started below the first control would then never come round to it. A mark that takes the focus
    // but no Tab stop is put first, focused and taken away again by the first Tab.
    const scope = document.querySelector('dialog:modal') ?? document.body;
    const mark = document.createElement('span');
    mark.tabIndex = -1;
    mark.dataset.kbdStart = '';
    scope.prepend(mark);
    mark.focus();
  });
  // From wherever the walk starts it goes on past the end and round again, until a control comes back.
  for (let i = 0, outside = 0; i < MAX_TAB_STOPS && outside < 5; i++) {
    await page.keyboard.press('Tab');
    if (i === 0) await page.evaluate(() => document.querySelector('[data-kbd-start]')?.remove());
    const step = await page.evaluate(() => {
      const w = window as unknown as { __kbd: { last: Element | null; reached: Set<Element>; unseen: string[] } };
      const el = document.activeElement;
      if (!el || el === document.body) return 'out';
      // A date field takes several Tabs (day, month, year): the same control again is not yet the way round.
      if (el === w.__kbd.last) return 'next';
      w.__kbd.last = el;
      if (w.__kbd.reached.has(el)) return 'again';
      w.__kbd.reached.add(el);
      const style = getComputedStyle(el);
      const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
      if (!ring) w.__kbd.unseen.push(el.outerHTML.slice(0, 120));
      return 'next';
    });
    if (step === 'again') break;
    outside = step === 'out' ? outside + 1 : 0;
  }
  const { unreached, unseen } = await page.evaluate(() => {
    const w = window as unknown as { __kbd: { before: Element | null; reached: Set<Element>; unseen: string[] } };
    // Under a modal dialog only the dialog can be reached, by design.
    const scope = document.querySelector('dialog:modal') ?? document;
    const controls = [
      ...scope.querySelectorAll(
        'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex="0"]',
      ),
    ];
    const unreached = controls
      .filter((el) => el.checkVisibility() && !w.__kbd.reached.has(el))
      .map((el) => el.outerHTML.slice(0, 120));
    const before = w.__kbd.before as HTMLElement | null;
    if (before && before !== document.body) before.focus();
    else (document.activeElement as HTMLElement | null)?.blur();
    return { unreached, unseen: w.__kbd.unseen };
  });
  return { unreached, unseen };
}

/**
 * Runs axe-core in the page (through the debugging protocol, so the page's own
 * Content Security Policy stays in force) and fails on any serious or critical
 * violation; walks the controls with the keyboard; saves a screenshot under test-results/.
 */
export async function checkScreen(page: Page, name: string): Promise<void> {
  await checkKeyboard(page, name);
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (
            ctx: Document,
            o: object,
          ) => Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 3),
    }));
  });
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `${name}: accessibility violations`);
}
