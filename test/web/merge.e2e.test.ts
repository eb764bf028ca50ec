// Merging two files of one person in Chromium (issue 16): a clerk opens a file, finds the other one in
// the dialog, compares both side by side and merges; the file shows the pending merge's banner, the
// absorbed file's address says where it went; the clerk undoes it; merged again, a physician confirms
// it. Every screen axe-clean and keyboard-usable (checkScreen).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
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

let h: Harness;
let t: Tenant;
let browser: Browser;
let base: string;
type Staff = Client & Account;
let clerk: Staff, physician: Staff;
let A: string, B: string;

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
  const { address: _a, ...withoutAddress } = samplePerson(INF);
  B = (await clerk.post('/api/persons', withoutAddress)).body.id;
  for (const [id, text] of [
    [A, 'Erstkontakt im Amt'],
    [B, 'Hustenreiz seit Montag'],
  ] as const) {
    const r = await clerk.post(`/api/persons/${id}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text },
    });
    assert.equal(r.status, 201);
  }
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

const open = (page: Page, id: string) => page.goto(`${base}/persons/${id}`);

test('a clerk merges two files after comparing them, sees where the absorbed one went, and undoes it', async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, clerk);
  await open(page, A);
  await page.getByRole('heading', { name: 'Quastenberg, Hannelore' }).waitFor();
  await page.getByRole('button', { name: 'Mit anderer Akte zusammenführen' }).click();
  const dialog = page.getByRole('dialog', { name: 'Mit anderer Akte zusammenführen' });
  await dialog.getByLabel('Andere Akte suchen').fill('Quastenberg');
  await dialog.getByRole('button', { name: 'Suchen' }).click();
  await dialog.getByRole('button', { name: 'Vergleichen' }).click();
  const table = dialog.getByRole('table', { name: 'Beide Akten im Vergleich' });
  await table.waitFor();
  const text = await table.innerText();
  assert.match(text, /Lindenallee 12, 12345 Musterstadt/);
  assert.match(text, /Einträge\s+1\s+1/);
  assert.match(text, /17\.04\.1961/);
  assert.equal(await dialog.getByLabel('Welche Akte bleibt bestehen?').inputValue(), 'this');
  await checkScreen(page, 'merge-dialog');
  await dialog.getByRole('button', { name: 'Zusammenführen' }).click();

  const banner = page.getByRole('region', { name: 'Zusammenführung wartet auf Bestätigung' });
  await banner.waitFor();
  assert.match(await banner.innerText(), /Anna Acker/);
  assert.equal(await banner.getByRole('button', { name: 'Bestätigen' }).count(), 0, 'not for whoever merged');
  await page.getByRole('link', { name: 'Hustenreiz seit Montag' }).waitFor();
  await checkScreen(page, 'merge-pending');

  // The absorbed file's address: where it went, with a link.
  await banner.getByRole('link', { name: 'Zur aufgegangenen Akte' }).click();
  await page.getByText('Diese Akte wurde zusammengeführt in').waitFor();
  await page.getByRole('link', { name: 'Quastenberg, Hannelore' }).waitFor();
  await checkScreen(page, 'merged-away');
  await page.getByRole('link', { name: 'Quastenberg, Hannelore' }).click();

  await page
    .getByRole('region', { name: 'Zusammenführung wartet auf Bestätigung' })
    .getByRole('button', { name: 'Rückgängig' })
    .click();
  await page
    .getByRole('alertdialog', { name: 'Zusammenführung rückgängig machen?' })
    .getByRole('button', { name: 'Rückgängig' })
    .click();
  await page.getByText('Zusammenführung rückgängig gemacht.').waitFor();
  await page.getByRole('region', { name: 'Zusammenführung wartet auf Bestätigung' }).waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'Hustenreiz seit Montag' }).waitFor({ state: 'detached' });
  await open(page, B);
  await page.getByRole('link', { name: 'Hustenreiz seit Montag' }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test('merged again, a physician (not the one who merged) confirms it', async () => {
  const m = await clerk.post(`/api/persons/${A}/merge`, { absorbedId: B, survivorVersion: 1, absorbedVersion: 1 });
  assert.equal(m.status, 201, JSON.stringify(m.body));
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, physician);
  await open(page, A);
  const banner = page.getByRole('region', { name: 'Zusammenführung wartet auf Bestätigung' });
  await banner.getByRole('button', { name: 'Bestätigen' }).click();
  await page
    .getByRole('alertdialog', { name: 'Zusammenführung bestätigen?' })
    .getByRole('button', { name: 'Bestätigen' })
    .click();
  await page.getByText('Zusammenführung bestätigt.').waitFor();
  await banner.waitFor({ state: 'detached' });
  await checkScreen(page, 'merge-confirmed');
  assert.equal((await clerk.get(`/api/persons/${B}`)).status, 410);
  assert.deepEqual(problems, []);
  await context.close();
});
