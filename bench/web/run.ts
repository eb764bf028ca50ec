// The web application in Debian's Chromium, served by Kartei on loopback:
// the login page's first paint, the main bundle's size, opening a file with 200
// records, the viewer's first 512×512 CT frame after the click, and scrolling a
// 100-image series. Appends the figures with date and commit to bench/RESULTS.md.
import { execFile, execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { WEB_DIST } from '../../src/http/web-app.ts';
import { freePort, samplePerson, setUpTenant, startHarness, type Client } from '../../test/helpers/harness.ts';
import { launchBrowser } from '../../test/helpers/browser.ts';
import { makeInstance, newUid } from '../../test/helpers/dicom-files.ts';

const RECORDS = 200;
const IMAGES = 100;
const RUNS = Number(process.env.BENCH_WEB_RUNS ?? 7);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number, d = 0) => x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });

/** The gzipped size of what index.html loads before anything is lazily imported. */
function mainBundle(): { gzip: number; raw: number; files: string[] } {
  const html = fs.readFileSync(path.join(WEB_DIST, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  let gzip = 0;
  let raw = 0;
  for (const f of files) {
    const body = fs.readFileSync(path.join(WEB_DIST, f));
    raw += body.length;
    gzip += zlib.gzipSync(body, { level: 9 }).length;
  }
  return { gzip, raw, files };
}

/**
 * Times from the next click to the first animation frame in which `done` (a JavaScript
 * expression) holds, checked inside the page by a loop installed before the click, so that
 * the harness's own script (which Playwright injects on first use) runs outside the measure.
 */
async function timeFromClick(page: Page, done: string, click: () => Promise<void>): Promise<number> {
  await page.evaluate(`document.addEventListener('click', () => {
    const t0 = performance.now();
    const check = () => (${done}) ? (window.__elapsed = performance.now() - t0) : requestAnimationFrame(check);
    requestAnimationFrame(check);
  }, { capture: true, once: true })`);
  await click();
  // A function, not a string: Playwright would evaluate a string with eval, which the page's CSP refuses.
  const elapsed = await page.waitForFunction(() => (window as unknown as { __elapsed?: number }).__elapsed, undefined, {
    timeout: 60_000,
  });
  return (await elapsed.jsonValue()) as number;
}

await ensureWebBuild();
const h = await startHarness({ dicom: true });
const port = await freePort();
await h.app.listen({ host: '127.0.0.1', port });
const base = `http://127.0.0.1:${port}`;
const dimse = h.dicom!;
let browser: Browser | undefined;
try {
  // A physician with a file of 200 records and a CT series of 100 images of 512 × 512.
  const t = await setUpTenant(h, ['INF']);
  const inf = t.departments.INF!;
  const physician = await t.user({ memberships: [{ departmentId: inf, role: 'physician' }] });
  const personId: string = (await physician.post('/api/persons', samplePerson(inf, 'Benchmarker'))).body.id;
  for (let i = 0; i < RECORDS; i++) {
    const r = await physician.post(`/api/persons/${personId}/records`, {
      type: 'note',
      sensitivity: i % 10 ? 'normal' : 'restricted',
      content: { text: `Eintrag ${i}` },
    });
    if (r.status !== 201) throw new Error(`record: ${r.status}`);
  }
  await t.admin.post('/api/admin/devices', {
    aeTitle: 'BENCHSCU',
    departmentId: inf,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  const dir = fs.mkdtempSync(path.join(h.dir, 'ct-'));
  const study = newUid();
  const series = newUid();
  const files = Array.from({ length: IMAGES }, (_, i) => {
    const f = path.join(dir, `${i}.dcm`);
    const ct = makeInstance({
      patientName: 'Benchmarker^Hannelore',
      birthDate: '19610417',
      modality: 'CT',
      studyInstanceUid: study,
      seriesInstanceUid: series,
      instanceNumber: i + 1,
      rows: 512,
      columns: 512,
      pixels: 'gradient',
      undefinedLengthSequences: false,
    });
    fs.writeFileSync(f, ct.file);
    return f;
  });
  await promisify(execFile)(
    'storescu',
    ['-aet', 'BENCHSCU', '-aec', 'KARTEI', '127.0.0.1', String(dimse.port), ...files],
    { env: { ...process.env, TCP_NODELAY: '1' } },
  );

  browser = await launchBrowser();
  /** A page signed in as `c`: its session cookie and this tab's CSRF token, as after a login. */
  const signedIn = async (c: Client): Promise<Page> => {
    const context = await browser!.newContext({ locale: 'de-DE' });
    await context.addCookies([{ name: 'kartei_session', value: c.cookie!, url: base }]);
    await context.addInitScript((csrf) => sessionStorage.setItem('kartei.csrf', csrf), c.csrf!);
    return context.newPage();
  };

  // 1. Login page: navigation start → the page's heading in the DOM, and first contentful paint.
  const loginPaint: number[] = [];
  const loginFcp: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext({ locale: 'de-DE' });
    const page = await context.newPage();
    await page.goto(`${base}/`, { waitUntil: 'commit' });
    loginPaint.push(
      await page
        .waitForFunction(() => document.querySelector('main h1') && performance.now(), undefined, { polling: 'raf' })
        .then((x) => x.jsonValue() as Promise<number>),
    );
    loginFcp.push(
      await page.evaluate(
        () =>
          new Promise<number>((resolve) =>
            new PerformanceObserver((list) => {
              const fcp = list.getEntriesByName('first-contentful-paint')[0];
              if (fcp) resolve(fcp.startTime);
            }).observe({ type: 'paint', buffered: true }),
          ),
      ),
    );
    await context.close();
  }

  // 2. Opening the file: the click on the search hit → all 200 records on screen.
  const fileOpen: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const page = await signedIn(physician);
    await page.goto(`${base}/persons`);
    await page.getByLabel('Nachname').fill('Benchmarker');
    await page.getByRole('button', { name: 'Suchen' }).click();
    const link = page.getByRole('link', { name: 'Benchmarker, Hannelore' });
    await link.waitFor();
    fileOpen.push(
      await timeFromClick(page, `document.querySelectorAll('ul.records li').length >= ${RECORDS}`, () => link.click()),
    );
    await page.context().close();
  }

  // 3. Viewer: the click on the study → the first frame drawn; then 100 images, one per key press.
  const firstFrame: number[] = [];
  const fps: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const page = await signedIn(physician);
    await page.goto(`${base}/persons/${personId}`);
    const link = page.getByRole('region', { name: 'Bilder' }).getByRole('link');
    // Clicked once the file is complete and the page quiet, as a person would.
    await page
      .locator('ul.records li')
      .nth(RECORDS - 1)
      .waitFor();
    await page.waitForLoadState('networkidle');
    const drawn = `((c) => c && c.width === 512 && ((d) => d.some((v, k) => k % 4 === 0 && v !== d[0]))(c.getContext('2d').getImageData(0, 0, 512, 1).data))(document.querySelector('.stage canvas'))`;
    firstFrame.push(await timeFromClick(page, drawn, () => link.click()));
    await page.getByText(`${IMAGES} geladen`).waitFor({ timeout: 60_000 });
    const seconds = await page.evaluate(async (n) => {
      const stage = document.querySelector<HTMLElement>('.stage')!;
      const canvas = stage.querySelector('canvas')!;
      stage.focus();
      // (No named helper functions in here: the TypeScript loader would wrap them in a helper the page lacks.)
      const start = performance.now();
      for (let k = 1; k < n; k++) {
        stage.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
        while (canvas.dataset.index !== String(k)) await new Promise((r) => requestAnimationFrame(r));
        await new Promise((r) => requestAnimationFrame(r)); // drawn and shown
      }
      return (performance.now() - start) / 1000;
    }, IMAGES);
    fps.push((IMAGES - 1) / seconds);
    await page.context().close();
  }

  const bundle = mainBundle();
  const commit = execSync('git rev-parse --short HEAD').toString().trim();
  const dirty = execSync("git status --porcelain -- . ':!bench/RESULTS.md'").toString().trim()
    ? ' (uncommitted changes)'
    : '';
  const chromium = execSync(`${process.env.KARTEI_CHROMIUM ?? '/usr/bin/chromium'} --version`)
    .toString()
    .trim();
  const ok = (cond: boolean) => (cond ? 'meets goal' : '**falls short**');
  const runs = (xs: number[]) => xs.map((x) => fmt(x)).join(', ');
  const report = `
## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — commit ${commit}${dirty} — web application

\`npm run bench:web\`: Node ${process.version}, ${chromium} headless, SQLite, server and browser on the same 2 cores; ${RUNS} runs each, fresh browser context per run (nothing cached; API answers are no-store). Times are taken inside the page (\`performance.now()\`) from the click to the first animation frame that shows the result, by a check installed before the click.

| measure | result (median; runs) | goal | |
|---|---|---|---|
| login page: navigation → first contentful paint | ${fmt(median(loginFcp))} ms (${runs(loginFcp)}); the heading in the DOM at ${fmt(median(loginPaint))} ms (${runs(loginPaint)}) | < 500 ms | ${ok(Math.max(median(loginFcp), median(loginPaint)) < 500)} |
| main bundle (${bundle.files.length} files index.html loads), gzip | ${fmt(bundle.gzip / 1024, 1)} kB (${fmt(bundle.raw / 1024, 1)} kB raw) | < 250 kB | ${ok(bundle.gzip < 250 * 1024)} |
| a person's file with ${RECORDS} records: click on the search hit → all records shown | ${fmt(median(fileOpen))} ms (${runs(fileOpen)}) | < 300 ms | ${ok(median(fileOpen) < 300)} |
| viewer: click on the study (the file with its ${RECORDS} records shown, the page quiet) → first 512 × 512 CT frame drawn (its frame and metadata, asked for with the click; then the study's instances) | ${fmt(median(firstFrame))} ms (${runs(firstFrame)}) | < 100 ms | ${ok(median(firstFrame) < 100)} |
| viewer: scrolling ${IMAGES} images, one key press per shown frame | ${fmt(median(fps), 1)} frames/s (${fps.map((x) => fmt(x, 1)).join(', ')}) | ≥ 20 /s | ${ok(median(fps) >= 20)} |
`;
  fs.appendFileSync('bench/RESULTS.md', report);
  process.stdout.write(report);
} finally {
  await browser?.close();
  await h.close();
}
