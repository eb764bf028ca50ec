// An access report across two departments read as the DPO (issue 14), in Chromium:
// the DPO searches the person by family name and birth date, chooses the files of
// both departments, reads the report in German words (no action codes, no ids),
// prints it as a letter (navigation hidden) and downloads the PDF; a department's
// head reaches the report of the department's file from the file. axe-clean; the
// DPO's report is saved as test-results/access-report.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import {
  login,
  nextCode,
  setUpTenant,
  samplePerson,
  startHarness,
  type Account,
  type Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';
import { pdfText } from '../helpers/pdf-text.ts';

let h: Harness;
let t: Tenant;
let browser: Browser;
let base: string;
type Staff = Client & Account;
let dpo: Staff, infHead: Staff, infClerk: Staff, tbClerk: Staff;
let P1: string;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const CODE = /\b(person|record|study|file|share|audit)\.[a-z-]+\b/;

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  base = h.url!;
  t = await setUpTenant(h, []);
  const dept = async (code: string, name: string) =>
    (await t.admin.post('/api/admin/departments', { code, name })).body.id as string;
  const INF = await dept('INF', 'Infektionsschutz');
  const TB = await dept('TB', 'Tuberkulosefürsorge');
  dpo = await t.user({ tenantRoles: ['dpo'] });
  infHead = await t.user({ memberships: [{ departmentId: INF, role: 'head' }] });
  // Named, as the report names them (accounts the harness makes are "Staff n").
  const named = async (departmentId: string, displayName: string) => {
    const a = await t.account({ memberships: [{ departmentId, role: 'clerk' }] }, { displayName });
    return Object.assign(await login(h, a.username, a.password), a);
  };
  infClerk = await named(INF, 'Anna Acker');
  tbClerk = await named(TB, 'Tilo Teich');
  P1 = (await infClerk.post('/api/persons', samplePerson(INF))).body.id;
  const P2 = (await tbClerk.post('/api/persons', samplePerson(TB))).body.id;
  const record = (
    await infClerk.post(`/api/persons/${P1}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: 'Kontakt am Montag' },
    })
  ).body.id;
  await infClerk.get(`/api/persons/${P1}`);
  await infClerk.get(`/api/persons/${P1}/records`);
  await infClerk.get(`/api/records/${record}`);
  const until = new Date(Date.now() + 86_400_000).toISOString();
  assert.equal(
    (
      await infHead.post(`/api/persons/${P1}/shares`, {
        departmentId: TB,
        purpose: 'Umgebungsuntersuchung nach offener Tuberkulose',
        until,
      })
    ).status,
    201,
  );
  await tbClerk.get(`/api/persons/${P1}`);
  await tbClerk.get(`/api/persons/${P2}`);
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

test('an access report across two departments read as the DPO: found by name and birth date, in German words, printed and as PDF', async () => {
  const context = await browser.newContext({ locale: 'de-DE', acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, dpo);

  await page.getByRole('link', { name: 'Datenschutz' }).click();
  await page.getByRole('link', { name: 'Auskunft' }).click();
  await page.getByRole('heading', { name: 'Auskunft nach Art. 15 DSGVO' }).waitFor();
  await page.getByLabel('Familienname').fill('Quastenberg');
  await page.getByLabel('Geburtsdatum').fill('1961-04-17');
  await page.getByRole('button', { name: 'Akten suchen' }).click();
  await page.getByText('2 Akten gefunden').waitFor();
  const inf = page.getByRole('checkbox', { name: 'Quastenberg, Hannelore, geb. 17.04.1961 – Infektionsschutz' });
  const tb = page.getByRole('checkbox', { name: 'Quastenberg, Hannelore, geb. 17.04.1961 – Tuberkulosefürsorge' });
  assert.ok((await inf.isChecked()) && (await tb.isChecked()), 'both files chosen');
  await checkScreen(page, 'access-report-search');
  await page.getByRole('button', { name: 'Auskunft erstellen' }).click();

  const letter = page.locator('article.letter');
  await page
    .getByRole('heading', {
      name: 'Auskunft nach Art. 15 DSGVO über Zugriffe auf die Daten von Hannelore Quastenberg, geb. 17.04.1961',
    })
    .waitFor();
  await letter.getByText('Gesundheitsamt Musterstadt').waitFor();
  await letter.getByText('Erfasste Akten: Infektionsschutz, Tuberkulosefürsorge').waitFor();
  const text = await letter.innerText();
  for (const words of [
    `${infClerk.displayName} (Sachbearbeitung, Infektionsschutz) hat die Akte angelegt`,
    `${infClerk.displayName} (Sachbearbeitung, Infektionsschutz) hat einen Eintrag gelesen`,
    `${infHead.displayName} (Leitung, Infektionsschutz) hat die Akte für eine andere Abteilung freigegeben`,
    `${tbClerk.displayName} (Sachbearbeitung, Tuberkulosefürsorge) hat die Akte geöffnet`,
    'über eine Freigabe für die Abteilung Tuberkulosefürsorge, Zweck: „Umgebungsuntersuchung nach offener Tuberkulose“ · Akte der Abteilung Infektionsschutz',
    'als Mitarbeitende der Abteilung Tuberkulosefürsorge, die die Akte führt · Akte der Abteilung Tuberkulosefürsorge',
  ]) {
    assert.ok(text.replace(/\s+/g, ' ').includes(words), `"${words}" in:\n${text}`);
  }
  assert.match(text, /\d{2}\.\d{2}\.\d{4}/, 'days as 04.12.2026');
  assert.doesNotMatch(text, CODE, 'no action codes');
  assert.doesNotMatch(text, UUID, 'no ids');
  await checkScreen(page, 'access-report');

  // Printed: a clean letter with the office's name, without navigation or buttons.
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.getByRole('navigation', { name: 'Hauptnavigation' }).isVisible(), false);
  assert.equal(await page.getByRole('button', { name: 'Drucken' }).isVisible(), false);
  assert.ok(await letter.getByText('Gesundheitsamt Musterstadt').isVisible());
  await page.screenshot({ path: path.join('test-results', 'access-report-print.png'), fullPage: true });
  await page.emulateMedia({ media: 'screen' });

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Als PDF herunterladen' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'Auskunft-Zugriffe.pdf');
  const pdf = fs.readFileSync((await download.path())!);
  const pdfWords = pdfText(pdf).join(' ').replace(/\s+/g, ' ');
  assert.ok(pdfWords.includes('Hannelore Quastenberg, geb. 17.04.1961'), pdfWords);
  assert.ok(
    pdfWords.includes(`${tbClerk.displayName} (Sachbearbeitung, Tuberkulosefürsorge) hat die Akte geöffnet`),
    pdfWords,
  );
  assert.deepEqual(problems, []);
  await context.close();
});

test("a department's head reaches the report of the department's file from the file", async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, infHead);
  await page.goto(`${base}/persons/${P1}`);
  await page.getByRole('link', { name: 'Zugriffe auf diese Akte' }).click();
  await page
    .getByRole('heading', {
      name: /^Auskunft nach Art\. 15 DSGVO über Zugriffe auf die Daten von Hannelore Quastenberg/,
    })
    .waitFor();
  const text = await page.locator('article.letter').innerText();
  assert.ok(text.includes('Erfasste Akten: Infektionsschutz'));
  assert.ok(!text.includes('Akte der Abteilung Tuberkulosefürsorge'), "only the department's own file");
  assert.ok(text.includes(`${tbClerk.displayName} (Sachbearbeitung, Tuberkulosefürsorge) hat die Akte geöffnet`));
  assert.doesNotMatch(text, CODE);
  assert.doesNotMatch(text, UUID);
  await checkScreen(page, 'access-report-head');
  assert.deepEqual(problems, []);
  await context.close();
});
