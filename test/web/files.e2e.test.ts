// Issue 14 in the browser: a file with more records than one page opens with the
// newest page (title or first line, author, date) and loads more on request; a
// clerk sees a restricted record marked without its title; a record's versions
// say who changed which fields and open to a field diff; the DPO's reviews page
// shows the decided emergency accesses as a history.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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
let base: string;
let doc: Client & Account;
let other: Client & Account;
let clerk: Client & Account;
let dpo: Client & Account;
let personId: string;
let examId: string;

const person = async (spec: Parameters<Tenant['account']>[0], displayName: string) => {
  const a = await t.account(spec, { displayName });
  return Object.assign(await login(h, a.username, a.password), a);
};

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  base = h.url!;
  t = await setUpTenant(h, ['INF', 'TB']);
  const INF = t.departments.INF!;
  doc = await person({ memberships: [{ departmentId: INF, role: 'physician' }] }, 'Dr. Ida Imhof');
  other = await person({ memberships: [{ departmentId: INF, role: 'physician' }] }, 'Dr. Otto Ober');
  clerk = await person({ memberships: [{ departmentId: INF, role: 'clerk' }] }, 'Carl Clerk');
  dpo = await person({ tenantRoles: ['dpo'] }, 'Dana Datenschutz');
  personId = (await doc.post('/api/persons', samplePerson(INF, 'Langakte'))).body.id;
  await doc.post(`/api/persons/${personId}/records`, {
    type: 'note',
    sensitivity: 'restricted',
    content: { text: 'Krisengespräch geführt' },
  });
  for (let i = 1; i <= 57; i++) {
    const r = await doc.post(`/api/persons/${personId}/records`, {
      type: 'note',
      sensitivity: 'normal',
      content: { text: `Telefonat Nr. ${i}\nDetails` },
    });
    assert.equal(r.status, 201);
  }
  const exam = { date: '2026-04-12', reason: 'Umgebungsuntersuchung', findings: 'unauffällig' };
  examId = (
    await doc.post(`/api/persons/${personId}/records`, { type: 'examination', sensitivity: 'normal', content: exam })
  ).body.id;
  assert.equal(
    (
      await other.put(`/api/records/${examId}`, {
        content: { ...exam, findings: 'Rundherd rechts', diagnoses: ['A15.0 G'] },
        version: 1,
      })
    ).status,
    200,
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

async function signedIn(
  who: Account,
  path: string,
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(base + path);
  await page.getByLabel('Benutzername').fill(who.username);
  await page.getByLabel('Passwort', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByLabel('Code aus der Authenticator-App').fill(nextCode(h, who.username));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
  return { context, page, problems };
}

test('a file of 59 records opens with the newest 50 (title, author, date) and loads the rest', async () => {
  const { context, page, problems } = await signedIn(doc, `/persons/${personId}`);
  const items = page.getByRole('list', { name: 'Einträge, neueste zuerst' }).getByRole('listitem');
  await page.getByRole('link', { name: 'Umgebungsuntersuchung' }).waitFor();
  assert.equal(await items.count(), 50);
  const first = items.first();
  assert.match(
    (await first.textContent())!,
    /^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}Untersuchung/,
    'the newest first, dated with a four-digit year',
  );
  await first.getByText('von Dr. Ida Imhof · zuletzt geändert von Dr. Otto Ober').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Telefonat Nr. 57' }).count(), 1);
  assert.equal(
    await page.getByRole('link', { name: 'Telefonat Nr. 8', exact: true }).count(),
    0,
    'older ones wait for the next page',
  );
  await checkScreen(page, 'i14-01-file-first-page');
  await page.getByRole('button', { name: 'Weitere Einträge laden' }).click();
  await page.getByRole('link', { name: 'Krisengespräch geführt' }).waitFor();
  assert.equal(await items.count(), 59);
  assert.equal(await page.getByRole('button', { name: 'Weitere Einträge laden' }).count(), 0, 'nothing more to load');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a clerk sees the restricted record marked, without its title', async () => {
  const { context, page, problems } = await signedIn(clerk, `/persons/${personId}`);
  await page.getByRole('link', { name: 'Umgebungsuntersuchung' }).waitFor();
  await page.getByRole('button', { name: 'Weitere Einträge laden' }).click();
  const items = page.getByRole('list', { name: 'Einträge, neueste zuerst' }).getByRole('listitem');
  await items.filter({ hasText: 'vertraulich' }).getByText('Vertraulich: nur für ärztliches Personal').waitFor();
  assert.equal(await items.count(), 59);
  assert.equal(await page.getByText('Krisengespräch').count(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a record's versions say who changed which fields and open to the diff", async () => {
  const { context, page, problems } = await signedIn(doc, `/records/${examId}`);
  const change = page.getByText(
    /^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2} — Dr\. Otto Ober: Befund, Diagnosen \(ICD-10\) geändert \(Version 2\)$/,
  );
  await change.waitFor();
  await page.getByText(/— Dr\. Ida Imhof: angelegt \(Version 1\)$/).waitFor();
  await change.click();
  const diff = page.getByRole('table', { name: 'Änderungen in Version 2' });
  await diff.getByRole('row', { name: 'Befund unauffällig Rundherd rechts' }).waitFor();
  await diff.getByRole('row', { name: 'Diagnosen (ICD-10) — A15.0 G' }).waitFor();
  await checkScreen(page, 'i14-02-record-versions-diff');
  assert.deepEqual(problems, []);
  await context.close();
});

test('the DPO sees decided emergency accesses as a history with decision, reviewer and comment', async () => {
  const tbDoc = await person(
    { memberships: [{ departmentId: t.departments.TB!, role: 'physician' }] },
    'Tara Tuberkulose',
  );
  const reason = 'Bewusstlos eingeliefert, Vorbefunde nötig';
  assert.equal((await tbDoc.post(`/api/persons/${personId}/break-glass`, { reason })).status, 200);
  assert.equal(
    (await tbDoc.post(`/api/persons/${personId}/break-glass`, { reason: `${reason} (zweiter Zugriff)` })).status,
    200,
  );
  const open = (await dpo.get('/api/reviews')).body as { id: string }[];
  assert.equal(
    (await dpo.post(`/api/reviews/${open[0]!.id}`, { decision: 'justified', comment: 'Notaufnahme bestätigt' })).status,
    200,
  );

  const { context, page, problems } = await signedIn(dpo, '/audit/reviews');
  const history = page.getByRole('region', { name: 'Entschiedene Notfallzugriffe' });
  const decided = history.getByRole('listitem', { name: 'Notfallzugriff von Tara Tuberkulose' });
  await decided.getByText(/^Gerechtfertigt – Dana Datenschutz, \d{2}\.\d{2}\.\d{4} \d{2}:\d{2}$/).waitFor();
  await decided.getByText('Notaufnahme bestätigt').waitFor();
  const still = page.getByRole('form', { name: 'Notfallzugriff von Tara Tuberkulose' });
  await still.getByLabel('Kommentar').fill('Kein Behandlungsauftrag');
  await still.getByRole('button', { name: 'Nicht gerechtfertigt' }).click();
  await page.getByText('Keine offenen Notfallzugriffe.').waitFor();
  await history.getByText(/^Nicht gerechtfertigt – Dana Datenschutz/).waitFor();
  assert.equal(await history.getByRole('listitem').count(), 2);
  await checkScreen(page, 'i14-03-reviews-history');
  assert.deepEqual(problems, []);
  await context.close();
});
