// Issue 16's day in one walk, in Chromium and in German, through the web application only (the API
// sets up the accounts, nothing else): an admin connects the office to the DEMIS stand-in (a PEM
// file with certificate and key, the infection protection department as the inbox) and fetches a
// laboratory notification with "Jetzt abrufen"; a clerk of that department finds it in the
// Meldungseingang, opens it, assigns it to herself, creates the person from it (completing the birth
// date DEMIS sent only as month and year) and accepts it into a case as a suspicion; a physician
// confirms the case (category C), orders an isolation under §30 IfSG, adds two contact persons (a
// new person and the file the clerk made by hand), records a follow-up for one, saves the §11
// settings and creates a transmission whose file holds the case and no name; the numbers show the
// case in its reporting week. Keyboard-usable and axe-clean on every screen (test-results/day-*.png).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { reportingWeek } from '../../src/infection/reporting-week.ts';
import { laboratoryBundle } from '../helpers/demis-bundles.ts';
import { login, nextCode, setUpTenant, startHarness, type Account, type Harness } from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';
import { testCertificate, type TestCert } from '../helpers/certificates.ts';
import { startDemisStandIn, type DemisStandIn } from '../helpers/demis-stand-in.ts';

let h: Harness;
let browser: Browser;
let demis: DemisStandIn;
let office: TestCert;
let admin: Account;
let clerk: Account;
let physician: Account;
const clientSecret = `sekret-${randomBytes(8).toString('hex')}`;

/** The office's calendar day `offset` days from today (Europe/Berlin), ISO. */
const berlinDay = (offset: number) =>
  new Date(Date.now() + offset * 86_400_000).toLocaleDateString('sv-SE', { timeZone: 'Europe/Berlin' });
const german = (iso: string) => iso.split('-').reverse().join('.');

const patient = { familyName: 'Kettelhack', givenName: 'Walburga', birthMonth: '1984-03', birthDate: '1984-03-12' };
const newContact = { familyName: 'Nebelung', givenName: 'Frieder', birthDate: '05.05.1975' };
const fileContact = { familyName: 'Vorderbrügge', givenName: 'Agnes', birthDate: '09.11.1969' };

before(async () => {
  await ensureWebBuild();
  office = testCertificate('gesundheitsamt-tag', { key: 'rsa:2048' });
  demis = await startDemisStandIn(
    { clientId: 'kartei', clientSecret, username: '1.01.0.53.', password: null, certificate: office.cert },
    { lifetimeMs: 600_000 },
  );
  // The real import into the inbox; the schedule far away, so that only "Jetzt abrufen" fetches.
  h = await startHarness({ listen: true, env: { KARTEI_DEMIS_CA_FILE: demis.caFile }, demis: { tickMs: 3_600_000 } });
  const t = await setUpTenant(h, ['TB']);
  const INF = (await t.admin.post('/api/admin/departments', { code: 'INF', name: 'Infektionsschutz' })).body
    .id as string;
  // Each signs in once through the API, so that the harness knows the TOTP secret the browser needs.
  const enrolled = async (a: Account) => {
    await login(h, a.username, a.password);
    return a;
  };
  admin = await enrolled(await t.account({ tenantRoles: ['admin'] }, { displayName: 'Armin Verwaltung' }));
  clerk = await enrolled(
    await t.account({ memberships: [{ departmentId: INF, role: 'clerk' }] }, { displayName: 'Clara Sachbearbeiterin' }),
  );
  physician = await enrolled(
    await t.account(
      { memberships: [{ departmentId: INF, role: 'physician' }] },
      { displayName: 'Dr. Paula Amtsärztin' },
    ),
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demis?.close();
  await h?.close();
});

async function signIn(who: Account): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({
    locale: 'de-DE',
    // The office's clock: what the notification says at 09:30+01:00 is shown as 09:30.
    timezoneId: 'Europe/Berlin',
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(`${h.url}/`);
  await page.getByLabel('Benutzername').fill(who.username);
  await page.getByLabel('Passwort', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByLabel('Code aus der Authenticator-App').fill(nextCode(h, who.username));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
  return { page, problems, close: () => context.close() };
}

test('a fetched DEMIS notification becomes a confirmed case with two contacts, a transmission and its week', async () => {
  const today = berlinDay(0);
  await demis.add(
    JSON.stringify(
      laboratoryBundle({
        familyName: patient.familyName,
        givenName: patient.givenName,
        birthDate: patient.birthMonth,
        sex: 'female',
        notifiedAt: `${today}T09:30:00+01:00`,
      }),
    ),
  );

  // 1. The admin connects the office to DEMIS and fetches what waits there.
  {
    const { page, problems, close } = await signIn(admin);
    await page.getByRole('link', { name: 'Verwaltung' }).click();
    await page.getByRole('link', { name: 'DEMIS' }).click();
    const form = page.getByRole('form', { name: 'Einstellungen' });
    await form.getByLabel('Token-Endpunkt').fill(demis.tokenUrl);
    await form.getByLabel('Abruf-Endpunkt').fill(demis.clearingUrl);
    await form.getByLabel('Client-ID').fill('kartei');
    await form.getByLabel('Client-Geheimnis').fill(clientSecret);
    await form.getByLabel('DEMIS-Benutzer des Amtes').fill('1.01.0.53.');
    const pem = path.join(h.dir, 'amt.pem');
    fs.writeFileSync(pem, office.cert + office.key);
    await form.getByLabel('Zertifikat (PKCS#12-Datei oder PEM)').setInputFiles(pem);
    await form.getByLabel('Meldungen gehen an').selectOption({ label: 'Infektionsschutz' });
    await checkScreen(page, 'day-demis-settings');
    await form.getByRole('button', { name: 'Speichern' }).click();
    await page.getByText('Die DEMIS-Anbindung ist gespeichert.').waitFor();
    const status = page.getByRole('region', { name: 'Stand des Abrufs' });
    await status.getByText(/gesundheitsamt-tag, gültig bis \d{2}\.\d{2}\.\d{4}/).waitFor();
    await status.getByRole('button', { name: 'Jetzt abrufen' }).click();
    await page.getByText('1 Meldung(en) abgerufen.').first().waitFor();
    await checkScreen(page, 'day-demis-fetched');
    assert.deepEqual(problems, []);
    await close();
  }

  // 2. The clerk: the inbox, the notification, assigned to her, the person made from it, a case.
  let caseHref: string;
  {
    const { page, problems, close } = await signIn(clerk);
    // First a file the office already keeps (made by hand): a contact person later.
    await page.goto(`${h.url}/persons/new`);
    await page.getByRole('heading', { name: 'Neue Person' }).waitFor();
    await page.getByLabel('Nachname').fill(fileContact.familyName);
    await page.getByLabel('Vorname').fill(fileContact.givenName);
    await page.getByLabel('Geburtsdatum').fill(fileContact.birthDate);
    await page.getByRole('button', { name: 'Akte anlegen' }).click();
    await page.getByRole('heading', { name: `${fileContact.familyName}, ${fileContact.givenName}` }).waitFor();

    await page.getByRole('link', { name: 'Infektionsschutz' }).first().click();
    await page.getByRole('link', { name: 'Meldungseingang' }).click();
    await page.getByRole('heading', { name: 'Meldungseingang' }).waitFor();
    const row = page.getByRole('row', { name: new RegExp(`${patient.familyName}, ${patient.givenName}`) });
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(german(today).replace(/\./g, '\\.')));
    assert.match(await row.innerText(), /neu/);
    await checkScreen(page, 'day-inbox');
    await row.getByRole('link', { name: `${patient.familyName}, ${patient.givenName}` }).click();
    await page
      .getByRole('heading', { name: new RegExp(`Labormeldung \\(§ 7\\): .* — ${patient.familyName}`) })
      .waitFor();
    await page.getByRole('button', { name: 'Mir zuweisen' }).click();
    await page.getByText('Zugewiesen an: Clara Sachbearbeiterin').waitFor();
    await page.getByText('Keine passende Akte in der Abteilung.').waitFor();
    assert.match(await page.locator('dl.facts').innerText(), new RegExp(`${german(today)} 09:30`));
    await checkScreen(page, 'day-notification');

    // DEMIS sent only month and year of birth: the clerk completes the day.
    await page.getByRole('button', { name: 'Neue Person anlegen' }).click();
    const person = page.getByRole('form', { name: 'Neue Person anlegen' });
    await person.getByText('Gemeldet ist nur').waitFor();
    assert.equal(await person.getByLabel('Nachname').inputValue(), patient.familyName);
    assert.equal(await person.getByLabel('Geburtsdatum').inputValue(), '03.1984');
    await person.getByLabel('Geburtsdatum').fill(german(patient.birthDate));
    await checkScreen(page, 'day-new-person');
    await person.getByRole('button', { name: 'Person anlegen und zuordnen' }).click();
    await page.getByText('Person angelegt und zugeordnet.').first().waitFor();
    await page.getByText('Zugeordnet:').waitFor();

    // A clerk takes it over as a suspicion; the physician decides.
    // The categories are offered with their meaning; the clerk leaves it to the physician.
    assert.ok(
      (await page.getByLabel('Falldefinitionskategorie').locator('option').allTextContents()).includes(
        'C – klinisch-labordiagnostisch bestätigte Erkrankung',
      ),
    );
    await page.getByLabel('Fallstatus').selectOption({ label: 'Verdacht' });
    await page.getByRole('button', { name: 'In Fall übernehmen' }).click();
    await page.getByText('Status: abgeschlossen').waitFor();
    await checkScreen(page, 'day-accepted');
    caseHref = (await page.getByRole('link', { name: 'Fall öffnen' }).getAttribute('href')) ?? '';
    assert.match(caseHref, /\/records\/[^/]+$/);
    // "Fall öffnen" leads to the case screen of the infection hub.
    await page.getByRole('link', { name: 'Fall öffnen' }).click();
    await page.getByRole('heading', { name: new RegExp(`– ${patient.familyName}, ${patient.givenName}$`) }).waitFor();
    await page.getByText('Verdacht', { exact: true }).waitFor();
    assert.deepEqual(problems, []);
    await close();
  }
  const caseId = caseHref.split('/').pop()!;

  // 3. The physician: the case confirmed (C), an isolation under §30 IfSG, two contacts, a follow-up.
  const { page, problems, close } = await signIn(physician);
  try {
    await page.getByRole('link', { name: 'Infektionsschutz' }).first().click();
    await page.getByRole('link', { name: 'Fälle', exact: true }).click();
    const caseRow = page.getByRole('row', { name: new RegExp(`${patient.familyName}, ${patient.givenName}`) });
    await caseRow.waitFor();
    assert.match(await caseRow.innerText(), /Verdacht/);
    await caseRow.getByRole('link', { name: `${patient.familyName}, ${patient.givenName}` }).click();
    await page.waitForURL(`**/infection/cases/${caseId}`);
    await page.getByRole('heading', { name: new RegExp(`– ${patient.familyName}, ${patient.givenName}$`) }).waitFor();

    await page.getByRole('button', { name: 'Angaben bearbeiten' }).click();
    const edit = page.getByRole('form', { name: 'Angaben bearbeiten' });
    await edit.getByLabel('Status', { exact: true }).selectOption({ label: 'bestätigt' });
    await edit
      .getByLabel('Falldefinitionskategorie')
      .selectOption({ label: 'C – klinisch-labordiagnostisch bestätigte Erkrankung' });
    await checkScreen(page, 'day-case-edit');
    await edit.getByRole('button', { name: 'Speichern' }).click();
    await page.getByText('C – klinisch-labordiagnostisch bestätigte Erkrankung').waitFor();

    await page.getByRole('button', { name: 'Maßnahme anordnen' }).click();
    const measure = page.getByRole('form', { name: 'Maßnahme anordnen' });
    assert.equal(await measure.getByLabel('Rechtsgrundlage').inputValue(), '§30 IfSG');
    await measure.getByLabel('Von', { exact: true }).fill(german(today));
    await measure.getByLabel(/^Bis/).fill(german(berlinDay(10)));
    await measure.getByRole('button', { name: 'Maßnahme anordnen' }).click();
    await page.getByRole('cell', { name: 'Absonderung (Isolation)', exact: true }).waitFor();
    const facts = await page.locator('dl.facts.content').innerText();
    assert.match(facts, /bestätigt/);
    await checkScreen(page, 'day-case');

    // Contact 1: a new person, exposed yesterday.
    await page.getByRole('button', { name: 'Kontaktperson hinzufügen' }).click();
    let dialog = page.getByRole('dialog', { name: 'Kontaktperson hinzufügen' });
    await dialog.getByLabel('Person', { exact: true }).selectOption({ label: 'Neue Person anlegen' });
    await dialog.getByLabel('Nachname').fill(newContact.familyName);
    await dialog.getByLabel('Vorname').fill(newContact.givenName);
    await dialog.getByLabel('Geburtsdatum').fill(newContact.birthDate);
    await dialog.getByLabel('Letzter Kontakt').fill(german(berlinDay(-1)));
    // COVID-19: 14 days of follow-up after the last exposure.
    assert.equal(await dialog.getByLabel('Nachverfolgung bis').inputValue(), german(berlinDay(13)));
    await dialog.getByLabel('Umfeld (optional)').selectOption({ label: 'Haushalt' });
    await checkScreen(page, 'day-add-contact');
    await dialog.getByRole('button', { name: 'Kontaktperson hinzufügen' }).click();
    await page.getByRole('row', { name: new RegExp(`${newContact.familyName}, ${newContact.givenName}`) }).waitFor();

    // Contact 2: the file the clerk made by hand, found by its name.
    await page.getByRole('button', { name: 'Kontaktperson hinzufügen' }).click();
    dialog = page.getByRole('dialog', { name: 'Kontaktperson hinzufügen' });
    await dialog.getByLabel('Akte suchen (Name oder Geburtsdatum)').fill(fileContact.familyName);
    await dialog.getByRole('button', { name: 'Suchen' }).click();
    await dialog.getByRole('button', { name: `Auswählen ${fileContact.givenName} ${fileContact.familyName}` }).click();
    await dialog.getByText(`Ausgewählt: ${fileContact.familyName}, ${fileContact.givenName}`).waitFor();
    await dialog.getByLabel('Letzter Kontakt').fill(german(berlinDay(-1)));
    await dialog.getByRole('button', { name: 'Kontaktperson hinzufügen' }).click();
    await page.getByRole('row', { name: new RegExp(`${fileContact.familyName}, ${fileContact.givenName}`) }).waitFor();
    await checkScreen(page, 'day-contacts');

    // The follow-up of the new contact person, recorded on the worklist.
    await page.getByRole('link', { name: 'Nachverfolgung', exact: true }).click();
    const due = page.getByRole('table', { name: 'Heute fällige Nachverfolgungen' });
    const who = `${newContact.givenName} ${newContact.familyName}`;
    await due.getByRole('button', { name: `Nachverfolgung eintragen ${who}` }).click();
    const entry = page.getByRole('form', { name: `Nachverfolgung für ${who}` });
    await entry.getByLabel('Symptome', { exact: true }).selectOption({ label: 'keine Symptome' });
    await entry.getByLabel('Notiz (optional)').fill('Telefonisch erreicht, beschwerdefrei');
    await checkScreen(page, 'day-follow-up');
    await entry.getByRole('button', { name: 'Nachverfolgung eintragen' }).click();
    await page.getByText('Nachverfolgung eingetragen.').waitFor();
    await due.getByRole('row', { name: new RegExp(`${newContact.familyName}, ${newContact.givenName}`) }).waitFor({
      state: 'detached',
    });

    // 4. The §11 settings and a transmission: the file holds the case, and no name.
    await page.getByRole('link', { name: 'Übermittlung §11' }).click();
    await page.getByRole('heading', { name: 'Übermittlung nach §11 IfSG' }).waitFor();
    await page.getByLabel('Kreisschlüssel (AGS)').fill('09162');
    await page.getByLabel('Empfänger').fill('Landesamt für Gesundheit und Lebensmittelsicherheit');
    await page.getByRole('button', { name: 'Einstellungen speichern' }).click();
    await page.getByText('1 neu, 0 geändert, 0 zurückgenommen').waitFor();
    // The preview may show its counts before the saved settings arrive: the button opens once they have.
    await page.locator('button.primary:enabled', { hasText: 'Übermittlung erstellen' }).waitFor();
    await checkScreen(page, 'day-transmission');
    await page.getByRole('button', { name: 'Übermittlung erstellen' }).click();
    const ask = page.getByRole('alertdialog', { name: 'Übermittlung erstellen?' });
    await ask.getByRole('button', { name: 'Übermittlung erstellen' }).click();
    await page.getByText('Übermittlung Nr. 1 erstellt: 1 neu, 0 geändert, 0 zurückgenommen.').waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('status').getByRole('link', { name: 'Datei herunterladen' }).click(),
    ]);
    const bytes = fs.readFileSync((await download.path())!);
    const file = JSON.parse(bytes.toString('utf8'));
    assert.equal(file.cases.length, 1);
    const sent = file.cases[0];
    assert.equal(sent.status, 'confirmed');
    assert.equal(sent.category, 'C');
    assert.equal(sent.birthMonth, patient.birthMonth);
    assert.deepEqual(
      [sent.change, sent.caseId, sent.sex, sent.disease.code, sent.notifiedOn, sent.reportingWeek, sent.districtCode],
      ['new', caseId, 'female', 'cvdp', today, reportingWeek(today), '09162'],
    );
    const text = bytes.toString('utf8');
    for (const s of [
      patient.familyName,
      patient.givenName,
      patient.birthDate,
      german(patient.birthDate),
      newContact.familyName,
      fileContact.familyName,
    ])
      assert.ok(!text.includes(s), `${s} left in the file`);
    await checkScreen(page, 'day-transmission-made');

    // 5. The numbers: the case in its reporting week (KW of the notification's day).
    await page.getByRole('link', { name: 'Zahlen' }).click();
    const table = page.getByRole('table', { name: 'Fälle je Krankheit und Meldewoche (ohne „kein Fall“)' });
    await table.waitFor();
    const week = reportingWeek(today);
    const [, year, kw] = /^(\d{4})-W(\d{2})$/.exec(week)!;
    const headers = await table.locator('thead th').allTextContents();
    const column = headers.indexOf(`KW ${Number(kw)}/${year}`);
    assert.ok(column > 0, `${week} among ${headers.join(', ')}`);
    const cells = await table.locator('tbody tr').first().locator('th, td').allTextContents();
    assert.equal(cells[column], '1', `${cells.join(' | ')}`);
    assert.equal(cells.at(-1), '1');
    await checkScreen(page, 'day-numbers');
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
});
