// An office with an address of its own, end to end in Chromium (issue 19): the operator's setup
// link (`kartei offices add`) names the office in its fragment, and the wizard shows that name
// instead of asking for one; the first administrator adds a passkey at the office's address and
// signs in with it there — its RP ID is the office's host, not the installation's. The office's
// host is `amt-b.localhost`: Chromium resolves every *.localhost to this machine and counts it as a
// secure context, as WebAuthn needs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { addOffice, listOffices, setupLink } from '../../src/identity/offices.ts';
import { freePort, startHarness, strongPassword, totpCode, type Harness } from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';

const HOST_B = 'amt-b.localhost';
const NAME_B = 'Gesundheitsamt Nachbarkreis – Außenstelle Süd';

let h: Harness;
let browser: Browser;
let port: number;

before(async () => {
  await ensureWebBuild();
  port = await freePort();
  h = await startHarness({
    listen: true,
    env: { KARTEI_PUBLIC_URL: `http://localhost:${port}`, KARTEI_LISTEN: `127.0.0.1:${port}` },
  });
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

test("an added office: the wizard shows the operator's name, and a passkey made at its address signs in there", async () => {
  const added = await addOffice(h.services.store, h.services.keyring, h.services.audit, { name: NAME_B, host: HOST_B });
  const link = setupLink(h.config.publicUrl, added.office.host, added.token, added.office.name);
  assert.equal(new URL(link).origin, `http://${HOST_B}:${port}`);
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  const cdp = await context.newCDPSession(page);
  const authenticatorId = await virtualAuthenticator(cdp);

  // The office step names the office and asks nothing.
  await page.goto(link);
  await page.getByText('Dieser Link richtet das folgende Gesundheitsamt ein:').waitFor();
  await page.getByText(NAME_B, { exact: true }).waitFor();
  assert.equal(await page.getByRole('textbox').count(), 0, 'no field for the name');
  await checkScreen(page, 'office-setup-named');
  await page.getByRole('button', { name: 'Weiter' }).click();
  const password = strongPassword();
  await page.getByLabel('Name', { exact: true }).fill('Berta Verwaltung');
  await page.getByLabel('Benutzername').fill('berta');
  await page.getByLabel('Passwort', { exact: true }).fill(password);
  await page.getByLabel('Passwort wiederholen').fill(password);
  await page.getByRole('button', { name: 'Konto anlegen' }).click();
  const secret = (await page.locator('code.secret').textContent())!.replace(/\s/g, '');
  h.clock.now += 30_000;
  await page.getByLabel('Code zur Bestätigung').fill(totpCode(secret, h.clock.now));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('button', { name: 'Ich habe die Codes aufbewahrt' }).click();
  // The office keeps the operator's name (the wizard sent what it showed; the server uses its own).
  assert.equal((await listOffices(h.services.store)).find((o) => o.id === added.office.id)?.name, NAME_B);

  // A passkey at B's address: its RP ID is B's host.
  await page.goto(`http://${HOST_B}:${port}/account`);
  const add = page.getByRole('form', { name: 'Passkey hinzufügen' });
  await add.getByLabel('Name des Passkeys').fill('Schlüssel B');
  await add.getByLabel('Aktuelles Passwort').fill(password);
  await add.getByRole('button', { name: 'Passkey hinzufügen' }).click();
  await page.getByText('Der Passkey „Schlüssel B“ wurde hinzugefügt.').waitFor();
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0]!.rpId, HOST_B);

  // Signed out and in again at B's address with it.
  await page.getByRole('button', { name: 'Abmelden' }).click();
  await page.getByRole('heading', { name: 'Kartei' }).waitFor();
  await passwordStep(page, 'berta', password);
  await page.getByRole('button', { name: 'Mit Passkey anmelden' }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
  const used = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.ok(used.credentials[0]!.signCount >= 1);
  assert.deepEqual(problems, []);
  await context.close();
});
