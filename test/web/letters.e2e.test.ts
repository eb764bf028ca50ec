// Letters in the browser (issue 17, de-DE): an admin adds the starting templates and edits the invitation
// with the field picker (a new version), previews it as PDF; a clerk starts a bulk letter for three files
// found by a search and watches its progress to the end; a clerk makes an invitation in a file and its PDF
// opens (application/pdf, %PDF, the PDF/A marker) — where the documents' screen of the file is on this
// branch. Axe-clean and walked by keyboard on every screen.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
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
let admin: Client & Account;
let clerk: Client & Account;
const persons: string[] = [];

/** The file's documents section renders the letter action only once the documents part's screen is there. */
const documentsScreen = !fs
  .readFileSync(new URL('../../web/src/screens/desk/file-documents.tsx', import.meta.url), 'utf8')
  .includes('a placeholder until its screen lands');

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  t = await setUpTenant(h, ['INF', 'TB']);
  const INF = t.departments.INF!;
  const a = await t.account({ tenantRoles: ['admin'] }, { displayName: 'Anton Admin' });
  admin = Object.assign(await login(h, a.username, a.password), a);
  const c = await t.account({ memberships: [{ departmentId: INF, role: 'clerk' }] }, { displayName: 'Clara Clerk' });
  clerk = Object.assign(await login(h, c.username, c.password), c);
  for (const name of ['Serienbrief-Eins', 'Serienbrief-Zwei', 'Serienbrief-Drei']) {
    const p = await clerk.post('/api/persons', samplePerson(INF, name));
    assert.equal(p.status, 201, JSON.stringify(p.body));
    persons.push(p.body.id);
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

async function signIn(page: Page, who: Client & Account, path: string) {
  await page.goto(`${h.url}${path}`);
  await page.getByLabel('Benutzername').fill(who.username);
  await page.getByLabel('Passwort', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByLabel('Code aus der Authenticator-App').fill(nextCode(h, who.username));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
}

test('an admin adds the starting templates, edits the invitation with the field picker, and previews it', async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, admin, '/admin/templates');
  await page.getByRole('heading', { name: 'Briefvorlagen' }).waitFor();
  await page.getByText('Noch keine Vorlagen.').waitFor();
  await page.getByRole('button', { name: 'Mustervorlagen anlegen' }).click();
  const table = page.getByRole('table', { name: 'Briefvorlagen' });
  await table.getByRole('row', { name: /Anordnung der Absonderung/ }).waitFor();
  assert.equal(await table.locator('tbody tr').count(), 4);
  await checkScreen(page, 'templates-list');

  await page.getByRole('button', { name: 'Vorlage „Einladung zur Röntgenuntersuchung der Lunge“ bearbeiten' }).click();
  const body = page.getByLabel('Text', { exact: true });
  await body.waitFor();
  // An unknown field is refused at its place, in German.
  await body.fill('Guten Tag {{person.diagnose}}');
  await page.getByRole('button', { name: 'Speichern' }).click();
  await page.getByText('Das Feld „person.diagnose“ gibt es für diese Art nicht (Zeile 1, Spalte 11).').waitFor();
  // The field picker puts a field where the cursor is.
  await body.fill('Guten Tag ');
  await body.press('End');
  await page.getByRole('button', { name: '{{person.familyName}} einfügen: Familienname' }).click();
  assert.equal(await body.inputValue(), 'Guten Tag {{person.familyName}}');
  await body.press('End');
  await body.pressSequentially(', bitte kommen Sie zur Untersuchung.');
  await page.getByRole('button', { name: 'Vorschau als PDF' }).click();
  await page.getByRole('link', { name: 'Vorschau öffnen' }).waitFor();
  await checkScreen(page, 'templates-edit');
  await page.getByRole('button', { name: 'Speichern' }).click();
  await page.getByText('Die Vorlage wurde gespeichert.').waitFor();
  // The list is read again after the save: wait for the new version, not only for the row.
  await table
    .getByRole('row', { name: /Einladung zur Röntgenuntersuchung der Lunge/ })
    .filter({ hasText: /Einladung\s*das ganze Amt\s*2/ })
    .waitFor();
  assert.match(
    await table.getByRole('row', { name: /Einladung zur Röntgenuntersuchung der Lunge/ }).innerText(),
    /Einladung\s+das ganze Amt\s+2/,
  );
  // The preview is a PDF/A of the template filled with sample data.
  const list = (await admin.get('/api/admin/templates')).body.items as { id: string; kind: string }[];
  const invitation = list.find((x) => x.kind === 'invitation')!;
  const view = (await admin.get(`/api/admin/templates/${invitation.id}`)).body;
  assert.equal(view.versions.length, 2);
  assert.equal(view.content.body, 'Guten Tag {{person.familyName}}, bitte kommen Sie zur Untersuchung.');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a clerk starts a bulk letter for three files and watches it to the end', async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, clerk, '/desk/letters');
  await page.getByRole('heading', { name: 'Neuer Serienbrief' }).waitFor();
  await page.getByLabel('Vorlage').selectOption({ label: 'Einladung zur Röntgenuntersuchung der Lunge (Einladung)' });
  await page.getByLabel('Empfängerinnen und Empfänger').selectOption({ label: 'Ausgewählte Personen' });
  await page.getByLabel('Person suchen (Name oder Geburtsdatum)').fill('Serienbrief');
  await page.getByRole('button', { name: 'Suchen', exact: true }).click();
  for (const name of ['Serienbrief-Eins', 'Serienbrief-Zwei', 'Serienbrief-Drei'])
    await page.getByLabel(new RegExp(`^${name}, Hannelore`)).check();
  await page.getByText('3 Personen ausgewählt').waitFor();
  await checkScreen(page, 'letter-run-start');
  await page.getByRole('button', { name: 'Serienbrief starten' }).click();
  await page.getByRole('heading', { name: 'Serienbrief: Einladung zur Röntgenuntersuchung der Lunge' }).waitFor();
  await page.getByText('3 von 3 erstellt, 0 nicht möglich – abgeschlossen').waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('progress').getAttribute('value'), '3');
  const result = page.getByRole('table', { name: 'Ergebnis je Akte' });
  assert.equal(await result.getByRole('link', { name: 'Öffnen' }).count(), 3);
  assert.match(await result.innerText(), /Serienbrief-Eins, Hannelore\s+erstellt/);
  await checkScreen(page, 'letter-run-done');
  await page.getByRole('link', { name: 'Zurück zu den Serienbriefen' }).click();
  const earlier = page.getByRole('table', { name: 'Bisherige Serienbriefe' });
  await earlier.getByRole('row', { name: /3 von 3 erstellt/ }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test('a clerk makes an invitation in a file and its PDF opens', {
  skip: !documentsScreen && "the file's documents screen (documents part) is not on this branch yet",
}, async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, clerk, `/persons/${persons[0]}`);
  await page.getByRole('button', { name: 'Brief erstellen' }).click();
  await page.getByLabel('Vorlage').selectOption({ label: 'Einladung zur Röntgenuntersuchung der Lunge (Einladung)' });
  await checkScreen(page, 'new-letter');
  const opened = context.waitForEvent('page');
  await page.getByRole('button', { name: 'Erstellen', exact: true }).click();
  await page.getByText('Der Brief wurde erstellt und in der Akte abgelegt.').waitFor();
  // The letter opens in a new tab at its document's address; fetched again with the session, it is the PDF/A.
  const pdfPage = await opened;
  await pdfPage.waitForURL(/\/api\/documents\/[^/]+\/preview/);
  const response = await context.request.get(pdfPage.url());
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-type'] ?? '', /^application\/pdf/);
  const bytes = await response.body();
  assert.equal(bytes.subarray(0, 5).toString(), '%PDF-');
  assert.match(bytes.toString('latin1'), /<pdfaid:part>2<\/pdfaid:part>/);
  assert.deepEqual(problems, []);
  await context.close();
});
