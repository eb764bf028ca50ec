// Outbreaks and numbers in the browser (issue 16): a physician creates an outbreak, adds two cases
// (made through the API) found by the person's name, writes a timeline entry, sees the counts by
// status and the contact persons of its cases, and reads the numbers table (KW 49/2026) and its chart — in German, by keyboard, axe-clean.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
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

let h: Harness;
let t: Tenant;
let browser: Browser;
let base: string;
let doc: Client & Account;
const caseIds: Record<string, string> = {};

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  base = h.url!;
  t = await setUpTenant(h, ['INF', 'TB']);
  const INF = t.departments.INF!;
  const a = await t.account(
    { memberships: [{ departmentId: INF, role: 'physician' }] },
    { displayName: 'Dr. Ina Inf' },
  );
  doc = Object.assign(await login(h, a.username, a.password), a);
  const cases: [string, string, string, string][] = [
    ['Brechmann', 'confirmed', '2026-12-01', '2026-11-29'],
    ['Durchfeld', 'suspected', '2026-12-03', '2026-11-30'],
    ['Ohnezug', 'probable', '2026-11-24', '2026-11-22'],
  ];
  for (const [name, status, notifiedOn, onset] of cases) {
    const p = await doc.post('/api/persons', samplePerson(INF, name));
    const r = await doc.post(`/api/persons/${p.body.id}/records`, {
      type: 'ifsg-case',
      sensitivity: 'normal',
      content: { disease: { code: 'norp', display: 'Norovirus' }, status, notifiedOn, onset },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    caseIds[name] = r.body.id;
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

test('an outbreak with two cases, a timeline entry, its counts, and the numbers table', async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(`${base}/infection/outbreaks`);
  await page.getByLabel('Benutzername').fill(doc.username);
  await page.getByLabel('Passwort', { exact: true }).fill(doc.password);
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByLabel('Code aus der Authenticator-App').fill(nextCode(h, doc.username));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();

  await page.getByText('Diese Abteilung hat noch keine Ausbrüche.').waitFor();
  await page.getByRole('button', { name: 'Neuer Ausbruch' }).click();
  await page.getByLabel('Bezeichnung').fill('Kita Pusteblume');
  await page.getByLabel('Setting').selectOption({ label: 'Kindertagesstätte' });
  await page.getByLabel('Beginn').fill('30.11.2026');
  await checkScreen(page, 'outbreak-new');
  await page.getByRole('button', { name: 'Ausbruch anlegen' }).click();
  await page.getByRole('heading', { name: 'Kita Pusteblume' }).waitFor();
  await page.getByText('Noch keine Fälle zugeordnet.').waitFor();

  for (const name of ['Brechmann', 'Durchfeld']) {
    await page.getByLabel('Person suchen').fill(name);
    await page.getByRole('button', { name: 'Suchen' }).click();
    await page.getByRole('button', { name: 'Auswählen' }).click();
    await page.getByRole('heading', { name: `Fälle von ${name}, Hannelore` }).waitFor();
    await page.getByRole('button', { name: 'Hinzufügen', exact: true }).click();
    await page
      .getByRole('table', { name: 'Fälle des Ausbruchs' })
      .getByRole('link', { name: new RegExp(name) })
      .waitFor();
  }
  // A contact person of one of its cases (issue 16: seams) shows with the outbreak, counted by state.
  const contact = await doc.post(`/api/cases/${caseIds.Brechmann}/contacts`, {
    person: { familyName: 'Kontaktreich', givenName: 'Klara', birthDate: '1980-02-03' },
    category: 'close',
    lastExposure: '2026-11-30',
  });
  assert.equal(contact.status, 201, JSON.stringify(contact.body));
  await page.reload();
  const contacts = page.getByRole('table', { name: 'Kontaktpersonen des Ausbruchs' });
  await contacts.getByRole('link', { name: 'Kontaktreich, Klara' }).waitFor();
  assert.match(await contacts.innerText(), /03\.02\.1980[\s\S]*30\.11\.2026[\s\S]*in Nachverfolgung/);
  assert.deepEqual(
    await page.getByRole('table', { name: 'Kontaktpersonen nach Stand' }).locator('tbody td').allTextContents(),
    ['1', '0', '0', '1'],
  );
  const counts = page.getByRole('table').filter({ hasText: 'wahrscheinlich' }).first();
  assert.deepEqual(
    await counts.locator('tbody td').allTextContents(),
    ['1', '0', '1', '0', '2'],
    'Verdacht 1, wahrscheinlich 0, bestätigt 1, kein Fall 0, gesamt 2',
  );
  assert.match(await page.locator('dl.facts').innerText(), /01\.12\.2026 bis 03\.12\.2026/);
  assert.match(await page.locator('dl.facts').innerText(), /29\.11\.2026 bis 30\.11\.2026/);

  await page.getByLabel('Tag', { exact: true }).fill('02.12.2026');
  await page.getByLabel('Eintrag', { exact: true }).fill('Begehung der Kita, Hygieneplan besprochen');
  await page.getByRole('button', { name: 'Eintrag hinzufügen' }).click();
  await page.getByText('Begehung der Kita, Hygieneplan besprochen').waitFor();
  assert.match(await page.locator('ol.timeline').innerText(), /02\.12\.2026 von Dr\. Ina Inf/);
  await checkScreen(page, 'outbreak-detail');

  await page.getByRole('link', { name: 'Alle Ausbrüche' }).click();
  const row = page.getByRole('row', { name: /Kita Pusteblume/ });
  await row.waitFor();
  assert.match(await row.innerText(), /Kindertagesstätte/);
  await checkScreen(page, 'outbreak-list');

  await page.getByRole('link', { name: 'Zahlen' }).click();
  await page.getByLabel('Von Meldewoche').fill('2026-W48');
  await page.getByLabel('Bis Meldewoche').fill('2026-W49');
  await page.getByRole('button', { name: 'Anzeigen' }).click();
  const table = page.getByRole('table', { name: 'Fälle je Krankheit und Meldewoche (ohne „kein Fall“)' });
  // The table of the default weeks is replaced by the chosen two.
  await page.waitForFunction(
    () => document.querySelectorAll('table.numbers')[0]?.querySelectorAll('thead th').length === 4,
  );
  assert.deepEqual(await table.locator('thead th').allTextContents(), [
    'Krankheit',
    'KW 48/2026',
    'KW 49/2026',
    'Summe',
  ]);
  assert.deepEqual(await table.locator('tbody tr').first().locator('th, td').allTextContents(), [
    'Norovirus',
    '1',
    '2',
    '3',
  ]);
  assert.deepEqual(await table.locator('tfoot td').allTextContents(), ['1', '2', '3']);
  const byOutbreak = page.getByRole('table', { name: 'Fälle je Ausbruch und Meldewoche' });
  assert.deepEqual(
    await byOutbreak
      .getByRole('row', { name: /Kita Pusteblume/ })
      .locator('td')
      .allTextContents(),
    ['0', '2', '2'],
  );
  assert.equal(await page.getByRole('img', { name: 'Fälle je Meldewoche' }).count(), 1);
  assert.ok(await page.getByRole('link', { name: 'Tabelle als CSV herunterladen' }).isVisible());
  // A range the wrong way round is refused naming the field, in German.
  await page.getByLabel('Von Meldewoche').fill('2026-W49');
  await page.getByLabel('Bis Meldewoche').fill('2026-W40');
  await page.getByRole('button', { name: 'Anzeigen' }).click();
  await page.getByText('Das Enddatum darf nicht vor dem Anfangsdatum liegen.').waitFor();
  await checkScreen(page, 'numbers');
  assert.deepEqual(problems, []);
  await context.close();
});
