// Passkeys end to end in Chromium with its virtual authenticator (CDP WebAuthn
// domain: CTAP2, internal, resident keys, user verification): a person enrols
// TOTP at the first login, adds a passkey under "Mein Konto" (with the current
// password), signs out, signs in with "Mit Passkey anmelden", sees it used, and
// removes it after confirming. WebAuthn needs a secure context and a host name
// as RP ID, so the server's public address is http://localhost:PORT.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { inTenantTransaction } from '../../src/db/connect.ts';
import { freePort, setUpTenant, startHarness, totpCode, type Harness, type Tenant } from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';

let h: Harness;
let t: Tenant;
let browser: Browser;
let base: string;

before(async () => {
  await ensureWebBuild();
  const port = await freePort();
  base = `http://localhost:${port}`;
  h = await startHarness({ listen: true, env: { KARTEI_PUBLIC_URL: base, KARTEI_LISTEN: `127.0.0.1:${port}` } });
  t = await setUpTenant(h, ['INF']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

async function passwordStep(page: Page, username: string, password: string) {
  await page.getByLabel('Benutzername').fill(username);
  await page.getByLabel('Passwort', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Weiter' }).click();
}

async function virtualAuthenticator(cdp: CDPSession): Promise<string> {
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

test('a passkey is added under Mein Konto and signs its owner in', async () => {
  const a = await t.account(
    { memberships: [{ departmentId: t.departments.INF!, role: 'clerk' }] },
    { username: 'paula', displayName: 'Paula Passkey' },
  );
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  const cdp = await context.newCDPSession(page);
  const authenticatorId = await virtualAuthenticator(cdp);
  await page.goto(`${base}/`);

  // First login: TOTP is enrolled (the second factor every account starts with).
  await passwordStep(page, a.username, a.password);
  const secret = (await page.locator('code.secret').textContent())!.replace(/\s/g, '');
  h.clock.now += 30_000;
  await page.getByLabel('Code zur Bestätigung').fill(totpCode(secret, h.clock.now));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('button', { name: 'Ich habe die Codes aufbewahrt' }).click();

  // Mein Konto: add a passkey, with the current password.
  await page.getByRole('link', { name: 'Mein Konto' }).click();
  await page.getByText('Noch keine Passkeys.').waitFor();
  const add = page.getByRole('form', { name: 'Passkey hinzufügen' });
  await add.getByLabel('Name des Passkeys').fill('Virtueller Schlüssel');
  await add.getByLabel('Aktuelles Passwort').fill('falsches-Passwort-123');
  await add.getByRole('button', { name: 'Passkey hinzufügen' }).click();
  await add.getByText('Das aktuelle Passwort oder der Code stimmt nicht.').waitFor();
  await add.getByLabel('Aktuelles Passwort').fill(a.password);
  await add.getByRole('button', { name: 'Passkey hinzufügen' }).click();
  await page.getByText('Der Passkey „Virtueller Schlüssel“ wurde hinzugefügt.').waitFor();
  await page.getByRole('cell', { name: 'Virtueller Schlüssel', exact: true }).waitFor();
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0]!.rpId, 'localhost');
  await checkScreen(page, 'passkeys-account');

  // Sign out, and in again with the passkey: the code field stays as the alternative.
  await page.getByRole('button', { name: 'Abmelden' }).click();
  await page.getByRole('heading', { name: 'Kartei' }).waitFor();
  await passwordStep(page, a.username, a.password);
  await page.getByRole('button', { name: 'Mit Passkey anmelden' }).waitFor();
  await page.getByLabel('Code aus der Authenticator-App').waitFor();
  await checkScreen(page, 'passkeys-login');
  await page.getByRole('button', { name: 'Mit Passkey anmelden' }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
  const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.ok(after.credentials[0]!.signCount >= 1);
  const logins = await inTenantTransaction(h.services.store, t.tenantId, (tx) =>
    tx
      .selectFrom('audit_events')
      .select('detail')
      .where('actor_id', '=', a.id)
      .where('action', '=', 'auth.login')
      .orderBy('seq')
      .execute(),
  );
  assert.deepEqual(JSON.parse(String(logins.at(-1)!.detail)), { mfa: 'webauthn' });

  // The list shows it used; removing it asks first (TOTP remains, so it may go).
  await page.getByRole('link', { name: 'Mein Konto' }).click();
  const row = page.getByRole('row', { name: /Virtueller Schlüssel/ });
  await row.waitFor();
  assert.notEqual((await row.locator('td').nth(2).textContent())!.trim(), '—');
  const asked = page.getByRole('alertdialog', { name: 'Passkey „Virtueller Schlüssel“ entfernen?' });
  await page.getByRole('button', { name: '„Virtueller Schlüssel“ entfernen' }).click();
  await asked.getByText('Mit ihm ist dann keine Anmeldung mehr möglich.').waitFor();
  await asked.getByRole('button', { name: 'Abbrechen' }).click();
  await asked.waitFor({ state: 'detached' });
  await row.waitFor();
  await page.getByRole('button', { name: '„Virtueller Schlüssel“ entfernen' }).click();
  await asked.getByRole('button', { name: 'Entfernen', exact: true }).click();
  await page.getByText('Der Passkey wurde entfernt.').waitFor();
  await page.getByText('Noch keine Passkeys.').waitFor();

  assert.deepEqual(problems, []);
  await context.close();
});
