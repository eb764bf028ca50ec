// Issue 14 in the browser: a session that ends takes the file off the page (idle
// here, or any 401) and gives it back, with what was typed, after signing in
// again; the break-the-glass banner with the time left survives a reload; every
// destructive action asks first (Cancel and Escape change nothing, checked
// through the API), the administrator's own row offers none of them; a physician
// who may not share sees why and whom to ask; successes say so briefly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import {
  nextCode,
  samplePerson,
  setUpTenant,
  startHarness,
  type Account,
  type Client,
  type Harness,
  type Tenant,
} from '../helpers/harness.ts';
import { checkScreen, launchBrowser, quiet, watchPage } from '../helpers/browser.ts';

let h: Harness;
let t: Tenant;
let browser: Browser;
let base: string;
let inf: string;
let tb: string;

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  base = h.url!;
  t = await setUpTenant(h, ['INF', 'TB']);
  inf = t.departments.INF!;
  tb = t.departments.TB!;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

/** A fresh context (its clock faked when asked) and a page in it, watched for errors. */
async function open(
  path: string,
  fakeClock = false,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale: 'de-DE' });
  if (fakeClock) await context.clock.install();
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(base + path);
  return { context, page, problems };
}

/** Signs in an account the harness has logged in before (so its second factor is known). */
async function signIn(page: Page, a: Account): Promise<void> {
  await page.getByLabel('Benutzername').fill(a.username);
  await page.getByLabel('Passwort', { exact: true }).fill(a.password);
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByLabel('Code aus der Authenticator-App').fill(nextCode(h, a.username));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
}

/** The re-login dialog's two steps. */
async function signInAgain(page: Page, a: Account): Promise<void> {
  const dialog = page.getByRole('dialog', { name: 'Bitte erneut anmelden' });
  await dialog.getByLabel('Passwort').fill(a.password);
  await dialog.getByRole('button', { name: 'Weiter' }).click();
  await dialog.getByLabel('Code aus der Authenticator-App').fill(nextCode(h, a.username));
  await dialog.getByRole('button', { name: 'Anmelden' }).click();
  await dialog.waitFor({ state: 'detached' });
}

/** Everything the document holds, markup and attributes included. */
const pageText = (page: Page) => page.evaluate(() => document.documentElement.outerHTML);

async function fileOf(c: Client, departmentId: string, familyName: string, note: string): Promise<string> {
  const p = await c.post('/api/persons', samplePerson(departmentId, familyName));
  assert.equal(p.status, 201, JSON.stringify(p.body));
  assert.equal(
    (
      await c.post(`/api/persons/${p.body.id}/records`, {
        type: 'note',
        sensitivity: 'normal',
        content: { text: note },
      })
    ).status,
    201,
  );
  return p.body.id;
}

test('idle expiry takes the file off the page; signing in again brings it back with what was typed', async () => {
  const petra = await t.user({ memberships: [{ departmentId: inf, role: 'physician' }] });
  const id = await fileOf(petra, inf, 'Zimmermann', 'Hausbesuch am Montag vereinbart');
  const { context, page, problems } = await open(`/persons/${id}`, true);
  await signIn(page, petra);
  await page.getByRole('heading', { name: 'Zimmermann, Hannelore' }).waitFor();
  await page.getByRole('button', { name: 'Neuer Eintrag' }).click();
  await page.getByLabel('Text').fill('Rückruf der Hausärztin, noch nicht gespeichert');

  // Thirty minutes without a request: the server has ended the session, and the page says so over nothing.
  await quiet(page);
  await context.clock.fastForward('30:30');
  const dialog = page.getByRole('dialog', { name: 'Bitte erneut anmelden' });
  await dialog.waitFor();
  const hidden = await pageText(page);
  for (const secret of ['Zimmermann', 'Hannelore', 'Lindenallee', '17.04.1961', 'Rückruf der Hausärztin'])
    assert.ok(!hidden.includes(secret), `${secret} stays in the page behind the dialog`);
  assert.equal(await page.locator('main textarea, main input').count(), 0);
  await page.getByText('Der Inhalt ist ausgeblendet, bis Sie sich erneut angemeldet haben.').waitFor();
  await checkScreen(page, 'ux-01-idle-relogin');

  await signInAgain(page, petra);
  await page.getByRole('heading', { name: 'Zimmermann, Hannelore' }).waitFor();
  assert.equal(await page.getByLabel('Text').inputValue(), 'Rückruf der Hausärztin, noch nicht gespeichert');
  await page.getByRole('button', { name: 'Speichern' }).click();
  await page.getByRole('link', { name: 'Rückruf der Hausärztin, noch nicht gespeichert' }).waitFor();
  // The success is said, politely and briefly, without taking the focus.
  await page.getByRole('status').filter({ hasText: 'Eintrag gespeichert.' }).waitFor();
  await context.clock.fastForward('00:06');
  await page.getByText('Eintrag gespeichert.').waitFor({ state: 'detached' });

  // Any 401 in a running session does the same: an edit meets an ended session.
  await page.getByRole('button', { name: 'Personendaten bearbeiten' }).click();
  await page.getByLabel('Vorname').fill('Gerlinde');
  await context.clearCookies();
  await page.getByRole('button', { name: 'Speichern' }).click();
  await dialog.waitFor();
  assert.ok(!(await pageText(page)).includes('Zimmermann'), 'the file stays in the page behind the dialog after a 401');
  await signInAgain(page, petra);
  await page.getByRole('heading', { name: 'Zimmermann, Gerlinde' }).waitFor();
  await page.getByRole('status').filter({ hasText: 'Gespeichert.' }).waitFor();
  assert.equal((await petra.get(`/api/persons/${id}`)).body.givenName, 'Gerlinde');
  assert.deepEqual(problems, []);
  await context.close();
});

test('someone else signing in at the re-login dialog gets a fresh page, not the screen behind it', async () => {
  const owner = await t.user({ memberships: [{ departmentId: inf, role: 'physician' }] });
  const id = await fileOf(owner, inf, 'Wechselberg', 'Nur für die eigene Abteilung');
  const stranger = await t.user({ memberships: [{ departmentId: tb, role: 'clerk' }] });
  const { context, page, problems } = await open(`/persons/${id}`);
  await signIn(page, owner);
  await page.getByRole('heading', { name: 'Wechselberg, Hannelore' }).waitFor();
  await page.getByRole('button', { name: 'Personendaten bearbeiten' }).click();
  await context.clearCookies();
  await page.getByRole('button', { name: 'Speichern' }).click();
  const dialog = page.getByRole('dialog', { name: 'Bitte erneut anmelden' });
  await dialog.waitFor();
  // The name field is fixed; someone who unlocks it and signs in as themselves sees nothing of the file.
  await dialog.getByLabel('Benutzername').evaluate((el) => el.removeAttribute('readonly'));
  await dialog.getByLabel('Benutzername').fill(stranger.username);
  await signInAgain(page, stranger);
  await page.getByRole('heading', { name: 'Personen' }).waitFor();
  assert.ok(!(await pageText(page)).includes('Wechselberg'));
  assert.equal(new URL(page.url()).pathname, '/persons');
  assert.deepEqual(problems, []);
  await context.close();
});

test('the break-the-glass banner with the time left survives a reload: the server knows the grant', async () => {
  const owner = await t.user({ memberships: [{ departmentId: inf, role: 'physician' }] });
  const id = await fileOf(owner, inf, 'Notfallmann', 'Vorbefund Lunge');
  const tobias = await t.user({ memberships: [{ departmentId: tb, role: 'clerk' }] });
  const opened = await tobias.post(`/api/persons/${id}/break-glass`, {
    reason: 'Patient bewusstlos in der Notaufnahme, Vorbefunde nötig',
  });
  assert.equal(opened.status, 200);
  const { context, page, problems } = await open(`/persons/${id}`);
  await signIn(page, tobias);
  const banner = page.getByText(/Notfallzugriff: noch etwa \d+ Minuten\. Dieser Zugriff wird geprüft\./);
  await banner.waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Notfallmann, Hannelore' }).waitFor();
  await banner.waitFor();
  // Nothing of it kept in the browser: the banner comes with the file's answer.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.ok(!stored.includes(opened.body.expiresAt.slice(0, 16)) && !stored.includes(id), stored);
  await checkScreen(page, 'ux-02-emergency-banner-reloaded');
  // The owning department's reader has no banner.
  assert.equal((await owner.get(`/api/persons/${id}`)).body.emergencyAccess, null);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a physician who may not share sees why and whom to ask; the head ends a share only after confirming', async () => {
  const head = await t.user({ memberships: [{ departmentId: inf, role: 'head' }] });
  const physician = await t.user({ memberships: [{ departmentId: inf, role: 'physician' }] });
  const id = await fileOf(physician, inf, 'Freigabeberg', 'Kontrolle');
  const shared = await head.post(`/api/persons/${id}/shares`, {
    departmentId: tb,
    purpose: 'Umgebungsuntersuchung im Haushalt',
    until: new Date(Date.now() + 7 * 86_400_000).toISOString(),
  });
  assert.equal(shared.status, 201);

  const one = await open(`/persons/${id}`);
  await signIn(one.page, physician);
  await one.page
    .getByText(
      `Nur die Leitung der Abteilung kann die Akte für eine andere Abteilung freigeben. Bitte wenden Sie sich an: ${head.displayName}.`,
    )
    .waitFor();
  assert.equal(await one.page.getByRole('button', { name: 'Akte freigeben …' }).count(), 0);
  await checkScreen(one.page, 'ux-03-share-why-not');
  assert.deepEqual(one.problems, []);
  await one.context.close();

  const { context, page, problems } = await open(`/persons/${id}`);
  await signIn(page, head);
  const end = page.getByRole('button', { name: 'Freigabe für Abteilung TB beenden' });
  const ask = page.getByRole('alertdialog', { name: 'Freigabe für Abteilung TB beenden?' });
  const live = async () => (await head.get(`/api/persons/${id}/shares`)).body.length;
  await end.click();
  await ask.getByText('Abteilung TB kann die Akte danach nicht mehr lesen.', { exact: false }).waitFor();
  await checkScreen(page, 'ux-04-confirm-share-end');
  await ask.getByRole('button', { name: 'Abbrechen' }).click();
  await ask.waitFor({ state: 'detached' });
  assert.equal(await live(), 1, 'Cancel leaves the share');
  await end.click();
  await ask.getByRole('button', { name: 'Freigabe beenden' }).click();
  await page.getByRole('status').filter({ hasText: 'Freigabe für Abteilung TB beendet.' }).waitFor();
  await end.waitFor({ state: 'detached' });
  assert.equal(await live(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test('an administrator: the own row offers nothing it may not do; deactivating, a reset and removing a device ask first', async () => {
  const admin = await t.user({ tenantRoles: ['admin'] });
  const target = await t.account(
    { memberships: [{ departmentId: inf, role: 'clerk' }] },
    { displayName: 'Karl Kandidat' },
  );
  const other = await t.account(
    { memberships: [{ departmentId: inf, role: 'clerk' }] },
    { displayName: 'Rita Rücksetz' },
  );
  const device = await t.admin.post('/api/admin/devices', {
    aeTitle: 'CTSCAN',
    departmentId: inf,
    permissions: ['store'],
    host: '127.0.0.1',
  });
  assert.equal(device.status, 201, JSON.stringify(device.body));
  const user = async (id: string) =>
    ((await t.admin.get('/api/admin/users')).body as { id: string; active: boolean }[]).find((u) => u.id === id)!;
  const resets = async () =>
    ((await t.admin.get('/api/approvals')).body as { kind: string; userId: string }[]).filter(
      (a) => a.kind === 'enrolment' && a.userId === other.id,
    ).length;

  const { context, page, problems } = await open('/admin/users');
  await signIn(page, admin);
  const own = page.getByRole('row', { name: new RegExp(admin.displayName) });
  await own.getByText('Ihr eigenes Konto').waitFor();
  for (const name of ['Deaktivieren', 'Rollen ändern', 'Zugang neu einrichten'])
    assert.equal(await own.getByRole('button', { name }).count(), 0, `own row offers ${name}`);

  // Deactivating: focus on the harmless choice, Escape cancels, then confirmed it is done.
  const row = page.getByRole('row', { name: /Karl Kandidat/ });
  const ask = page.getByRole('alertdialog', { name: 'Benutzer Karl Kandidat deaktivieren?' });
  await row.getByRole('button', { name: 'Deaktivieren' }).click();
  await ask.getByText('Die Person kann sich danach nicht mehr anmelden', { exact: false }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Abbrechen');
  await checkScreen(page, 'ux-05-confirm-deactivate');
  await page.keyboard.press('Escape');
  await ask.waitFor({ state: 'detached' });
  assert.equal((await user(target.id)).active, true, 'Escape leaves the account active');
  await row.getByRole('button', { name: 'Deaktivieren' }).click();
  await ask.getByRole('button', { name: 'Deaktivieren' }).click();
  await page.getByRole('status').filter({ hasText: 'Karl Kandidat ist deaktiviert.' }).waitFor();
  assert.equal((await user(target.id)).active, false);

  // A reset link is asked for only when confirmed.
  const resetRow = page.getByRole('row', { name: /Rita Rücksetz/ });
  const resetAsk = page.getByRole('alertdialog', { name: 'Zugang von Rita Rücksetz neu einrichten?' });
  await resetRow.getByRole('button', { name: 'Zugang neu einrichten' }).click();
  await resetAsk.getByRole('button', { name: 'Abbrechen' }).click();
  await resetAsk.waitFor({ state: 'detached' });
  assert.equal(await resets(), 0, 'Cancel asks for no reset');
  await resetRow.getByRole('button', { name: 'Zugang neu einrichten' }).click();
  await resetAsk.getByRole('button', { name: 'Zugang neu einrichten' }).click();
  await resetRow.getByText('Neueinrichtung beantragt').waitFor();
  assert.equal(await resets(), 1);

  // A device.
  await page.getByRole('link', { name: 'Geräte' }).click();
  const removeAsk = page.getByRole('alertdialog', { name: 'Gerät CTSCAN entfernen?' });
  const devices = async () => (await t.admin.get('/api/admin/devices')).body.length;
  await page.getByRole('button', { name: 'CTSCAN entfernen' }).click();
  await removeAsk.getByRole('button', { name: 'Abbrechen' }).click();
  await removeAsk.waitFor({ state: 'detached' });
  assert.equal(await devices(), 1, 'Cancel keeps the device');
  await page.getByRole('button', { name: 'CTSCAN entfernen' }).click();
  await removeAsk.getByRole('button', { name: 'Entfernen' }).click();
  await page.getByRole('status').filter({ hasText: 'Gerät CTSCAN entfernt.' }).waitFor();
  assert.equal(await devices(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test('Mein Konto: revoking a token and ending another session ask first', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: inf, role: 'clerk' }] });
  const minted = await clerk.post('/api/auth/tokens', { name: 'Skript', scopes: ['dicomweb:read'], expiresInDays: 30 });
  assert.equal(minted.status, 201, JSON.stringify(minted.body));
  const { context, page, problems } = await open('/account');
  await signIn(page, clerk);

  const tokenAsk = page.getByRole('alertdialog', { name: 'Token „Skript“ widerrufen?' });
  const tokens = async () => (await clerk.get('/api/auth/tokens')).body.length;
  await page.getByRole('button', { name: '„Skript“ widerrufen' }).click();
  await tokenAsk.getByRole('button', { name: 'Abbrechen' }).click();
  await tokenAsk.waitFor({ state: 'detached' });
  assert.equal(await tokens(), 1, 'Cancel keeps the token');
  await page.getByRole('button', { name: '„Skript“ widerrufen' }).click();
  await tokenAsk.getByRole('button', { name: 'Widerrufen' }).click();
  await page.getByText('Keine Tokens.').waitFor();
  assert.equal(await tokens(), 0);

  // The harness's own session is the other one: still working after Cancel, ended after the confirmation.
  assert.equal((await clerk.get('/api/me/sessions')).body.length, 2);
  const endButton = page
    .getByRole('row')
    .filter({ hasNotText: 'diese Sitzung' })
    .getByRole('button', { name: /^Sitzung seit .* beenden$/ });
  const ask = page.getByRole('alertdialog', { name: /^Sitzung seit .* beenden\?$/ });
  await endButton.click();
  await ask.getByRole('button', { name: 'Abbrechen' }).click();
  await ask.waitFor({ state: 'detached' });
  assert.equal((await clerk.get('/api/me')).status, 200, 'Cancel leaves the session');
  await endButton.click();
  await ask.getByRole('button', { name: 'Beenden' }).click();
  await page.getByRole('status').filter({ hasText: 'Sitzung beendet.' }).waitFor();
  assert.equal((await clerk.get('/api/me')).status, 401);
  assert.deepEqual(problems, []);
  await context.close();
});

test('one hit reads "1 Treffer", and in English "1 result", not "1 results"', async () => {
  const clerk = await t.user({ memberships: [{ departmentId: inf, role: 'clerk' }] });
  await fileOf(clerk, inf, 'Einzelfund', 'Erstkontakt');
  const { context, page, problems } = await open('/persons');
  await signIn(page, clerk);
  await page.getByLabel('Name, Vorname oder Geburtsdatum').fill('Einzelfund');
  await page.getByRole('button', { name: 'Suchen' }).click();
  await page.getByText('1 Treffer', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByText('1 result', { exact: true }).waitFor();
  assert.equal(await page.getByText('1 results').count(), 0);
  await page.getByRole('button', { name: 'Deutsch' }).click();
  assert.deepEqual(problems, []);
  await context.close();
});
