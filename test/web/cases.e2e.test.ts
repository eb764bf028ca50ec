// Cases and contacts in Chromium (issue 16): a clerk opens a case made through the API from the
// department's case list, adds two contact persons (a new person, and an existing file found by its
// name), records a contact's follow-up on the worklist, and converts the other contact into a case —
// keyboard-usable and axe-clean on every screen. Screenshots: test-results/cases-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import {
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
let clerk: Client & Account;
let caseId: string;
let existing: string;

const berlinDay = (offset: number) => {
  const d = new Date(Date.now() + offset * 86_400_000);
  return d.toLocaleDateString('sv-SE', { timeZone: 'Europe/Berlin' });
};
const german = (iso: string) => iso.split('-').reverse().join('.');

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  base = h.url!;
  t = await setUpTenant(h, ['INF']);
  const INF = t.departments.INF!;
  clerk = await t.user({ memberships: [{ departmentId: INF, role: 'clerk' }] });
  const index = (
    await clerk.post('/api/persons', {
      departmentId: INF,
      familyName: 'Masernfeld',
      givenName: 'Ottilie',
      birthDate: '1990-02-03',
    })
  ).body.id;
  existing = (
    await clerk.post('/api/persons', {
      departmentId: INF,
      familyName: 'Vorhandener',
      givenName: 'Kurt',
      birthDate: '1980-08-08',
    })
  ).body.id;
  const made = await clerk.post(`/api/persons/${index}/records`, {
    type: 'ifsg-case',
    sensitivity: 'normal',
    content: {
      disease: { code: 'msvd', display: 'Masern' },
      status: 'confirmed',
      category: 'C',
      notifiedOn: berlinDay(-3),
      notifier: 'Labor Musterstadt',
      measures: [{ kind: 'isolation', from: berlinDay(-3), until: berlinDay(5), legalBasis: '§30 IfSG' }],
    },
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  caseId = made.body.id;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

async function signedIn(path: string): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ locale: 'de-DE', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(base + path);
  await page.getByLabel('Benutzername').fill(clerk.username);
  await page.getByLabel('Passwort', { exact: true }).fill(clerk.password);
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByLabel('Code aus der Authenticator-App').fill(nextCode(h, clerk.username));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
  return { page, problems, close: () => context.close() };
}

test('a case, two contacts, a follow-up and a conversion, in German, by keyboard-usable and axe-clean screens', async () => {
  const { page, problems, close } = await signedIn('/infection/cases');
  try {
    // The list: the case made through the API.
    const row = page.getByRole('row', { name: /Masernfeld, Ottilie/ });
    await row.waitFor();
    assert.match((await row.textContent())!, /Masern \(msvd\).*bestätigt/);
    await checkScreen(page, 'cases-list');
    await row.getByRole('link', { name: 'Masernfeld, Ottilie' }).click();

    // The case screen: its facts in German.
    await page.getByRole('heading', { name: 'Masern (msvd) – Masernfeld, Ottilie' }).waitFor();
    await page.getByText('C – klinisch-labordiagnostisch bestätigte Erkrankung').waitFor();
    await page.getByRole('cell', { name: 'Absonderung (Isolation)', exact: true }).waitFor();
    await checkScreen(page, 'cases-case');

    // A contact who is a new person, exposed two days ago: the follow-up end follows (measles: 21 days).
    await page.getByRole('button', { name: 'Kontaktperson hinzufügen' }).click();
    let dialog = page.getByRole('dialog', { name: 'Kontaktperson hinzufügen' });
    await dialog.getByLabel('Person', { exact: true }).selectOption({ label: 'Neue Person anlegen' });
    await dialog.getByLabel('Nachname').fill('Neukontakt');
    await dialog.getByLabel('Vorname').fill('Nora');
    await dialog.getByLabel('Geburtsdatum').fill('05.05.1975');
    await dialog.getByLabel('Letzter Kontakt').fill(german(berlinDay(-2)));
    assert.equal(await dialog.getByLabel('Nachverfolgung bis').inputValue(), german(berlinDay(19)));
    await dialog.getByLabel('Umfeld (optional)').selectOption({ label: 'Haushalt' });
    await checkScreen(page, 'cases-add-contact');
    await dialog.getByRole('button', { name: 'Kontaktperson hinzufügen' }).click();
    await page.getByRole('row', { name: /Neukontakt, Nora/ }).waitFor();

    // A contact from an existing file of the department, found by its name.
    await page.getByRole('button', { name: 'Kontaktperson hinzufügen' }).click();
    dialog = page.getByRole('dialog', { name: 'Kontaktperson hinzufügen' });
    await dialog.getByLabel('Akte suchen (Name oder Geburtsdatum)').fill('Vorhandener');
    await dialog.getByRole('button', { name: 'Suchen' }).click();
    await dialog.getByRole('button', { name: 'Auswählen Kurt Vorhandener' }).click();
    await dialog.getByText('Ausgewählt: Vorhandener, Kurt').waitFor();
    await dialog
      .getByLabel('Kontaktkategorie')
      .selectOption({ label: 'Sonstige Kontaktperson (geringeres Infektionsrisiko)' });
    await dialog.getByLabel('Letzter Kontakt').fill(german(berlinDay(-2)));
    await dialog.getByRole('button', { name: 'Kontaktperson hinzufügen' }).click();
    await page.getByRole('row', { name: /Vorhandener, Kurt/ }).waitFor();
    await checkScreen(page, 'cases-contacts');

    // The worklist: both are due today; a follow-up is recorded for Nora Neukontakt.
    await page.getByRole('link', { name: 'Nachverfolgung', exact: true }).click();
    const today = page.getByRole('table', { name: 'Heute fällige Nachverfolgungen' });
    await today.getByRole('row', { name: /Neukontakt, Nora/ }).waitFor();
    await today.getByRole('row', { name: /Vorhandener, Kurt/ }).waitFor();
    await today.getByRole('button', { name: 'Nachverfolgung eintragen Nora Neukontakt' }).click();
    const entry = page.getByRole('form', { name: 'Nachverfolgung für Nora Neukontakt' });
    await entry.getByLabel('Symptome', { exact: true }).selectOption({ label: 'keine Symptome' });
    await entry.getByLabel('Notiz (optional)').fill('Telefonisch erreicht, beschwerdefrei');
    await checkScreen(page, 'cases-follow-up-entry');
    await entry.getByRole('button', { name: 'Nachverfolgung eintragen' }).click();
    await page.getByText('Nachverfolgung eingetragen.').waitFor();
    await today.getByRole('row', { name: /Neukontakt, Nora/ }).waitFor({ state: 'detached' });
    await checkScreen(page, 'cases-follow-ups');

    // Kurt Vorhandener becomes a case of his own.
    await today.getByRole('button', { name: 'In Fall umwandeln Kurt Vorhandener' }).click();
    const ask = page.getByRole('alertdialog', { name: 'Kurt Vorhandener in einen Fall umwandeln?' });
    await ask.getByRole('button', { name: 'In Fall umwandeln' }).click();
    await page.getByRole('link', { name: 'Fall öffnen' }).click();
    await page.getByRole('heading', { name: 'Masern (msvd) – Vorhandener, Kurt' }).waitFor();
    await page.getByText('Verdacht', { exact: true }).waitFor();
    await checkScreen(page, 'cases-converted');

    // From the file: a case is opened on the case screen, a contact on its index case's; a new case is offered.
    await page.getByRole('link', { name: 'Akte öffnen' }).click();
    await page.getByRole('heading', { name: 'Vorhandener, Kurt' }).waitFor();
    await page.getByRole('link', { name: 'IfSG-Fall anlegen' }).waitFor();
    await page.getByRole('link', { name: /^Aus Kontaktperson/ }).click();
    await page.getByRole('heading', { name: 'Masern (msvd) – Vorhandener, Kurt' }).waitFor();
    await page.getByRole('link', { name: 'Akte öffnen' }).click();
    await page.getByRole('link', { name: 'Kontaktperson (IfSG)' }).click();
    await page.getByRole('heading', { name: 'Masern (msvd) – Masernfeld, Ottilie' }).waitFor();

    // Nora Neukontakt's follow-up ends (an edit of her contact record on top of its version).
    await page.getByRole('button', { name: 'Nachverfolgung beenden Nora Neukontakt' }).click();
    await page.getByRole('row', { name: /Neukontakt, Nora.*beendet/ }).waitFor();
    assert.deepEqual(problems, []);
  } finally {
    await close();
  }
  const listed = await clerk.get(`/api/cases/${caseId}/contacts`);
  const states = Object.fromEntries(
    listed.body.contacts.map((c: { familyName: string; state: string }) => [c.familyName, c.state]),
  );
  assert.deepEqual(states, { Neukontakt: 'ended', Vorhandener: 'converted' });
  const entries = await clerk.get(`/api/contacts/${listed.body.contacts[0].recordId}/follow-ups`);
  assert.equal(entries.body.length, 1);
  assert.equal(entries.body[0].day, berlinDay(0));
  assert.equal((await clerk.get(`/api/departments/${t.departments.INF}/cases`)).body.length, 2);
  assert.ok(existing);
});
