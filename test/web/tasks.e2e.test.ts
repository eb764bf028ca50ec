// Tasks and deadlines in the browser (issue 17): a physician saves a TB screening with the result
// "Kontrolle erforderlich" in a file; the rule's task "Röntgenkontrolle" shows in the file and in the
// desk's worklist under "Demnächst", due six months after the screening; a task for the department
// made in the worklist is "Heute fällig"; both are done (one by the row's key E, one by its button) or
// cancelled (key S, confirmed) by keyboard — in German, axe-clean, every control reachable by Tab.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { addMonths } from '../../src/desk/task-rules.ts';
import { officeDay } from '../../src/infection/incubation.ts';
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
let base: string;
let doc: Client & Account;
let personId: string;

const german = (iso: string) => iso.split('-').reverse().join('.');

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  base = h.url!;
  t = await setUpTenant(h, ['INF', 'TB']);
  const TB = t.departments.TB!;
  const a = await t.account({ memberships: [{ departmentId: TB, role: 'physician' }] }, { displayName: 'Dr. Tilo Tb' });
  doc = Object.assign(await login(h, a.username, a.password), a);
  const p = await doc.post('/api/persons', samplePerson(TB, 'Kontrollmann'));
  assert.equal(p.status, 201, JSON.stringify(p.body));
  personId = p.body.id;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

test('a TB screening with result follow-up puts "Röntgenkontrolle" in the worklist six months later; done and cancelled by keyboard', async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(`${base}/persons/${personId}`);
  await page.getByLabel('Benutzername').fill(doc.username);
  await page.getByLabel('Passwort', { exact: true }).fill(doc.password);
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByLabel('Code aus der Authenticator-App').fill(nextCode(h, doc.username));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('heading', { name: 'Kontrollmann, Hannelore' }).waitFor();
  await page.getByText('Keine Aufgaben in dieser Akte.').waitFor();

  const today = officeDay(new Date().toISOString());
  const due = addMonths(today, 6);
  await page.getByRole('button', { name: 'Neuer Eintrag' }).click();
  const form = page.getByRole('form', { name: 'Neuer Eintrag' });
  await form.getByLabel('Art des Eintrags').selectOption('tb-screening');
  await form.getByLabel('Datum').fill(german(today));
  await form.getByLabel('Ergebnis').selectOption({ label: 'Kontrolle erforderlich' });
  await form.getByRole('button', { name: 'Speichern' }).click();

  // The file's tasks: the rule's task, due six months after the screening, for the whole department.
  const fileTasks = page.getByRole('table', { name: 'Aufgaben dieser Akte' });
  const ruleRow = fileTasks.getByRole('row', { name: /Röntgenkontrolle/ });
  await ruleRow.waitFor();
  const cells = await ruleRow.locator('td').allTextContents();
  assert.equal(cells[0], german(due));
  assert.match(cells[1]!, /Röntgenkontrolle.*automatisch angelegt/);
  assert.equal(cells[2], 'Kontrolluntersuchung');
  assert.equal(cells[3], 'ganze Abteilung');
  assert.equal(cells[4], 'offen');
  await checkScreen(page, 'tasks-file');

  // The desk's worklist: under "Demnächst", with the person and the due date.
  await page.getByRole('link', { name: 'Schreibtisch' }).click();
  await page.getByRole('heading', { name: 'Aufgaben und Wiedervorlagen' }).waitFor();
  const upcoming = page.getByRole('table', { name: 'Demnächst fällige Aufgaben' });
  const row = upcoming.getByRole('row', { name: /Röntgenkontrolle/ });
  await row.waitFor();
  assert.match(
    await row.innerText(),
    new RegExp(`${german(due).replaceAll('.', '\\.')}[\\s\\S]*Röntgenkontrolle[\\s\\S]*Kontrollmann, Hannelore`),
  );
  await page.getByRole('heading', { name: 'Demnächst (1)' }).waitFor();
  await page.getByText('Nichts überfällig.').waitFor();

  // A task for the department, due today (the form's default), by keyboard.
  await page.getByRole('button', { name: 'Neue Aufgabe' }).click();
  const newTask = page.getByRole('form', { name: 'Neue Aufgabe für die Abteilung' });
  await newTask.getByLabel('Aufgabe', { exact: true }).fill('Röntgenplan für Januar abstimmen');
  await newTask.getByLabel('Art').selectOption({ label: 'Sonstiges' });
  await checkScreen(page, 'tasks-new');
  // Too long a title is refused naming the field, in German; nothing is made.
  await newTask.getByLabel('Aufgabe', { exact: true }).fill('x'.repeat(201));
  await newTask.getByRole('button', { name: 'Aufgabe anlegen' }).click();
  await newTask.locator('.field-invalid').filter({ hasText: 'Aufgabe' }).waitFor();
  await newTask.getByLabel('Aufgabe', { exact: true }).fill('Röntgenplan für Januar abstimmen');
  await newTask.getByRole('button', { name: 'Aufgabe anlegen' }).focus();
  await page.keyboard.press('Enter');
  const todays = page.getByRole('table', { name: 'Heute fällige Aufgaben' });
  const deptRow = todays.getByRole('row', { name: /Röntgenplan für Januar abstimmen/ });
  await deptRow.waitFor();
  assert.match(await deptRow.innerText(), /Abteilung/);
  await checkScreen(page, 'tasks-worklist');

  // Done with the row's key E.
  await row.focus();
  await page.keyboard.press('e');
  await page.getByText('Als erledigt markiert.').waitFor();
  await page.getByText('Demnächst ist nichts fällig.').waitFor();

  // Cancelled with the row's key S, confirmed in the dialog.
  await deptRow.focus();
  await page.keyboard.press('s');
  const dialog = page.getByRole('alertdialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Stornieren' }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('Heute ist nichts fällig.').waitFor();

  // Back in the file: the rule's task is done, by whom and when; reopened by its button, done again by its button.
  await page.goto(`${base}/persons/${personId}`);
  const doneRow = page
    .getByRole('table', { name: 'Aufgaben dieser Akte' })
    .getByRole('row', { name: /Röntgenkontrolle/ });
  await doneRow.waitFor();
  assert.match(
    await doneRow.innerText(),
    new RegExp(`erledigt am ${german(today).replaceAll('.', '\\.')}.* von Dr\\. Tilo Tb`),
  );
  await doneRow.getByRole('button', { name: /Wieder öffnen/ }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('Wieder geöffnet.').waitFor();
  await doneRow.getByRole('button', { name: /Erledigt/ }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('Als erledigt markiert.').waitFor();
  // The notice can show before the file's list has been read again: wait for the row to say so.
  await doneRow.filter({ hasText: /erledigt am/ }).waitFor();

  const tasks = await doc.get(`/api/persons/${personId}/tasks`);
  assert.equal(tasks.body.items.length, 1);
  assert.equal(tasks.body.items[0].state, 'done');
  assert.equal(tasks.body.items[0].dueDate, due);
  assert.deepEqual(problems, []);
  await context.close();
});
