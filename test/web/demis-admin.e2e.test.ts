// The DEMIS connection's screen in Chromium (de-DE): an admin submits it empty and with an http://
// address and reads German field errors; stores the office's PKCS#12 file with its password; sees
// the certificate's subject and expiry (TT.MM.JJJJ); and fetches a notification from the stand-in
// with "Jetzt abrufen". axe-clean; the secret and the file's password are never shown again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { setUpTenant, startHarness, totpCode, type Harness, type Tenant } from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';
import { testCertificate, type TestCert } from '../helpers/certificates.ts';
import { startDemisStandIn, type DemisStandIn } from '../helpers/demis-stand-in.ts';

let h: Harness;
let t: Tenant;
let browser: Browser;
let demis: DemisStandIn;
let office: TestCert;
const clientSecret = `sekret-${randomBytes(8).toString('hex')}`;
const imported: string[] = [];

before(async () => {
  await ensureWebBuild();
  office = testCertificate('gesundheitsamt-e2e', { key: 'rsa:2048' });
  demis = await startDemisStandIn({
    clientId: 'kartei',
    clientSecret,
    username: '1.01.0.53.',
    password: null,
    certificate: office.cert,
  });
  h = await startHarness({
    listen: true,
    env: { KARTEI_DEMIS_CA_FILE: demis.caFile },
    demis: {
      tickMs: 3_600_000,
      importBundle: async (raw) => {
        imported.push(new TextDecoder().decode(raw));
      },
    },
  });
  t = await setUpTenant(h, ['INF']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demis?.close();
  await h?.close();
});

test('an admin connects the office to DEMIS with its PKCS#12 file and fetches a notification', async () => {
  const admin = await t.account({ tenantRoles: ['admin'] });
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(`${h.url}/`);
  await page.getByLabel('Benutzername').fill(admin.username);
  await page.getByLabel('Passwort', { exact: true }).fill(admin.password);
  await page.getByRole('button', { name: 'Weiter' }).click();
  const secret = (await page.locator('code.secret').textContent())!.replace(/\s/g, '');
  h.clock.now += 30_000;
  await page.getByLabel('Code zur Bestätigung').fill(totpCode(secret, h.clock.now));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('button', { name: 'Ich habe die Codes aufbewahrt' }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();

  await page.getByRole('link', { name: 'Verwaltung' }).click();
  await page.getByRole('link', { name: 'DEMIS' }).click();
  const form = page.getByRole('form', { name: 'Einstellungen' });
  await form.getByRole('button', { name: 'Speichern' }).click();
  await form.locator('.field-error').first().waitFor();
  assert.ok((await form.locator('.field-error').count()) >= 4, 'every empty required field at once');
  await checkScreen(page, 'demis-empty');

  await form.getByLabel('Token-Endpunkt').fill(demis.tokenUrl.replace('https:', 'http:'));
  await form.getByLabel('Abruf-Endpunkt').fill(demis.clearingUrl);
  await form.getByLabel('Client-ID').fill('kartei');
  await form.getByLabel('Client-Geheimnis').fill(clientSecret);
  await form.getByLabel('DEMIS-Benutzer des Amtes').fill('1.01.0.53.');
  const p12 = path.join(h.dir, 'amt.p12');
  execFileSync(
    'openssl',
    ['pkcs12', '-export', '-in', office.certFile, '-inkey', office.keyFile, '-out', p12, '-passout', 'pass:Tresor-42'],
    { stdio: 'pipe' },
  );
  await form.getByLabel('Zertifikat (PKCS#12-Datei oder PEM)').setInputFiles(p12);
  await form.getByLabel(/Kennwort der Datei/).fill('Tresor-42');
  await form.getByRole('button', { name: 'Speichern' }).click();
  await form.getByText('Bitte eine Adresse mit https:// angeben.').waitFor();

  await form.getByLabel('Token-Endpunkt').fill(demis.tokenUrl);
  await form.getByRole('button', { name: 'Speichern' }).click();
  await page.getByText('Die DEMIS-Anbindung ist gespeichert.').waitFor();
  const status = page.getByRole('region', { name: 'Stand des Abrufs' });
  await status.getByText(/gesundheitsamt-e2e, gültig bis \d{2}\.\d{2}\.\d{4}/).waitFor();
  await status.getByText('Noch nie').waitFor();
  await checkScreen(page, 'demis-configured');

  const id = `e2e-${randomUUID()}`;
  await demis.add(
    `<Bundle xmlns="http://hl7.org/fhir"><identifier><value value="${id}"/></identifier><type value="document"/></Bundle>`,
  );
  await status.getByRole('button', { name: 'Jetzt abrufen' }).click();
  await page.getByText('1 Meldung(en) abgerufen.').first().waitFor();
  assert.equal(imported.length, 1);
  assert.ok(imported[0]!.includes(id));
  const text = await page.locator('body').innerText();
  assert.ok(!text.includes(clientSecret) && !text.includes('Tresor-42'), 'no secret on the screen');
  assert.equal(await form.getByLabel('Client-Geheimnis').inputValue(), '');
  await context.close();
  assert.deepEqual(problems, []);
});
