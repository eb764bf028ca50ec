// The §11 IfSG transmission in Chromium (issue 16): a physician of the infection protection
// department saves the settings (a wrong district code is refused in German, naming the field),
// sees two new cases (made through the API) in the preview, creates the transmission after a
// confirmation, downloads its file — two cases, no name, no address, no birth day — and finds
// it in the log. axe-clean and keyboard-usable; screenshots under test-results/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { nextCode, setUpTenant, startHarness, type Account, type Client, type Harness } from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';

let h: Harness;
let browser: Browser;
let base: string;
let physician: Client & Account;
const persons = [
  {
    familyName: 'Wendelstein-Ockhardt',
    givenName: 'Philomena',
    birthDate: '1961-04-17',
    sex: 'female',
    address: { street: 'Holunderweg 9', postalCode: '93047', city: 'Regensburg' },
  },
  {
    familyName: 'Brettschneider-Ulmke',
    givenName: 'Korbinian',
    birthDate: '1988-09-02',
    sex: 'male',
    address: { street: 'Am Galgenberg 31', postalCode: '93053', city: 'Regensburg' },
  },
];

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  base = h.url!;
  const t = await setUpTenant(h, []);
  const INF = (await t.admin.post('/api/admin/departments', { code: 'INF', name: 'Infektionsschutz' })).body.id;
  physician = await t.user({ memberships: [{ departmentId: INF, role: 'physician' }] });
  for (const [i, p] of persons.entries()) {
    const made = await physician.post('/api/persons', { departmentId: INF, ...p });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const c = await physician.post(`/api/persons/${made.body.id}/records`, {
      type: 'ifsg-case',
      sensitivity: 'normal',
      content: {
        disease: { code: i === 0 ? 'cvdp' : 'msvd', display: i === 0 ? 'COVID-19' : 'Masern' },
        status: 'confirmed',
        category: 'C',
        notifiedOn: '2026-12-03',
        notifier: 'Labor Dr. Hinterhuber',
        notes: `Rückruf unter 0151-${7788120 + i}`,
      },
    });
    assert.equal(c.status, 201, JSON.stringify(c.body));
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

test('settings, two cases, a confirmed transmission and its file: two cases and no names', async () => {
  const context = await browser.newContext({ locale: 'de-DE', acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, physician);

  await page.getByRole('link', { name: 'Infektionsschutz' }).first().click();
  await page.getByRole('link', { name: 'Übermittlung §11' }).click();
  await page.getByRole('heading', { name: 'Übermittlung nach §11 IfSG' }).waitFor();
  await page.getByText('Bitte zuerst Kreisschlüssel und Empfänger speichern.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Übermittlung erstellen' }).isDisabled(), true);

  // A wrong district code: refused, in German, at its field; what was typed stays.
  await page.getByLabel('Kreisschlüssel (AGS)').fill('0916');
  await page.getByLabel('Empfänger').fill('Landesamt für Gesundheit und Lebensmittelsicherheit');
  await page.getByRole('button', { name: 'Einstellungen speichern' }).click();
  await page.getByText('Bitte den Kreisschlüssel mit 5 oder 8 Ziffern angeben.').waitFor();
  assert.equal(await page.getByLabel('Kreisschlüssel (AGS)').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Kreisschlüssel (AGS)').fill('09162');
  await page.getByRole('button', { name: 'Einstellungen speichern' }).click();
  await page.getByText('2 neu, 0 geändert, 0 zurückgenommen').waitFor();
  await page.getByText('Noch keine Übermittlung.').waitFor();
  // The counts may show before the saved settings arrive: the button opens once they have.
  await page.locator('button.primary:enabled', { hasText: 'Übermittlung erstellen' }).waitFor();
  await checkScreen(page, 'transmission');

  // Created after a confirmation that says what it holds.
  await page.getByRole('button', { name: 'Übermittlung erstellen' }).click();
  const dialog = page.getByRole('alertdialog', { name: 'Übermittlung erstellen?' });
  await dialog.getByText('Sie enthält 2 neue, 0 geänderte und 0 zurückgenommene Fälle.').waitFor();
  await dialog.getByRole('button', { name: 'Übermittlung erstellen' }).click();
  await page.getByText('Übermittlung Nr. 1 erstellt: 2 neu, 0 geändert, 0 zurückgenommen.').waitFor();
  await page.getByText('0 neu, 0 geändert, 0 zurückgenommen').first().waitFor();

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('status').getByRole('link', { name: 'Datei herunterladen' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'ifsg11-09162-0001.json');
  const bytes = fs.readFileSync((await download.path())!);
  const file = JSON.parse(bytes.toString('utf8'));
  assert.equal(file.cases.length, 2);
  assert.deepEqual(file.counts, { new: 2, changed: 0, withdrawn: 0 });
  assert.deepEqual(file.cases.map((c: { birthMonth: string }) => c.birthMonth).sort(), ['1961-04', '1988-09']);
  const text = bytes.toString('utf8');
  for (const p of persons)
    for (const s of [p.familyName, p.givenName, p.birthDate, p.address.street, p.address.postalCode, p.address.city])
      assert.ok(!text.includes(s), `${s} left in the file`);
  for (const s of ['17.04.1961', '02.09.1988', 'Hinterhuber', '0151-'])
    assert.ok(!text.includes(s), `${s} left in the file`);

  // The log: the transmission with its checksum, downloadable again with the same bytes.
  const row = page.getByRole('row', { name: /^1 / });
  await row.waitFor();
  const sha = createHash('sha256').update(bytes).digest('hex');
  await row.getByText(sha).waitFor();
  const [again] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Datei herunterladen (Übermittlung Nr. 1)' }).click(),
  ]);
  assert.deepEqual(fs.readFileSync((await again.path())!), bytes);
  await checkScreen(page, 'transmission-made');
  assert.deepEqual(problems, []);
  await context.close();
});
