// Importing existing data in Chromium (issue 17): a department's head uploads a CSV with umlauts on the
// desk's Import tab, the columns are mapped (suggested from the headings), the dry run shows each row's
// outcome (two to create, one refused for its birth date, filterable), the import runs after a
// confirmation to its end, the report downloads without names, and the imported persons are findable
// and open from the rows. axe-clean and keyboard-usable at each step; screenshots under test-results/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { nextCode, setUpTenant, startHarness, type Account, type Client, type Harness } from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';

let h: Harness;
let browser: Browser;
let base: string;
let head: Client & Account;

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  base = h.url!;
  const t = await setUpTenant(h, []);
  const TB = (await t.admin.post('/api/admin/departments', { code: 'TB', name: 'Tuberkulosefürsorge' })).body.id;
  head = await t.user({ memberships: [{ departmentId: TB, role: 'head' }] });
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

const CSV = [
  'Nachname;Vorname;Geburtsdatum;Ort',
  'Wöllenbrünner;Thekla;04.12.1961;Görlitz',
  'Quäckenstedt;Bartholomäus;1958-07-30;Zittau',
  'Ohnedatum;Ida;31.02.1970;Bautzen',
].join('\r\n');

test('upload a CSV, map, dry run, import: the persons are findable', async () => {
  const context = await browser.newContext({ locale: 'de-DE', acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, head);

  await page.getByRole('link', { name: 'Schreibtisch' }).first().click();
  await page.getByRole('link', { name: 'Import' }).click();
  await page.getByRole('heading', { name: 'Daten importieren' }).waitFor();
  await page.getByText('Noch keine Importe.').waitFor();
  await checkScreen(page, 'import-start');
  await page
    .getByLabel('Datei (CSV oder XLSX)')
    .setInputFiles({ name: 'bestand.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV, 'utf8') });
  await page.getByRole('button', { name: 'Hochladen' }).click();

  // The job: the file's facts, its encoding as detected, its first rows, the mapping suggested from the headings.
  await page.getByRole('heading', { name: 'Spalten zuordnen' }).waitFor();
  await page.getByText('Erkannt: utf-8').waitFor();
  await page.getByRole('cell', { name: 'Wöllenbrünner' }).waitFor();
  assert.equal(await page.getByLabel('Nachname *').inputValue(), '0');
  assert.equal(await page.getByLabel('Geburtsdatum *').inputValue(), '2');
  await page.getByLabel('Ort', { exact: true }).selectOption({ label: 'Spalte 4: Ort' });
  await checkScreen(page, 'import-mapping');
  await page.getByRole('button', { name: 'Probelauf' }).click();
  await page.getByText('Probelauf: 2 würden angelegt, 0 zugeordnet, 1 abgelehnt.').waitFor();
  await page.getByRole('cell', { name: 'Geburtsdatum ungültig' }).waitFor();
  // Filtered to the refused rows: only row 4, with its reason.
  await page.getByLabel('Ergebnis', { exact: true }).selectOption({ label: 'Abgelehnt' });
  await page.getByText('1 von 1 Zeilen').waitFor();
  await checkScreen(page, 'import-dry-run');
  await page.getByLabel('Ergebnis', { exact: true }).selectOption({ label: 'Alle' });
  await page.getByText('3 von 3 Zeilen').waitFor();

  // Started after a confirmation that says what will happen.
  await page.getByRole('button', { name: 'Import starten' }).click();
  const dialog = page.getByRole('alertdialog', { name: 'Import starten?' });
  await dialog
    .getByText('2 Akten werden angelegt, 0 Zeilen vorhandenen Akten zugeordnet, 1 Zeilen abgelehnt.')
    .waitFor();
  await dialog.getByRole('button', { name: 'Import starten' }).click();
  await page.getByText('Import abgeschlossen: 2 angelegt, 0 zugeordnet, 1 abgelehnt.').waitFor();
  await page.getByRole('cell', { name: 'Angelegt' }).first().waitFor();
  await checkScreen(page, 'import-done');

  // The report: row numbers, outcomes, reasons, ids — no names.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Bericht herunterladen (CSV)' }).click(),
  ]);
  const report = fs.readFileSync((await download.path())!).toString('utf8');
  assert.match(report, /Zeile;Ergebnis;Grund;Person-ID/);
  assert.match(report, /\r\n4;refused;birth-date-invalid;;/);
  for (const name of ['Wöllenbrünner', 'Quäckenstedt', 'Thekla']) assert.ok(!report.includes(name));

  // The persons are findable and open from their row.
  const found = await head.get(`/api/persons?q=${encodeURIComponent('Wöllenbrünner')}`);
  assert.equal(found.body.length, 1);
  assert.equal(found.body[0].givenName, 'Thekla');
  await page.getByRole('link', { name: 'Akte öffnen (Zeile 2)' }).click();
  await page.getByRole('heading', { name: /Wöllenbrünner/ }).waitFor();

  // The earlier imports list it as done.
  await page.goto(`${base}/desk/import`);
  await page.getByRole('cell', { name: 'Abgeschlossen' }).waitFor();
  await checkScreen(page, 'import-list');
  assert.deepEqual(problems, []);
  await context.close();
});
