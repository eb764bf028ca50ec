// Every form in German, in Chromium with the locale de-DE: submitted empty and with wrong
// input, each form shows a German message under every invalid field at once, and the page
// never shows one of the server's English messages (zod's defaults, the domain's details,
// the password estimator's advice). The security report reads in German for the admin and
// the DPO. Date fields take German typing (12.4.1961) in de-DE and en-US alike.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { issueSetupToken } from '../../src/identity/setup.ts';
import { setUpTenant, startHarness, totpCode, type Account, type Harness, type Tenant } from '../helpers/harness.ts';
import { checkScreen, launchBrowser, watchPage } from '../helpers/browser.ts';

/**
 * What the server says in English, as zod 4 words its defaults and as src/ words its details:
 * none of it may reach a German screen.
 */
const ENGLISH = [
  /Too (small|big)/i,
  /\bexpected\b/i,
  /\bInvalid\b/i,
  /\bmust\b/i,
  /\brequired\b/i,
  /already (taken|registered|decided|been)/i,
  /ICD-10 code like/i,
  /client certificate/i,
  /loopback host/i,
  /Add (another|more) words?/i,
  /\bcharacters\b/i,
  /Unrecognized/i,
  /unknown field/i,
  /too easy to guess/i,
  /no such department/i,
  /\bis wrong\b/i,
  /\b(at least|at most)\b/i,
  /easy to guess/i,
  /\bpassword\b/i,
  /\bnot a\b/i,
  /\bthe file\b/i,
];

let h: Harness;
let browser: Browser;
let base: string;
let t: Tenant;
const secrets = new Map<string, string>();
let physician: Account;
let head: Account;
let admin: Account;
let dpo: Account;
let personId = '';

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ listen: true });
  base = h.url!;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

async function open(
  path: string,
  locale = 'de-DE',
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(base + path);
  return { context, page, problems };
}

/** The page's text holds none of the server's English messages. */
async function assertGerman(page: Page, where: string): Promise<void> {
  const text = await page.locator('body').innerText();
  for (const re of ENGLISH) assert.doesNotMatch(text, re, `${where}: English on a German screen`);
}

/** The field errors inside `scope`, once they are there: exactly `n`, and in German. */
async function fieldErrors(scope: Locator, n: number, where: string): Promise<string[]> {
  await scope
    .locator('.field-error')
    .nth(n - 1)
    .waitFor({ timeout: 10_000 })
    .catch(async (e: Error) => {
      throw new Error(`${where}: ${n} field errors expected, the form says: ${await scope.innerText()}`, { cause: e });
    });
  const texts = await scope.locator('.field-error').allInnerTexts();
  assert.equal(texts.length, n, `${where}: ${n} invalid fields at once, got ${JSON.stringify(texts)}`);
  return texts;
}

function nextCode(username: string): string {
  h.clock.now += 30_000;
  return totpCode(secrets.get(username)!, h.clock.now);
}

async function signIn(page: Page, a: Account): Promise<void> {
  await page.getByLabel('Benutzername').fill(a.username);
  await page.getByLabel('Passwort', { exact: true }).fill(a.password);
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByLabel(/Code (zur Bestätigung|aus der Authenticator-App)/).waitFor();
  const secret = page.locator('code.secret');
  const enrolling = await secret.isVisible();
  if (enrolling) secrets.set(a.username, (await secret.textContent())!.replace(/\s/g, ''));
  await page.getByLabel(/Code (zur Bestätigung|aus der Authenticator-App)/).fill(nextCode(a.username));
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  if (enrolling) await page.getByRole('button', { name: 'Ich habe die Codes aufbewahrt' }).click();
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
}

/** The office the later tests work in, set up through the API once the wizard has been walked (or has failed). */
async function office(): Promise<void> {
  if (t) return;
  t = await setUpTenant(h, ['INF', 'TB']);
  physician = await t.account({ memberships: [{ departmentId: t.departments.INF!, role: 'physician' }] });
  head = await t.account({ memberships: [{ departmentId: t.departments.INF!, role: 'head' }] });
  admin = await t.account({ tenantRoles: ['admin'] });
  dpo = await t.account({ tenantRoles: ['dpo'] });
}

async function signedIn(who: () => Account, path = '/', locale = 'de-DE') {
  await office();
  const a = who();
  const o = await open('/', locale);
  await signIn(o.page, a);
  if (path !== '/') await o.page.goto(base + path);
  return o;
}

test('setup wizard and login: empty and weak input answered in German, every field at once', async () => {
  const token = await issueSetupToken(h.services.store, h.config.dataDir);
  const { context, page, problems } = await open(`/setup#token=${token}`);
  await page.getByLabel('Name des Amtes').fill('Gesundheitsamt Musterstadt');
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByRole('button', { name: 'Konto anlegen' }).click();
  const texts = await fieldErrors(page.locator('form'), 3, 'setup, empty');
  assert.ok(texts.includes('Bitte ausfüllen.'), texts.join(' | '));
  await assertGerman(page, 'setup, empty');
  // A guessable password: the estimator's advice in German.
  await page.getByLabel('Name', { exact: true }).fill('Ada Admin');
  await page.getByLabel('Benutzername').fill('ad');
  await page.getByLabel('Passwort', { exact: true }).fill('passwort1234');
  await page.getByLabel('Passwort wiederholen').fill('passwort1234');
  await page.getByRole('button', { name: 'Konto anlegen' }).click();
  await page.locator('.field-error').filter({ hasText: 'mindestens 3 Zeichen' }).waitFor();
  await assertGerman(page, 'setup, short username');
  await page.getByLabel('Benutzername').fill('ada');
  await page.getByRole('button', { name: 'Konto anlegen' }).click();
  await page.locator('.field-error').filter({ hasText: 'Zu leicht zu erraten.' }).waitFor();
  await assertGerman(page, 'setup, weak password');
  await checkScreen(page, 'de-01-setup-weak-password');
  await context.close();

  // The office is set up through the API from here on; the login form refuses empty input in German.
  await office();
  const login = await open('/');
  await login.page.getByRole('button', { name: 'Weiter' }).click();
  await login.page.getByRole('alert').waitFor();
  await assertGerman(login.page, 'login, empty');
  await login.context.close();

  // The enrolment link's page: an empty and a guessable password, refused in German.
  const created = await t.admin.post('/api/admin/users', {
    username: 'erika.enrol',
    displayName: 'Erika Enrol',
    tenantRoles: [],
    memberships: [],
  });
  assert.equal(created.status, 201);
  const enrol = await open(`/enrol#token=${created.body.enrolment.token}`);
  await enrol.page.getByRole('button', { name: 'Passwort festlegen' }).click();
  await fieldErrors(enrol.page.locator('form'), 1, 'enrol, empty');
  await assertGerman(enrol.page, 'enrol, empty');
  await enrol.page.getByLabel('Passwort', { exact: true }).fill('erika.enrol2026');
  await enrol.page.getByLabel('Passwort wiederholen').fill('erika.enrol2026');
  await enrol.page.getByRole('button', { name: 'Passwort festlegen' }).click();
  await enrol.page.locator('.field-error').filter({ hasText: 'Zu leicht zu erraten.' }).waitFor();
  await assertGerman(enrol.page, 'enrol, weak');
  await enrol.context.close();
  assert.deepEqual(problems, []);
});

test('new and edited person: family name, given name and birth date at once; German dates in and out', async () => {
  const { context, page, problems } = await signedIn(() => physician, '/persons/new');
  const form = page.locator('form').filter({ has: page.getByRole('button', { name: 'Akte anlegen' }) });
  await page.getByRole('button', { name: 'Akte anlegen' }).click();
  const texts = await fieldErrors(form, 3, 'new person, empty');
  assert.deepEqual(texts, ['Bitte ausfüllen.', 'Bitte ausfüllen.', 'Bitte ausfüllen.']);
  await page.getByText('Bitte die markierten Felder korrigieren.').waitFor();
  await assertGerman(page, 'new person, empty');
  await checkScreen(page, 'de-02-person-new-empty');

  await page.getByLabel('Nachname').fill('Quastenberg');
  await page.getByLabel('Vorname').fill('x'.repeat(201));
  await page.getByLabel('Geburtsdatum').fill('31.02.2020');
  await page.getByLabel('Geburtsdatum').blur();
  await form.getByText('Kein gültiges Datum. Bitte als TT.MM.JJJJ eingeben, z. B. 12.04.1961.').waitFor();
  await page.getByRole('button', { name: 'Akte anlegen' }).click();
  await form.getByText('Zu lang: höchstens 200 Zeichen.').waitFor();
  await fieldErrors(form, 2, 'new person, wrong');
  await assertGerman(page, 'new person, wrong');
  await page.getByLabel('Vorname').fill('Hannelore');
  await page.getByLabel('Geburtsdatum').fill('1.1.2099');
  await page.getByRole('button', { name: 'Akte anlegen' }).click();
  await form.getByText('Das Datum darf nicht in der Zukunft liegen.').waitFor();
  await assertGerman(page, 'new person, future');
  await page.getByLabel('Geburtsdatum').fill('12.4.1961');
  await page.getByRole('button', { name: 'Akte anlegen' }).click();
  await page.getByRole('heading', { name: 'Quastenberg, Hannelore' }).waitFor();
  await page.getByText('12.04.1961').waitFor();
  personId = new URL(page.url()).pathname.split('/').pop()!;

  await page.getByRole('button', { name: 'Personendaten bearbeiten' }).click();
  await page.getByLabel('Nachname').fill('');
  await page.getByLabel('Geburtsdatum').fill('');
  await page.getByRole('button', { name: 'Speichern' }).click();
  await fieldErrors(page.locator('form'), 2, 'edit person, empty');
  await assertGerman(page, 'edit person, empty');
  await page.getByRole('button', { name: 'Abbrechen' }).click();
  await context.close();
  assert.deepEqual(problems, []);
});

test('new record of every type, and an edited record: every required field at once, in German', async () => {
  const { context, page, problems } = await signedIn(() => physician, `/persons/${personId}`);
  const expected: Record<string, number> = {
    note: 1,
    examination: 3,
    notification: 2,
    'expert-opinion': 4,
    'tb-screening': 1,
  };
  await page.getByRole('button', { name: 'Neuer Eintrag' }).click();
  const form = page.getByRole('form', { name: 'Neuer Eintrag' });
  for (const [type, n] of Object.entries(expected)) {
    await form.getByLabel('Art des Eintrags').selectOption(type);
    // Dates start at today: emptied here, like every other field.
    for (const date of await form.locator('input[inputmode=numeric]').all()) await date.fill('');
    await form.getByRole('button', { name: 'Speichern' }).click();
    await fieldErrors(form, n, `new ${type}, empty`);
    await assertGerman(page, `new ${type}, empty`);
  }
  await form.getByLabel('Art des Eintrags').selectOption('examination');
  await form.getByLabel('Datum').fill('31.02.2026');
  await form.getByLabel('Anlass').fill('Umgebungsuntersuchung');
  await form.getByLabel('Befund').fill('Rundherd im rechten Oberlappen');
  await form.getByLabel('Diagnosen (ICD-10) (optional)').fill('Tuberkulose');
  await form.getByRole('button', { name: 'Speichern' }).click();
  await form.getByText('Ein ICD-10-GM-Code wie A15.0, auch mit G, V, Z oder A.').waitFor();
  await fieldErrors(form, 2, 'new examination, wrong date and code');
  await assertGerman(page, 'new examination, wrong');
  await checkScreen(page, 'de-03-record-new-wrong');
  await form.getByLabel('Datum').fill('4.12.2026');
  await form.getByLabel('Diagnosen (ICD-10) (optional)').fill('A15.0 G');
  await form.getByRole('button', { name: 'Speichern' }).click();
  await page.getByRole('link', { name: 'Umgebungsuntersuchung' }).click();
  await page.locator('dl.content').getByText('04.12.2026').waitFor();
  await page.getByRole('button', { name: 'Bearbeiten' }).click();
  await page.getByLabel('Anlass').fill('');
  await page.getByLabel('Befund').fill('');
  await page.getByLabel('Datum').fill('');
  await page.getByRole('button', { name: 'Speichern' }).click();
  await fieldErrors(page.locator('form'), 3, 'edit record, empty');
  await assertGerman(page, 'edit record, empty');
  await context.close();
  assert.deepEqual(problems, []);
});

test('share and emergency search: purpose, end date and reason refused in German', async () => {
  const { context, page, problems } = await signedIn(() => head, `/persons/${personId}`);
  await page.getByRole('button', { name: 'Akte freigeben …' }).click();
  const share = page.getByRole('form', { name: 'Akte für eine andere Abteilung freigeben' });
  await share.getByLabel('Zweck').fill('kurz');
  await share.getByLabel('Bis einschließlich').fill('01.01.2001');
  await share.getByRole('button', { name: 'Freigeben' }).click();
  await fieldErrors(share, 2, 'share, short purpose and past end');
  await share.getByText('Das Datum muss in der Zukunft liegen.').waitFor();
  await assertGerman(page, 'share');
  await share.getByLabel('Bis einschließlich').fill('31.02.2027');
  await share.getByRole('button', { name: 'Freigeben' }).click();
  await share
    .locator('.field-error')
    .filter({ hasText: /gültiges Datum/ })
    .waitFor();
  await assertGerman(page, 'share, no date');
  await checkScreen(page, 'de-04-share-wrong');

  await page.goto(`${base}/persons`);
  await page.getByLabel('Name, Vorname oder Geburtsdatum').fill('Niemand');
  await page.getByRole('button', { name: 'Suchen' }).click();
  await page.getByText('Keine Akte gefunden.').waitFor();
  await page.getByRole('button', { name: /Notfallzugriff/ }).click();
  await page.getByLabel('Familienname').fill('Niemand');
  await page.getByLabel('Geburtsdatum', { exact: true }).fill('12.4.1961');
  await page.getByLabel('Begründung').fill('aaaaaaaaaaaaaaaaaaaaaaaaa');
  await page.getByText('Bitte in Worten begründen').waitFor();
  await assertGerman(page, 'emergency search');
  await context.close();
  assert.deepEqual(problems, []);
});

test('administration: departments, users, devices, single sign-on — all refusals German, all fields at once', async () => {
  const { context, page, problems } = await signedIn(() => admin, '/admin');
  const dept = page.locator('form').filter({ has: page.getByRole('button', { name: 'Abteilung anlegen' }) });
  await dept.getByRole('button', { name: 'Abteilung anlegen' }).click();
  await fieldErrors(dept, 2, 'department, empty');
  await assertGerman(page, 'department, empty');
  await dept.getByLabel('Kürzel').fill('INF');
  await dept.getByLabel('Bezeichnung').fill('Noch einmal Infektionsschutz');
  await dept.getByRole('button', { name: 'Abteilung anlegen' }).click();
  await dept.getByText('Schon vergeben.').waitFor();
  await assertGerman(page, 'department, taken');

  await page.getByRole('link', { name: 'Benutzer' }).click();
  const user = page.locator('form').filter({ has: page.getByRole('button', { name: 'Benutzer anlegen' }) });
  await user.getByRole('button', { name: 'Benutzer anlegen' }).click();
  await fieldErrors(user, 2, 'user, empty');
  await assertGerman(page, 'user, empty');
  await user.getByLabel('Name', { exact: true }).fill('Zweite Ada');
  await user.getByLabel('Benutzername').fill(admin.username);
  await user.getByRole('button', { name: 'Benutzer anlegen' }).click();
  await user.getByText('Schon vergeben.').waitFor();
  await assertGerman(page, 'user, taken');

  await page.getByRole('link', { name: 'Geräte' }).click();
  const device = page.locator('form').filter({ has: page.getByRole('button', { name: 'Gerät eintragen' }) });
  await device.getByLabel('AE-Titel').fill('CT\\1');
  await device.getByLabel(/Loopback-Adresse/).fill('kein-host');
  await device.getByRole('button', { name: 'Gerät eintragen' }).click();
  await fieldErrors(device, 2, 'device, wrong AE title and host');
  await assertGerman(page, 'device, wrong');
  await device.getByLabel('AE-Titel').fill('CT1');
  await device.getByLabel(/Loopback-Adresse/).fill('');
  await device.getByRole('button', { name: 'Gerät eintragen' }).click();
  await device.getByText('Ein Gerät braucht ein Client-Zertifikat oder einen Host auf diesem Rechner.').waitFor();
  await assertGerman(page, 'device, no proof');
  await device.getByLabel(/Loopback-Adresse/).fill('10.1.2.3');
  await device.getByRole('button', { name: 'Gerät eintragen' }).click();
  await device.getByText(/Ohne Zertifikat wird nur einem Host auf diesem Rechner vertraut/).waitFor();
  await assertGerman(page, 'device, remote host');

  await page.getByRole('link', { name: 'Anmeldung über den Landkreis' }).click();
  const sso = page.locator('form').filter({ has: page.getByLabel('Aussteller (Issuer-URL)') });
  await sso.getByRole('button', { name: 'Speichern' }).click();
  await fieldErrors(sso, 2, 'sso, empty');
  await assertGerman(page, 'sso, empty');
  await sso.getByLabel('Aussteller (Issuer-URL)').fill('http://idp.landkreis.example');
  await sso.getByLabel('Client-ID').fill('kartei');
  await sso.getByLabel('Merkmal für die dauerhafte Kennung').fill('email');
  await sso.getByRole('button', { name: 'Speichern' }).click();
  await sso.getByText('Nur https:// – einfaches http nur auf diesem Rechner.').waitFor();
  await fieldErrors(sso, 2, 'sso, wrong issuer and claim');
  await assertGerman(page, 'sso, wrong');
  await checkScreen(page, 'de-05-sso-wrong');
  await context.close();
  assert.deepEqual(problems, []);
});

test('own account: API token and password change refused in German', async () => {
  const { context, page, problems } = await signedIn(() => admin, '/account');
  const token = page.getByRole('form', { name: 'Neues Token' });
  await token.getByLabel('Gültig für Tage (höchstens 365, Verwaltung 30)').fill('');
  await token.getByRole('button', { name: 'Token erzeugen' }).click();
  await token.locator('.field-error').first().waitFor();
  await assertGerman(page, 'token, empty');

  const pw = page.getByRole('form', { name: 'Passwort ändern' });
  await pw.getByRole('button', { name: 'Passwort ändern' }).click();
  await fieldErrors(pw, 3, 'password, empty');
  await assertGerman(page, 'password, empty');
  await pw.getByLabel('Aktuelles Passwort').fill('falsches-Passwort-123');
  await pw.getByLabel('Neues Passwort').fill('passwort1234');
  await pw.getByLabel('Passwort wiederholen').fill('passwort1234');
  await pw.getByLabel('Code aus der Authenticator-App').fill('123456');
  await pw.getByRole('button', { name: 'Passwort ändern' }).click();
  await pw.locator('.field-error').first().waitFor();
  await assertGerman(page, 'password, wrong');
  await context.close();
  assert.deepEqual(problems, []);
});

test('the security report reads in German for the admin and for the DPO: no English finding text', async () => {
  await office();
  for (const who of [admin, dpo]) {
    const { context, page, problems } = await signedIn(() => who, '/security');
    await page.getByRole('heading', { name: 'Sicherheitsbericht' }).waitFor();
    await page.locator('li.finding').first().waitFor();
    const english = await page.evaluate(
      async () => (await (await fetch('/api/security-report')).json()) as { title: string; fix: string }[],
    );
    assert.ok(english.length > 0);
    const text = await page.locator('main').innerText();
    for (const f of english) {
      assert.ok(!text.includes(f.title), `${who.username}: English title "${f.title}" on the German report`);
      assert.ok(!text.includes(f.fix), `${who.username}: English fix "${f.fix}" on the German report`);
    }
    await page.getByText('Abhilfe:').first().waitFor();
    await checkScreen(page, `de-06-security-${who === admin ? 'admin' : 'dpo'}`);
    await context.close();
    assert.deepEqual(problems, []);
  }
});

test('in an en-US browser a birth date is still typed the German way: 12.4.1961 and 1961-04-12', async () => {
  const { context, page, problems } = await signedIn(() => physician, '/persons/new', 'en-US');
  const form = page.locator('form').filter({ has: page.getByRole('button', { name: 'Akte anlegen' }) });
  await form.getByText('TT.MM.JJJJ, z. B. 12.04.1961').waitFor();
  await page.getByLabel('Nachname').fill('Lindqvist');
  await page.getByLabel('Vorname').fill('Karin');
  await page.getByLabel('Geburtsdatum').fill('12.4.1961');
  await page.getByRole('button', { name: 'Akte anlegen' }).click();
  await page.getByRole('heading', { name: 'Lindqvist, Karin' }).waitFor();
  await page.getByText('12.04.1961').waitFor();
  await page.goto(`${base}/persons/new`);
  await page.getByLabel('Nachname').fill('Lindqvist');
  await page.getByLabel('Vorname').fill('Nils');
  await page.getByLabel('Geburtsdatum').fill('1961-04-12');
  await page.getByRole('button', { name: 'Akte anlegen' }).click();
  await page.getByRole('heading', { name: 'Lindqvist, Nils' }).waitFor();
  await page.getByText('12.04.1961').waitFor();
  await context.close();
  assert.deepEqual(problems, []);
});
