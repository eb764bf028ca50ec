// The viewer names whom it shows, in Chromium: a CT study a modality sends as
// MUELLER^HANS (storescu) is in the file of Müller, Hans, and its viewer's banner
// names the file's person with the birth date as 12.04.1961, the study's date,
// description, modality and department — in view after scrolling, in print, and
// over the image. A study no file claimed is in the department's "Nicht
// zugeordnete Studien", marked so in its viewer; a physician finds the file,
// confirms, and the study is in the file (and, taken off it again, back in the
// list). Screenshot: test-results/viewer-banner.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import {
  nextCode,
  setUpTenant,
  startHarness,
  type Account,
  type Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';
import { makeInstance, newUid } from '../helpers/dicom-files.ts';
import type { DimseListener } from '../../src/imaging/dimse/listener.ts';

const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-results');

let h: Harness;
let t: Tenant;
let dimse: DimseListener;
let browser: Browser;
let base: string;
let physician: Client & Account;
let mueller: string;
let lindqvist: string;
const lungStudy = newUid();
const handStudy = newUid();

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ dicom: true, listen: true });
  base = h.url!;
  t = await setUpTenant(h, ['TB']);
  const TB = t.departments.TB!;
  assert.equal(
    (
      await t.admin.post('/api/admin/devices', {
        aeTitle: 'STORESCU',
        departmentId: TB,
        permissions: ['store'],
        host: '127.0.0.1',
      })
    ).status,
    201,
  );
  dimse = h.dicom!;
  physician = await t.user({ memberships: [{ departmentId: TB, role: 'physician' }] });
  mueller = (
    await physician.post('/api/persons', {
      departmentId: TB,
      familyName: 'Müller',
      givenName: 'Hans',
      birthDate: '1961-04-12',
    })
  ).body.id;
  lindqvist = (
    await physician.post('/api/persons', {
      departmentId: TB,
      familyName: 'Lindqvist',
      givenName: 'Ola',
      birthDate: '1975-07-07',
    })
  ).body.id;

  // From the modality: a CT series named as German devices write it, and a hand X-ray under a misspelt name.
  const dir = fs.mkdtempSync(path.join(h.dir, 'banner-'));
  const series = newUid();
  const files = [
    ...Array.from({ length: 6 }, (_, i) =>
      makeInstance({
        patientName: 'MUELLER^HANS',
        birthDate: '19610412',
        modality: 'CT',
        studyDescription: 'Thorax',
        studyInstanceUid: lungStudy,
        seriesInstanceUid: series,
        instanceNumber: i + 1,
        rows: 256,
        columns: 256,
        pixels: 'gradient',
        undefinedLengthSequences: false,
      }),
    ),
    makeInstance({
      patientName: 'LINDKVIST^OLA',
      birthDate: '19750707',
      patientId: 'RAD-4711',
      modality: 'CR',
      studyDescription: 'Hand rechts',
      studyInstanceUid: handStudy,
      rows: 64,
      columns: 64,
      pixels: 'gradient',
      undefinedLengthSequences: false,
    }),
  ].map((inst, i) => {
    const file = path.join(dir, `i${i}.dcm`);
    fs.writeFileSync(file, inst.file);
    return file;
  });
  await promisify(execFile)(
    'storescu',
    ['-aet', 'STORESCU', '-aec', 'KARTEI', '127.0.0.1', String(dimse.port), ...files],
    { env: { ...process.env, TCP_NODELAY: '1' } },
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

async function signedIn(path: string): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ locale: 'de-DE', viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(base + path);
  await page.getByLabel('Benutzername').fill(physician.username);
  await page.getByLabel('Passwort', { exact: true }).fill(physician.password);
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByLabel('Code aus der Authenticator-App').fill(nextCode(h, physician.username));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
  return { page, problems, close: () => context.close() };
}

/** Drawn: the canvas has the frame's size and pixels that are not all one grey. */
const drawn = (page: Page, size: number) =>
  page.waitForFunction((n) => {
    const c = document.querySelector<HTMLCanvasElement>('.stage canvas');
    if (!c || c.width !== n) return false;
    const d = c.getContext('2d')!.getImageData(0, 0, n, n).data;
    return d.some((v, i) => i % 4 === 0 && v !== d[0]);
  }, size);

test("the viewer's banner names the file's person, birth date as 12.04.1961, the study and its department — after scrolling, in print, over the image", async () => {
  const { page, problems, close } = await signedIn(`/persons/${mueller}`);
  await page
    .getByRole('region', { name: 'Bilder' })
    .getByRole('link', { name: /15\.01\.2024 · Thorax/ })
    .click();
  const banner = page.getByRole('region', { name: 'Patient und Studie' });
  await banner.getByText('Müller, Hans').waitFor();
  const text = (await banner.textContent())!;
  for (const part of ['geb. 12.04.1961', 'Studie vom 15.01.2024', 'Thorax · CT', 'Akte: Abteilung TB'])
    assert.ok(text.includes(part), `${part} in ${text}`);
  assert.ok(!text.includes('nicht zugeordnet'), 'linked: no mark');
  await drawn(page, 256);

  // Over the image, inside the area a screenshot of the image takes.
  const overlay = page.locator('.stage [data-testid="study-overlay"]');
  const overlayText = (await overlay.textContent())!;
  for (const part of ['Müller, Hans', 'geb. 12.04.1961', '15.01.2024'])
    assert.ok(overlayText.includes(part), `${part} over the image: ${overlayText}`);
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.locator('.stage').screenshot({ path: path.join(SCREENSHOTS, 'viewer-banner-image.png') });

  // Scrolled to the bottom of a short window: the banner is still in view.
  await page.setViewportSize({ width: 1280, height: 420 });
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.getByText('Mausrad oder Pfeiltasten').scrollIntoViewIfNeeded();
  assert.ok((await page.evaluate(() => window.scrollY)) > 100, 'the page did scroll');
  const inView = await banner.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  });
  assert.ok(inView, 'the banner stays in view');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.evaluate(() => window.scrollTo(0, 0));

  // In print: the banner and the image, without the tools.
  await page.emulateMedia({ media: 'print' });
  assert.ok(await banner.isVisible(), 'printed');
  assert.ok(await overlay.isVisible(), 'over the printed image too');
  assert.equal(await page.getByRole('toolbar', { name: 'Werkzeuge' }).isVisible(), false, 'the tools are not printed');
  await page.emulateMedia({ media: 'screen' });

  await checkScreen(page, 'viewer-banner');
  assert.deepEqual(problems, []);
  await close();
});

test('a study no file claimed is listed for the department; a physician views it, finds the file, confirms; then it is in the file', async () => {
  const { page, problems, close } = await signedIn('/persons');
  await page.getByRole('link', { name: 'Nicht zugeordnete Studien' }).click();
  await page.getByRole('heading', { name: 'Nicht zugeordnete Studien', level: 1 }).waitFor();
  const row = page.getByRole('row', { name: /LINDKVIST, OLA/ });
  await row.waitFor();
  const cells = (await row.textContent())!;
  for (const part of ['15.01.2024', '07.07.1975', 'RAD-4711', 'Hand rechts · CR'])
    assert.ok(cells.includes(part), `${part} in ${cells}`);
  assert.equal(await page.getByRole('row', { name: /MUELLER/ }).count(), 0, 'the linked study is not listed');
  await checkScreen(page, 'unassigned-studies');

  // Its images first: the banner says whose the header says it is, and that no file has it yet.
  await row.getByRole('link', { name: 'Bilder ansehen' }).click();
  const banner = page.getByRole('region', { name: 'Patient und Studie' });
  await banner.getByText('LINDKVIST, OLA').waitFor();
  const text = (await banner.textContent())!;
  for (const part of [
    'geb. 07.07.1975',
    'nicht zugeordnet',
    'keiner Akte zugeordnet: Abteilung TB',
    'Patienten-ID RAD-4711',
  ])
    assert.ok(text.includes(part), `${part} in ${text}`);
  await drawn(page, 64);
  await checkScreen(page, 'viewer-banner-unassigned');
  await page.getByRole('link', { name: '← Zu den nicht zugeordneten Studien' }).click();

  await page
    .getByRole('row', { name: /LINDKVIST, OLA/ })
    .getByRole('button', { name: 'Zuordnen …' })
    .click();
  const panel = page.getByRole('region', { name: /Studie vom 15\.01\.2024 \(LINDKVIST, OLA\) einer Akte zuordnen/ });
  await panel.getByLabel('Akte suchen').fill('Lindqvist');
  await panel.getByRole('button', { name: 'Suchen' }).click();
  await panel
    .getByRole('row', { name: /Lindqvist, Ola/ })
    .getByRole('button', { name: 'Diese Akte wählen' })
    .click();
  const confirm = page.getByRole('form', { name: 'Zuordnung bestätigen' });
  await confirm
    .getByText('Die Studie vom 15.01.2024 (Hand rechts · CR) der Akte Lindqvist, Ola, geb. 07.07.1975, zuordnen?')
    .waitFor();
  await checkScreen(page, 'unassigned-link-confirm');
  await confirm.getByRole('button', { name: 'Zuordnen', exact: true }).click();
  await page.getByRole('status').getByText('Die Studie vom 15.01.2024 ist jetzt in der Akte Lindqvist, Ola.').waitFor();
  await page.getByText('Keine nicht zugeordneten Studien.').waitFor();

  await page.getByRole('link', { name: 'Akte öffnen' }).click();
  await page.getByRole('heading', { name: 'Lindqvist, Ola' }).waitFor();
  await page
    .getByRole('region', { name: 'Bilder' })
    .getByRole('link', { name: /15\.01\.2024 · Hand rechts/ })
    .click();
  await banner.getByText('Lindqvist, Ola').waitFor();
  assert.ok(!(await banner.textContent())!.includes('nicht zugeordnet'), "now the file's person");
  assert.deepEqual(
    (await physician.get(`/api/persons/${lindqvist}/studies`)).body.map((s: { studyUid: string }) => s.studyUid),
    [handStudy],
  );

  // Linked wrongly after all: taken off the file again (after a confirmation), it waits in the list once more.
  await page.getByRole('link', { name: '← Zur Akte' }).click();
  const images = page.getByRole('region', { name: 'Bilder' });
  await images.getByRole('button', { name: 'Zuordnung aufheben' }).waitFor();
  await checkScreen(page, 'person-file-unlink');
  page.once('dialog', (d) => {
    assert.match(d.message(), /Die Studie vom 15\.01\.2024 aus dieser Akte nehmen\?/);
    void d.accept();
  });
  await images.getByRole('button', { name: 'Zuordnung aufheben' }).click();
  await images.getByText('Keine Bilder zu dieser Akte.').waitFor();
  await page.getByRole('link', { name: 'Nicht zugeordnete Studien' }).click();
  await page.getByRole('row', { name: /LINDKVIST, OLA/ }).waitFor();
  assert.deepEqual(problems, []);
  await close();
});
