// Documents in Chromium (issue 17): a clerk uploads a PDF and a PNG into a file (with progress), previews
// both — the PNG as an image, the PDF in Chromium's viewer inside a sandboxed same-origin frame, the
// page's strict CSP untouched — downloads one; a physician deletes one with a reason; in the mail-room a
// scan is uploaded and assigned to a file found by a search. Every screen axe-clean and keyboard-usable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import {
  login,
  nextCode,
  samplePerson,
  setUpTenant,
  startHarness,
  type Account,
  type Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';
import { testImage, testPdf } from '../helpers/documents.ts';

let h: Harness;
let t: Tenant;
let browser: Browser;
let base: string;
type Staff = Client & Account;
let clerk: Staff;
let physician: Staff;
let A: string;

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  base = h.url!;
  t = await setUpTenant(h, []);
  const INF = (await t.admin.post('/api/admin/departments', { code: 'INF', name: 'Infektionsschutz' })).body
    .id as string;
  const named = async (role: string, displayName: string) => {
    const a = await t.account({ memberships: [{ departmentId: INF, role }] }, { displayName });
    return Object.assign(await login(h, a.username, a.password), a);
  };
  clerk = await named('clerk', 'Anna Acker');
  physician = await named('physician', 'Paul Pfeil');
  A = (await clerk.post('/api/persons', samplePerson(INF))).body.id;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

async function signIn(page: Page, who: Account) {
  await page.goto(`${base}/`);
  await page.getByLabel('Benutzername').fill(who.username);
  await page.getByLabel('Passwort', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByLabel('Code aus der Authenticator-App').fill(nextCode(h, who.username));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
}

test('a clerk uploads a PDF and a PNG, previews both, downloads one; a physician deletes one with a reason', async () => {
  const context = await browser.newContext({ locale: 'de-DE', acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, clerk);
  await page.goto(`${base}/persons/${A}`);
  const section = page.getByRole('region', { name: 'Dokumente' });
  await section.getByText('Noch keine Dokumente in dieser Akte.').waitFor();
  await checkScreen(page, 'documents-empty');

  const pdf = testPdf('Vorschau im Browser');
  await section
    .getByLabel('Datei hochladen')
    .setInputFiles({ name: 'Befund März.pdf', mimeType: 'application/pdf', buffer: pdf });
  await page.getByText('„Befund März.pdf“ wurde hochgeladen.').waitFor();
  await section
    .getByLabel('Datei hochladen')
    .setInputFiles({ name: 'Röntgen.png', mimeType: 'image/png', buffer: await testImage('png', 64) });
  await page.getByText('„Röntgen.png“ wurde hochgeladen.').waitFor();
  const table = section.getByRole('table', { name: 'Dokumente' });
  await table.getByRole('cell', { name: 'Röntgen.png', exact: true }).waitFor();
  const text = await table.innerText();
  assert.match(text, /Befund März\.pdf\s+PDF/);
  assert.match(text, /Anna Acker/);
  assert.match(text, /\d{2}\.\d{2}\.\d{4}/);
  await checkScreen(page, 'documents-list');

  // A refusal is worded in German: a JPEG named .pdf.
  await section
    .getByLabel('Datei hochladen')
    .setInputFiles({ name: 'falsch.pdf', mimeType: 'application/pdf', buffer: await testImage('jpeg') });
  await section.getByText(/endet auf „\.pdf“, der Inhalt ist aber eine JPEG-Datei/).waitFor();

  // The PNG as an image in the dialog.
  await table.getByRole('button', { name: 'Ansehen Röntgen.png' }).click();
  const pngDialog = page.getByRole('dialog', { name: 'Vorschau: Röntgen.png' });
  const img = pngDialog.getByRole('img', { name: 'Vorschau: Röntgen.png' });
  await img.waitFor();
  await page.waitForFunction(
    () => (document.querySelector('dialog img') as HTMLImageElement | null)?.naturalWidth === 64,
  );
  await checkScreen(page, 'documents-preview-png');
  await page.keyboard.press('Escape');
  await pngDialog.waitFor({ state: 'detached' });

  // The PDF in Chromium's viewer, inside the frame the server sandboxes.
  await table.getByRole('button', { name: 'Ansehen Befund März.pdf' }).click();
  const pdfDialog = page.getByRole('dialog', { name: 'Vorschau: Befund März.pdf' });
  await pdfDialog.locator('iframe').waitFor();
  for (let i = 0; i < 50 && !page.frames().some((f) => f.url().startsWith('chrome-extension://')); i++)
    await page.waitForTimeout(100);
  assert.ok(
    page.frames().some((f) => f.url().includes('/preview')),
    'the preview frame loaded',
  );
  assert.ok(
    page.frames().some((f) => f.url().startsWith('chrome-extension://')),
    "Chromium's PDF viewer shows the document",
  );
  // Download from the dialog: the bytes as uploaded, under their name.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    pdfDialog.getByRole('link', { name: 'Herunterladen' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'Befund März.pdf');
  assert.deepEqual(fs.readFileSync((await download.path())!), pdf);
  await pdfDialog.getByRole('button', { name: 'Schließen' }).click();
  await pdfDialog.waitFor({ state: 'detached' });
  // The clerk may not delete.
  assert.equal(await table.getByRole('button', { name: /^Löschen/ }).count(), 0);
  assert.deepEqual(problems, []);
  await context.close();

  const context2 = await browser.newContext({ locale: 'de-DE' });
  const page2 = await context2.newPage();
  const problems2 = watchPage(page2);
  await signIn(page2, physician);
  await page2.goto(`${base}/persons/${A}`);
  const table2 = page2.getByRole('region', { name: 'Dokumente' }).getByRole('table', { name: 'Dokumente' });
  await table2.getByRole('button', { name: 'Löschen Röntgen.png' }).click();
  const del = page2.getByRole('dialog', { name: '„Röntgen.png“ löschen?' });
  await del.getByLabel('Grund').fill('Doppelt hochgeladen');
  await checkScreen(page2, 'documents-delete');
  await del.getByRole('button', { name: 'Löschen' }).click();
  await page2.getByText('Das Dokument wurde gelöscht.').waitFor();
  await table2.getByRole('cell', { name: 'Röntgen.png', exact: true }).waitFor({ state: 'detached' });
  assert.deepEqual(problems2, []);
  await context2.close();
});

test('the mail-room: a scan is uploaded, previewed and assigned to a file found by a search', async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, clerk);
  await page.goto(`${base}/desk/mailroom`);
  await page.getByText('Keine offenen Scans im Posteingang.').waitFor();
  await page
    .getByLabel('Scan hochladen')
    .setInputFiles({ name: 'Fax 0815.pdf', mimeType: 'application/pdf', buffer: testPdf('Fax') });
  await page.getByText('„Fax 0815.pdf“ wurde hochgeladen.').waitFor();
  const table = page.getByRole('table', { name: 'Posteingang' });
  await table.getByRole('cell', { name: 'Fax 0815.pdf', exact: true }).waitFor();
  await checkScreen(page, 'mailroom-list');
  await table.getByRole('button', { name: 'Ansehen Fax 0815.pdf' }).click();
  const preview = page.getByRole('dialog', { name: 'Vorschau: Fax 0815.pdf' });
  await preview.locator('iframe[src$="/preview"]').waitFor();
  await preview.getByRole('button', { name: 'Schließen' }).click();
  await preview.waitFor({ state: 'detached' });
  await table.getByRole('button', { name: 'Zuordnen Fax 0815.pdf' }).click();
  const dialog = page.getByRole('dialog', { name: '„Fax 0815.pdf“ einer Akte zuordnen' });
  await dialog.getByLabel('Person suchen').fill('Quastenberg');
  await dialog.getByRole('button', { name: 'Suchen' }).click();
  await dialog.getByRole('button', { name: 'Dieser Akte zuordnen Quastenberg, Hannelore' }).waitFor();
  await checkScreen(page, 'mailroom-assign');
  await dialog.getByRole('button', { name: 'Dieser Akte zuordnen Quastenberg, Hannelore' }).click();
  await page.getByText('Der Scan liegt jetzt in der Akte Quastenberg, Hannelore.').waitFor();
  await page.getByText('Keine offenen Scans im Posteingang.').waitFor();
  await page.goto(`${base}/persons/${A}`);
  await page
    .getByRole('region', { name: 'Dokumente' })
    .getByRole('cell', { name: 'Fax 0815.pdf', exact: true })
    .waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});
