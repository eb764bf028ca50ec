// Issue 17's day at the desk in one walk, in Chromium and in German, through the web application (the API
// sets up accounts, the office's starting templates and an outbreak with its contacts, nothing else): the
// head of the TB department imports last year's screening list (CSV in Windows-1252, one row's result
// "Kontrolle") after a dry run; the rule's follow-up task "Röntgenkontrolle" is in the worklist; a clerk
// opens its file from there, makes the invitation letter (its PDF opens), assigns a scanned reply from the
// mail-room to the file and previews it there, marks the task done, records the control X-ray and makes
// the §36 certificate from it; a clerk of the infection protection department runs the invitations for an
// outbreak's contacts and watches the progress to the end. Dates as 04.12.2026; keyboard-usable and
// axe-clean on every screen (test-results/desk-day-*.png).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import iconv from 'iconv-lite';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { addMonths } from '../../src/desk/task-rules.ts';
import { officeDay } from '../../src/infection/incubation.ts';
import { nextCode, setUpTenant, startHarness, type Account, type Client, type Harness } from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';
import { testPdf } from '../helpers/documents.ts';

let h: Harness;
let browser: Browser;
let head: Account;
let clerk: Account;
let infClerk: Account;
let physician: Client & Account;
let TB: string;
let INF: string;

const german = (iso: string) => iso.split('-').reverse().join('.');
const today = officeDay(new Date().toISOString());
/** Last year's screening: its control X-ray is due six months after it, a month from now. */
const screened = addMonths(today, -5);
const due = addMonths(screened, 6);

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  const t = await setUpTenant(h, []);
  TB = (await t.admin.post('/api/admin/departments', { code: 'TB', name: 'Tuberkulosefürsorge' })).body.id;
  INF = (await t.admin.post('/api/admin/departments', { code: 'INF', name: 'Infektionsschutz' })).body.id;
  // Made as the office would (a department's head approves its members' grants); each signed in once,
  // so that the harness knows the TOTP secret the browser needs.
  const enrolled = (memberships: { departmentId: string; role: string }[], displayName: string) =>
    t.user({ memberships }, displayName);
  head = await enrolled([{ departmentId: TB, role: 'head' }], 'Helga Leitung');
  clerk = await enrolled([{ departmentId: TB, role: 'clerk' }], 'Clara Sachbearbeiterin');
  infClerk = await enrolled([{ departmentId: INF, role: 'clerk' }], 'Ines Infektionsschutz');
  physician = await enrolled([{ departmentId: INF, role: 'physician' }], 'Dr. Paula Amtsärztin');
  assert.equal((await t.admin.post('/api/admin/templates/starters')).status, 200);

  // An outbreak in a daycare with one confirmed case and its three close contacts.
  const outbreak = await physician.post(`/api/departments/${INF}/outbreaks`, {
    name: 'Kita Sonnenblume',
    setting: 'daycare',
    periodFrom: addMonths(today, -1),
  });
  assert.equal(outbreak.status, 201, JSON.stringify(outbreak.body));
  const index = await physician.post('/api/persons', {
    departmentId: INF,
    familyName: 'Indexfall',
    givenName: 'Ida',
    birthDate: '1980-01-01',
  });
  assert.equal(index.status, 201, JSON.stringify(index.body));
  const kase = await physician.post(`/api/persons/${index.body.id}/records`, {
    type: 'ifsg-case',
    sensitivity: 'normal',
    content: { disease: { code: 'nrvd', display: 'Norovirus' }, status: 'confirmed', notifiedOn: today },
  });
  assert.equal(kase.status, 201, JSON.stringify(kase.body));
  const linked = await physician.post(`/api/outbreaks/${outbreak.body.id}/cases`, {
    caseId: kase.body.id,
    caseVersion: 1,
  });
  assert.equal(linked.status, 200, JSON.stringify(linked.body));
  for (const familyName of ['Kontaktlinse', 'Kontaktbogen', 'Kontaktstelle']) {
    const r = await physician.post(`/api/cases/${kase.body.id}/contacts`, {
      person: { familyName, givenName: 'Kunigunde', birthDate: '1975-05-05' },
      category: 'close',
      lastExposure: today,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

async function signIn(who: Account): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({
    locale: 'de-DE',
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
  return { context, page, problems };
}

/** Presses Enter on a control reached by focus, as a keyboard user would. */
async function press(page: Page, control: ReturnType<Page['getByRole']>) {
  await control.focus();
  await page.keyboard.press('Enter');
}

const CSV = iconv.encode(
  [
    'Nachname;Vorname;Geburtsdatum;Untersuchung am;Methode;Ergebnis',
    `Wöllenbrünner;Thekla;04.12.1961;${german(screened)};Röntgen;Kontrolle`,
    `Quäckenstedt;Bartholomäus;30.07.1958;${german(screened)};Röntgen;negativ`,
    `Süßmilch;Ägidius;12.03.1970;${german(screened)};IGRA;negativ`,
  ].join('\r\n'),
  'win1252',
);

test("the desk's day: import, the rule's task, a letter, a scan, done, the §36 certificate, a bulk run", async () => {
  // 1. The head imports last year's TB screening list after a dry run.
  {
    const { context, page, problems } = await signIn(head);
    await press(page, page.getByRole('link', { name: 'Schreibtisch' }).first());
    await press(page, page.getByRole('link', { name: 'Import' }));
    await page.getByRole('heading', { name: 'Daten importieren' }).waitFor();
    await page
      .getByLabel('Datei (CSV oder XLSX)')
      .setInputFiles({ name: 'TB-Reihenuntersuchung 2025.csv', mimeType: 'text/csv', buffer: CSV });
    await press(page, page.getByRole('button', { name: 'Hochladen' }));
    await page.getByRole('heading', { name: 'Spalten zuordnen' }).waitFor();
    await page.getByText('Erkannt: windows-1252').waitFor();
    await page.getByRole('cell', { name: 'Wöllenbrünner' }).waitFor();
    await page.getByLabel('Je Zeile auch ein Eintrag').selectOption({ label: 'TB-Untersuchung' });
    await page.getByLabel('Datum', { exact: true }).selectOption({ label: 'Spalte 4: Untersuchung am' });
    await page.getByLabel('Methode', { exact: true }).selectOption({ label: 'Spalte 5: Methode' });
    await page.getByLabel('Ergebnis', { exact: true }).selectOption({ label: 'Spalte 6: Ergebnis' });
    await checkScreen(page, 'desk-day-import-mapping');
    await press(page, page.getByRole('button', { name: 'Probelauf' }));
    await page.getByText('Probelauf: 3 würden angelegt, 0 zugeordnet, 0 abgelehnt.').waitFor();
    await checkScreen(page, 'desk-day-import-dry-run');
    await press(page, page.getByRole('button', { name: 'Import starten' }));
    const confirm = page.getByRole('alertdialog', { name: 'Import starten?' });
    await press(page, confirm.getByRole('button', { name: 'Import starten' }));
    await page.getByText('Import abgeschlossen: 3 angelegt, 0 zugeordnet, 0 abgelehnt.').waitFor();
    await page.getByRole('link', { name: 'Akte öffnen (Zeile 4)' }).waitFor();
    await checkScreen(page, 'desk-day-import-done');

    // 2. The rule's follow-up task is in the department's worklist, once, due six months after the screening.
    await press(page, page.getByRole('link', { name: 'Aufgaben' }));
    await page.getByRole('heading', { name: 'Aufgaben und Wiedervorlagen' }).waitFor();
    const row = page.getByRole('row', { name: /Röntgenkontrolle/ });
    await row.waitFor();
    assert.equal(await row.count(), 1);
    assert.match(
      await row.innerText(),
      new RegExp(`${german(due).replaceAll('.', '\\.')}[\\s\\S]*Wöllenbrünner, Thekla`),
    );
    await checkScreen(page, 'desk-day-worklist-head');
    assert.deepEqual(problems, []);
    await context.close();
  }

  // 3. A clerk opens the task's file, makes the invitation (its PDF opens), assigns a scanned reply from the
  //    mail-room, previews it in the file, marks the task done, records the control and makes the certificate.
  {
    const { context, page, problems } = await signIn(clerk);
    await press(page, page.getByRole('link', { name: 'Schreibtisch' }).first());
    const row = page.getByRole('row', { name: /Röntgenkontrolle/ });
    await press(page, row.getByRole('link', { name: /Wöllenbrünner, Thekla/ }));
    await page.getByRole('heading', { name: /Wöllenbrünner, Thekla/ }).waitFor();
    const fileTasks = page.getByRole('table', { name: 'Aufgaben dieser Akte' });
    await fileTasks.getByRole('row', { name: /Röntgenkontrolle/ }).waitFor();
    await checkScreen(page, 'desk-day-file');

    await press(page, page.getByRole('button', { name: 'Brief erstellen' }));
    await page.getByLabel('Vorlage').selectOption({ label: 'Einladung zur Röntgenuntersuchung der Lunge (Einladung)' });
    await checkScreen(page, 'desk-day-letter');
    const opened = context.waitForEvent('page');
    await press(page, page.getByRole('button', { name: 'Erstellen', exact: true }));
    await page.getByText('Der Brief wurde erstellt und in der Akte abgelegt.').waitFor();
    const pdfPage = await opened;
    await pdfPage.waitForURL(/\/api\/documents\/[^/]+\/preview/);
    const letter = await context.request.get(pdfPage.url());
    assert.equal(letter.status(), 200);
    assert.match(letter.headers()['content-type'] ?? '', /^application\/pdf/);
    assert.equal((await letter.body()).subarray(0, 5).toString(), '%PDF-');
    await pdfPage.close();
    const documents = page.getByRole('region', { name: 'Dokumente' }).getByRole('table', { name: 'Dokumente' });
    await documents.getByRole('row', { name: /Einladung zur Untersuchung auf Lungentuberkulose/ }).waitFor();
    // The letter's file name spells the umlaut as German does without it.
    await documents
      .getByText(`Einladung-zur-Roentgenuntersuchung-der-Lunge-${german(today)}.pdf`)
      .first()
      .waitFor();
    assert.match(await documents.innerText(), new RegExp(german(today).replaceAll('.', '\\.')));

    // The reply arrives scanned in the mail-room and is assigned to the file.
    await page.goto(`${h.url}/desk/mailroom`);
    await page
      .getByLabel('Scan hochladen')
      .setInputFiles({ name: 'Antwort Wöllenbrünner.pdf', mimeType: 'application/pdf', buffer: testPdf('Antwort') });
    await page.getByText('„Antwort Wöllenbrünner.pdf“ wurde hochgeladen.').waitFor();
    const inbox = page.getByRole('table', { name: 'Posteingang' });
    await checkScreen(page, 'desk-day-mailroom');
    await press(page, inbox.getByRole('button', { name: 'Zuordnen Antwort Wöllenbrünner.pdf' }));
    const assign = page.getByRole('dialog', { name: '„Antwort Wöllenbrünner.pdf“ einer Akte zuordnen' });
    await assign.getByLabel('Person suchen').fill('Wöllenbrünner');
    await press(page, assign.getByRole('button', { name: 'Suchen' }));
    const target = assign.getByRole('button', { name: 'Dieser Akte zuordnen Wöllenbrünner, Thekla' });
    await target.waitFor();
    await checkScreen(page, 'desk-day-mailroom-assign');
    await press(page, target);
    await page.getByText('Der Scan liegt jetzt in der Akte Wöllenbrünner, Thekla.').waitFor();

    // Back in the file (by the worklist): the scan previews.
    await press(page, page.getByRole('link', { name: 'Aufgaben' }));
    await press(page, page.getByRole('row', { name: /Röntgenkontrolle/ }).getByRole('link', { name: /Wöllenbrünner/ }));
    await press(page, documents.getByRole('button', { name: 'Ansehen Antwort Wöllenbrünner.pdf' }));
    const preview = page.getByRole('dialog', { name: 'Vorschau: Antwort Wöllenbrünner.pdf' });
    await preview.locator('iframe[src$="/preview"]').waitFor();
    await checkScreen(page, 'desk-day-preview');
    await page.keyboard.press('Escape');
    await preview.waitFor({ state: 'detached' });

    // The task is done.
    const taskRow = fileTasks.getByRole('row', { name: /Röntgenkontrolle/ });
    await press(page, taskRow.getByRole('button', { name: /Erledigt/ }));
    await page.getByText('Als erledigt markiert.').waitFor();
    await taskRow.getByText(`erledigt am ${german(today)}`).waitFor();

    // The control X-ray is recorded, and the §36 certificate is made from it.
    await press(page, page.getByRole('button', { name: 'Neuer Eintrag' }));
    const form = page.getByRole('form', { name: 'Neuer Eintrag' });
    await form.getByLabel('Art des Eintrags').selectOption('tb-screening');
    await form.getByLabel('Datum').fill(german(today));
    await form.getByLabel('Methode').selectOption({ label: 'Röntgen-Thorax' });
    await form.getByLabel('Ergebnis').selectOption({ label: 'negativ' });
    await press(page, form.getByRole('button', { name: 'Speichern' }));
    await form.waitFor({ state: 'detached' });
    await press(page, page.getByRole('button', { name: 'Brief erstellen' }));
    await page
      .getByLabel('Vorlage')
      .selectOption({ label: 'Ärztliches Zeugnis nach § 36 Abs. 4 IfSG (Zeugnis nach § 36 IfSG)' });
    const records = page.getByLabel('Eintrag, für den der Brief erstellt wird');
    const options = await records.locator('option').allTextContents();
    const latest = options.find((o) => o.includes(german(today)));
    assert.ok(latest, options.join(' | '));
    await records.selectOption({ label: latest });
    await checkScreen(page, 'desk-day-certificate');
    const certOpened = context.waitForEvent('page');
    await press(page, page.getByRole('button', { name: 'Erstellen', exact: true }));
    await page.getByText('Der Brief wurde erstellt und in der Akte abgelegt.').waitFor();
    const certPage = await certOpened;
    await certPage.waitForURL(/\/api\/documents\/[^/]+\/preview/);
    const cert = await context.request.get(certPage.url());
    assert.equal(cert.status(), 200);
    assert.equal((await cert.body()).subarray(0, 5).toString(), '%PDF-');
    await certPage.close();
    await documents.getByRole('row', { name: /Ärztliches Zeugnis nach § 36/ }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  }

  // 4. The infection protection clerk invites the outbreak's contacts in one bulk run and watches it end.
  {
    const { context, page, problems } = await signIn(infClerk);
    await press(page, page.getByRole('link', { name: 'Schreibtisch' }).first());
    await press(page, page.getByRole('link', { name: 'Serienbriefe' }));
    await page.getByRole('heading', { name: 'Neuer Serienbrief' }).waitFor();
    await page.getByLabel('Vorlage').selectOption({ label: 'Einladung zur Röntgenuntersuchung der Lunge (Einladung)' });
    await page
      .getByLabel('Empfängerinnen und Empfänger')
      .selectOption({ label: 'Alle Kontaktpersonen eines Ausbruchs' });
    await page.getByLabel('Ausbruch').selectOption({ label: `Kita Sonnenblume (${german(addMonths(today, -1))})` });
    await checkScreen(page, 'desk-day-bulk-start');
    await press(page, page.getByRole('button', { name: 'Serienbrief starten' }));
    await page.getByText('3 von 3 erstellt, 0 nicht möglich – abgeschlossen').waitFor({ timeout: 30_000 });
    const result = page.getByRole('table', { name: 'Ergebnis je Akte' });
    assert.match(await result.innerText(), /Kontaktlinse, Kunigunde\s+erstellt/);
    await checkScreen(page, 'desk-day-bulk-done');
    assert.deepEqual(problems, []);
    await context.close();
  }
});
