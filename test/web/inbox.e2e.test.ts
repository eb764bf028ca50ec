// The DEMIS inbox in Chromium (issue 16): a physician uploads a laboratory bundle by hand, finds it in
// the inbox, assigns it to herself, creates the person from the notification's data ("Neue Person
// anlegen", prefilled), accepts it into a case ("In Fall übernehmen"), and finds the case in the
// person's file; a broken bundle shows its problems at once and waits in the quarantine. German,
// dates as 04.12.2026, keyboard-usable and axe-clean on every screen.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { laboratoryBundle } from '../helpers/demis-bundles.ts';
import {
  login,
  nextCode,
  setUpTenant,
  startHarness,
  type Account,
  type Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';

let h: Harness;
let t: Tenant;
let browser: Browser;
let base: string;
let physician: Client & Account;

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  base = h.url!;
  t = await setUpTenant(h, []);
  const INF = (await t.admin.post('/api/admin/departments', { code: 'INF', name: 'Infektionsschutz' })).body
    .id as string;
  const a = await t.account({ memberships: [{ departmentId: INF, role: 'physician' }] }, { displayName: 'Irma Imhof' });
  physician = Object.assign(await login(h, a.username, a.password), a);
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

test('upload → inbox → assign to me → new person → accept into case → the case is in the file', async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, physician);
  await page.getByRole('link', { name: 'Infektionsschutz' }).first().click();
  await page.getByRole('heading', { name: 'Meldungseingang' }).waitFor();
  await page.getByRole('link', { name: 'Hochladen' }).click();
  await page.getByRole('heading', { name: 'Meldung hochladen' }).waitFor();

  const bundle = laboratoryBundle({
    familyName: 'Wendelstein',
    givenName: 'Rosalinde',
    birthDate: '1958-07-21',
    notifiedAt: '2026-12-04T09:30:00+01:00',
  });
  await page.getByLabel('Datei (JSON oder XML)').setInputFiles({
    name: 'meldung.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(bundle)),
  });
  await checkScreen(page, 'inbox-upload');
  await page.getByRole('button', { name: 'Hochladen', exact: true }).click();
  await page.getByText('Neue Meldung eingegangen.').waitFor();

  // In the inbox: the person as notified, the notification's day as 04.12.2026.
  await page.getByRole('link', { name: 'Meldungen', exact: true }).click();
  const row = page.getByRole('row', { name: /Wendelstein, Rosalinde/ });
  await row.waitFor();
  assert.match(await row.innerText(), /04\.12\.2026/);
  assert.match(await row.innerText(), /21\.07\.1958/);
  assert.match(await row.innerText(), /neu/);
  await checkScreen(page, 'inbox-list');
  await row.getByRole('link', { name: 'Wendelstein, Rosalinde' }).click();

  await page.getByRole('heading', { name: /Labormeldung \(§ 7\): .* — Wendelstein, Rosalinde/ }).waitFor();
  await page.getByRole('button', { name: 'Mir zuweisen' }).click();
  await page.getByText('Zugewiesen an: Irma Imhof').waitFor();
  await page.getByText('Keine passende Akte in der Abteilung.').waitFor();
  await checkScreen(page, 'inbox-notification');

  await page.getByRole('button', { name: 'Neue Person anlegen' }).click();
  const form = page.getByRole('form', { name: 'Neue Person anlegen' });
  assert.equal(await form.getByLabel('Nachname').inputValue(), 'Wendelstein');
  assert.equal(await form.getByLabel('Vorname').inputValue(), 'Rosalinde');
  assert.equal(await form.getByLabel('Geburtsdatum').inputValue(), '21.07.1958');
  await form.getByRole('button', { name: 'Person anlegen und zuordnen' }).click();
  await page.getByText('Zugeordnet:').waitFor();

  await page.getByLabel('Fallstatus').selectOption('confirmed');
  await page.getByRole('button', { name: 'In Fall übernehmen' }).click();
  await page.getByText('Status: abgeschlossen').waitFor();
  await checkScreen(page, 'inbox-accepted');
  const caseHref = await page.getByRole('link', { name: 'Fall öffnen' }).getAttribute('href');
  assert.match(caseHref ?? '', /^\/records\//);
  await page.getByRole('link', { name: 'Akte öffnen' }).click();
  await page
    .getByRole('heading', { name: /Wendelstein/ })
    .first()
    .waitFor();
  await page.locator(`a[href="${caseHref}"]`).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test('a broken bundle shows its problems at once and waits in the quarantine', async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, physician);
  await page.goto(`${base}/infection/inbox/upload`);
  await page.getByLabel('Datei (JSON oder XML)').setInputFiles({
    name: 'kaputt.json',
    mimeType: 'application/json',
    buffer: Buffer.from('{"resourceType":"Bundle","type":"document"}'),
  });
  await page.getByRole('button', { name: 'Hochladen', exact: true }).click();
  await page.getByText('Die Meldung wurde abgewiesen und in die Quarantäne gelegt:').waitFor();
  // The reason in German, from its code (never the English text, never a value from the bundle).
  await page.getByText(/Bundle\.meta\.profile: Erwartet: eines der Profile https:\/\/demis\.rki\.de/).waitFor();
  await page.getByRole('link', { name: 'Zum Quarantäne-Eintrag' }).click();
  await page.getByRole('heading', { name: /Abgewiesene Meldung vom \d{2}\.\d{2}\.\d{4}/ }).waitFor();
  await page.getByRole('cell', { name: /^eines der Profile https:\/\/demis\.rki\.de/ }).waitFor();
  await checkScreen(page, 'inbox-quarantine-entry');
  await page.getByLabel('Begründung').fill('Testdatei ohne Inhalt, verworfen');
  await page.getByRole('button', { name: 'Verwerfen' }).click();
  await page.getByText(/Verworfen von Irma Imhof/).waitFor();
  await page.getByRole('link', { name: 'Quarantäne' }).click();
  await page.getByRole('cell', { name: 'verworfen' }).first().waitFor();
  await checkScreen(page, 'inbox-quarantine');
  assert.deepEqual(problems, []);
  await context.close();
});
