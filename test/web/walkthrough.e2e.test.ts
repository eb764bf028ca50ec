// The web application end to end in Chromium: first run, administration, a
// physician's file work, the expired session that keeps the form, and what a
// clerk of the same department, a clerk of another department and an
// administrator do not see. German by default; axe-core on every screen.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.ts';
import { issueSetupToken } from '../../src/identity/setup.ts';
import { startHarness, strongPassword, totpCode, type Harness } from '../helpers/harness.ts';
import { checkScreen, launchBrowser, quiet, watchPage } from '../helpers/browser.ts';
import { makeInstance, makeJpegInstance, newUid } from '../helpers/dicom-files.ts';
import type { DimseListener } from '../../src/imaging/dimse/listener.ts';

let h: Harness;
let dimse: DimseListener;
let browser: Browser;
let base: string;
const secrets = new Map<string, string>();
const passwords = new Map<string, string>();
let personId = '';

before(async () => {
  await ensureWebBuild();
  h = await startHarness({ dicom: true, listen: true });
  base = h.url!;
  dimse = h.dicom!;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await h?.close();
});

/** A fresh browser context (no cookies, no storage) and a page in it, watched for errors. */
async function open(path: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(base + path);
  return { context, page, problems };
}

/** The next TOTP code: the server's clock moves one step, so no code is used twice. */
function nextCode(username: string): string {
  h.clock.now += 30_000;
  return totpCode(secrets.get(username)!, h.clock.now);
}

/** Answers the second-factor step, reading the secret off the screen when enrolling. */
async function secondFactor(page: Page, username: string): Promise<void> {
  const secret = page.locator('code.secret');
  await page.getByLabel(/Code (zur Bestätigung|aus der Authenticator-App)/).waitFor();
  const enrolling = await secret.isVisible();
  if (enrolling) secrets.set(username, (await secret.textContent())!.replace(/\s/g, ''));
  await page.getByLabel(/Code (zur Bestätigung|aus der Authenticator-App)/).fill(nextCode(username));
  await page.getByRole('button', { name: 'Anmelden' }).click();
  if (enrolling) await keepRecoveryCodes(page);
}

/** After enrolling the second factor, the recovery codes are shown once: ten of them, then on. */
async function keepRecoveryCodes(page: Page): Promise<void> {
  await page.getByRole('heading', { name: 'Ihre Wiederherstellungscodes' }).waitFor();
  assert.equal(await page.locator('.recovery-codes li').count(), 10);
  for (const c of await page.locator('.recovery-codes code').allTextContents())
    assert.match(c, /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/);
  await page.getByRole('button', { name: 'Ich habe die Codes aufbewahrt' }).click();
}

/** Signs in with the keyboard alone: autofocus, typing, Tab and Enter. */
async function signIn(page: Page, username: string): Promise<void> {
  await page.getByRole('heading', { name: 'Kartei' }).waitFor();
  await page.getByLabel('Benutzername').focus(); // where autofocus puts it on a fresh page
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(passwords.get(username)!);
  await page.keyboard.press('Enter');
  await page.getByLabel(/Code (zur Bestätigung|aus der Authenticator-App)/).waitFor();
  const secret = page.locator('code.secret');
  const enrolling = await secret.isVisible();
  if (enrolling) secrets.set(username, (await secret.textContent())!.replace(/\s/g, ''));
  await page.keyboard.type(nextCode(username));
  await page.keyboard.press('Enter');
  if (enrolling) await keepRecoveryCodes(page);
  await page.getByRole('button', { name: 'Abmelden' }).waitFor();
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Abmelden' }).click();
  await page.getByRole('heading', { name: 'Kartei' }).waitFor();
}

test('first run: the setup link leads through office, administrator, second factor and departments', async () => {
  const token = await issueSetupToken(h.services.store, h.config.dataDir);
  // Opened without the token, which is then pasted into the address bar: the wizard takes it up.
  const { context, page, problems } = await open('/setup');
  await page.getByRole('heading', { name: 'Kartei einrichten' }).waitFor();
  await page.getByText('Dieser Link enthält keinen Einrichtungsschlüssel').waitFor();
  await page.evaluate((t) => (location.hash = `#token=${t}`), token!);
  await page.getByText('Dieser Link enthält keinen Einrichtungsschlüssel').waitFor({ state: 'detached' });
  await checkScreen(page, '01-setup-office');
  await page.getByLabel('Name des Amtes').fill('Gesundheitsamt Musterstadt');
  await page.getByRole('button', { name: 'Weiter' }).click();

  // A guessable password: the server's refusal appears next to the password field, nothing typed is lost.
  await page.getByLabel('Name', { exact: true }).fill('Ada Admin');
  await page.getByLabel('Benutzername').fill('admin');
  await page.getByLabel('Passwort', { exact: true }).fill('Passwort123!');
  await page.getByLabel('Passwort wiederholen').fill('Passwort123!');
  await page.getByRole('button', { name: 'Konto anlegen' }).click();
  const pw = page.getByLabel('Passwort', { exact: true });
  await page.locator('.field-invalid .field-error').waitFor();
  assert.equal(await pw.getAttribute('aria-invalid'), 'true');
  assert.match((await page.locator('.field-invalid').textContent())!, /Zu leicht zu erraten\./);
  assert.equal(await page.getByLabel('Benutzername').inputValue(), 'admin');
  await checkScreen(page, '02-setup-admin-weak-password');

  passwords.set('admin', strongPassword());
  await pw.fill(passwords.get('admin')!);
  await page.getByLabel('Passwort wiederholen').fill(passwords.get('admin')!);
  await page.getByText('Stark genug.').waitFor();
  await page.getByRole('button', { name: 'Konto anlegen' }).click();
  await page.getByRole('img', { name: 'QR-Code zur Einrichtung des zweiten Faktors' }).waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the used token leaves the address bar');
  await checkScreen(page, '03-setup-totp');
  await secondFactor(page, 'admin');

  await page.getByRole('checkbox', { name: 'Tuberkulosefürsorge' }).waitFor();
  for (const name of [
    'Infektionsschutz',
    'Amtsärztlicher Dienst',
    'Kinder- und Jugendgesundheitsdienst',
    'Sozialpsychiatrischer Dienst',
    'Hygiene und Umwelt',
  ]) {
    assert.equal(await page.getByRole('checkbox', { name }).isChecked(), true, name);
  }
  await checkScreen(page, '04-setup-departments');
  await page.getByRole('button', { name: 'Abteilungen anlegen' }).click();
  await page.getByRole('button', { name: 'Zur Verwaltung' }).click();
  await page.getByRole('cell', { name: 'Tuberkulosefürsorge' }).waitFor();
  await checkScreen(page, '05-admin-departments');
  assert.deepEqual(problems, []);
  await context.close();
});

test('the administrator creates staff and sees no files', async () => {
  const { context, page, problems } = await open('/');
  await checkScreen(page, '06-login');
  await signIn(page, 'admin');
  await page.getByRole('link', { name: 'Benutzer' }).click();
  const staff: [string, string, string, string][] = [
    ['Petra Physician', 'petra', 'Infektionsschutz', 'physician'],
    ['Clara Clerk', 'clara', 'Infektionsschutz', 'clerk'],
    ['Tobias Tuberkulose', 'tobias', 'Tuberkulosefürsorge', 'clerk'],
    ['Dora Datenschutz', 'dora', '', 'dpo'],
    ['Hanna Head', 'hanna', 'Infektionsschutz', 'head'],
  ];
  const links = new Map<string, string>();
  for (const [name, username, department, role] of staff) {
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Benutzername').fill(username);
    // No password field: the person chooses it with the one-time link.
    assert.equal(await page.getByLabel('Erstes Passwort').count(), 0);
    if (role === 'dpo') await page.getByRole('checkbox', { name: 'Datenschutz' }).check();
    else await page.getByLabel(department, { exact: true }).selectOption(role);
    await page.getByRole('button', { name: 'Benutzer anlegen' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `${name} wurde angelegt` })
      .waitFor();
    const link = (await page
      .getByRole('status')
      .filter({ hasText: `Einrichtungslink für ${name}` })
      .locator('code.secret')
      .textContent())!;
    assert.match(link, /\/enrol#token=/);
    links.set(username, link);
    await page.getByRole('cell', { name: username, exact: true }).waitFor();
  }
  // What waits for approval shows as such, and grants nothing yet.
  await page.getByRole('cell', { name: /Infektionsschutz: Ärztlicher Dienst \(wartet auf Freigabe\)/ }).waitFor();
  await checkScreen(page, '07-admin-users');

  // The CT scanner stand-in (DCMTK's storescu on this machine) may store into Infektionsschutz.
  await page.getByRole('link', { name: 'Geräte' }).click();
  await page.getByLabel('AE-Titel').fill('STORESCU');
  await page.getByLabel('Abteilung').selectOption({ label: 'Infektionsschutz' });
  await page.getByLabel('Loopback-Adresse (optional)').fill('127.0.0.1');
  await page.getByRole('button', { name: 'Gerät eintragen' }).click();
  await page.getByRole('cell', { name: 'STORESCU', exact: true }).waitFor();
  await checkScreen(page, '07b-admin-devices');
  assert.equal(await page.getByRole('link', { name: 'Personen' }).count(), 0, 'no person search for an administrator');
  assert.deepEqual(problems, []);
  await signOut(page);
  await context.close();

  // Each person opens their link and chooses the password.
  for (const [username, link] of links) {
    const enrol = await open(new URL(link).pathname + new URL(link).hash);
    await enrol.page.getByRole('heading', { name: 'Zugang einrichten' }).waitFor();
    if (username === 'petra') {
      // A guessable password is refused beside its field, and the link stays valid.
      await enrol.page.getByLabel('Passwort', { exact: true }).fill('Passwort123!');
      await enrol.page.getByLabel('Passwort wiederholen').fill('Passwort123!');
      await enrol.page.getByRole('button', { name: 'Passwort festlegen' }).click();
      await enrol.page.locator('.field-invalid .field-error').waitFor();
      assert.equal(await enrol.page.getByLabel('Passwort', { exact: true }).getAttribute('aria-invalid'), 'true');
      await checkScreen(enrol.page, '07c-enrol-weak-password');
    }
    passwords.set(username, strongPassword());
    await enrol.page.getByLabel('Passwort', { exact: true }).fill(passwords.get(username)!);
    await enrol.page.getByLabel('Passwort wiederholen').fill(passwords.get(username)!);
    await enrol.page.getByRole('button', { name: 'Passwort festlegen' }).click();
    await enrol.page.getByRole('status').filter({ hasText: 'Ihr Passwort ist festgelegt' }).waitFor();
    assert.equal(new URL(enrol.page.url()).hash, '', 'the used link leaves the address bar');
    assert.deepEqual(enrol.problems, []);
    await enrol.context.close();
  }
});

test("the office's first DPO approves the memberships, none of which applied before", async () => {
  const { context, page, problems } = await open('/');
  await signIn(page, 'dora');
  await page.getByRole('link', { name: 'Freigaben' }).click();
  await page.getByRole('heading', { name: 'Freigaben' }).waitFor();
  await page.getByRole('cell', { name: 'Petra Physician', exact: true }).waitFor();
  await checkScreen(page, '07d-approvals');
  // Oldest first; each decision takes the row away.
  for (const name of ['Petra Physician', 'Clara Clerk', 'Tobias Tuberkulose', 'Hanna Head']) {
    await page
      .getByRole('group', { name: `Entscheidung für ${name}` })
      .getByRole('button', { name: 'Zustimmen' })
      .click();
    await page.getByRole('cell', { name, exact: true }).waitFor({ state: 'detached' });
  }
  await page.getByText('Nichts wartet auf Ihre Freigabe.').waitFor();

  // A login with a name nobody has lands on the installation's chain, which this single office's DPO reads.
  const unknown = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'niemand-hier', password: 'Irgendein-Passwort-1' }),
  });
  assert.equal(unknown.status, 401);
  await page.getByRole('link', { name: 'Datenschutz' }).click();
  await page.getByRole('link', { name: 'Installation' }).click();
  await page.getByRole('cell', { name: 'auth.login-failed' }).first().waitFor();
  await checkScreen(page, '07e-installation-log');
  assert.deepEqual(problems, []);
  await signOut(page);
  await context.close();
});

test('a physician creates a file and records; field errors stay beside their fields; an edit keeps a version', async () => {
  const { context, page, problems } = await open('/');
  await signIn(page, 'petra');
  await page.getByRole('heading', { name: 'Personen' }).waitFor();
  await checkScreen(page, '08-person-search');
  await page.getByRole('link', { name: 'Neue Person' }).click();
  await page.getByLabel('Nachname').fill('Quastenberg');
  await page.getByLabel('Vorname').fill('Hannelore');
  await page.getByLabel('Geburtsdatum').fill('2099-01-01');
  await page.getByLabel('Straße und Hausnummer (optional)').fill('Lindenallee 12');
  await page.getByRole('button', { name: 'Akte anlegen' }).click();
  await page
    .locator('.field-invalid')
    .filter({ hasText: 'Geburtsdatum' })
    .getByText('Das Datum darf nicht in der Zukunft liegen.')
    .waitFor();
  assert.equal(await page.getByLabel('Nachname').inputValue(), 'Quastenberg');
  await checkScreen(page, '09-person-new-error');
  await page.getByLabel('Geburtsdatum').fill('1961-04-17');
  await page.getByRole('button', { name: 'Akte anlegen' }).click();
  await page.getByRole('heading', { name: 'Quastenberg, Hannelore' }).waitFor();
  personId = new URL(page.url()).pathname.split('/').pop()!;

  await page.getByRole('button', { name: 'Neuer Eintrag' }).click();
  await page.getByLabel('Art des Eintrags').selectOption('examination');
  await page.getByLabel('Anlass').fill('Umgebungsuntersuchung');
  await page.getByLabel('Befund').fill('Rundherd im rechten Oberlappen');
  await page.getByLabel('Diagnosen (ICD-10) (optional)').fill('XYZ');
  await page.getByLabel('Schutzstufe').selectOption('restricted');
  await page.getByRole('button', { name: 'Speichern' }).click();
  await page
    .locator('.field-invalid')
    .filter({ hasText: 'Diagnosen' })
    .getByText(/ICD-10-GM-Code wie A15\.0/)
    .waitFor();
  assert.equal(await page.getByLabel('Befund').inputValue(), 'Rundherd im rechten Oberlappen');
  // As clinicians type it: lower case, with the additional mark for a confirmed diagnosis.
  await page.getByLabel('Diagnosen (ICD-10) (optional)').fill('a15.0 G, j18.9');
  await page.getByRole('button', { name: 'Speichern' }).click();
  await page.getByRole('link', { name: 'Umgebungsuntersuchung' }).waitFor();
  await page.locator('.badge.restricted').waitFor();
  await checkScreen(page, '10-person-file');

  await page.getByRole('link', { name: 'Umgebungsuntersuchung' }).click();
  await page.getByText('Rundherd im rechten Oberlappen').waitFor();
  await page.getByText('A15.0 G, J18.9').waitFor();
  await page.getByRole('button', { name: 'Bearbeiten' }).click();
  await page.getByLabel('Befund').fill('Rundherd im rechten Oberlappen, Verlaufskontrolle in 3 Monaten');
  await page.getByRole('button', { name: 'Speichern' }).click();
  await page.getByText('Verlaufskontrolle in 3 Monaten').waitFor();
  await page.getByText(/— Petra Physician: Befund geändert \(Version 2\)/).waitFor();
  assert.equal(await page.locator('ul.versions > li').count(), 2, 'two versions');
  await checkScreen(page, '11-record');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a CT series stored with storescu appears in the file and scrolls, windows and pans in the viewer', async () => {
  const dir = fs.mkdtempSync(path.join(h.dir, 'ct-'));
  const study = newUid();
  const series = newUid();
  const files = Array.from({ length: 24 }, (_, i) => {
    const ct = makeInstance({
      patientName: 'Quastenberg^Hannelore',
      birthDate: '19610417',
      modality: 'CT',
      studyInstanceUid: study,
      seriesInstanceUid: series,
      instanceNumber: i + 1,
      rows: 512,
      columns: 512,
      pixels: 'gradient',
      undefinedLengthSequences: false,
    });
    const file = path.join(dir, `ct${i}.dcm`);
    fs.writeFileSync(file, ct.file);
    return file;
  });
  await promisify(execFile)(
    'storescu',
    ['-aet', 'STORESCU', '-aec', 'KARTEI', '127.0.0.1', String(dimse.port), ...files],
    { env: { ...process.env, TCP_NODELAY: '1' } },
  );

  const { context, page, problems } = await open(`/persons/${personId}`);
  await signIn(page, 'petra');
  await page.getByRole('heading', { name: 'Bilder' }).waitFor();
  await page.getByRole('region', { name: 'Bilder' }).getByRole('link').click();
  await page.getByRole('img', { name: /Bild 1 von 24/ }).waitFor();
  const stage = page.locator('.stage');
  const canvas = page.locator('.stage canvas');
  // Drawn: the canvas has the frame's size and pixels that are not all one grey.
  await page.waitForFunction(() => {
    const c = document.querySelector<HTMLCanvasElement>('.stage canvas');
    if (c?.width !== 512) return false;
    const d = c.getContext('2d')!.getImageData(0, 0, 512, 512).data;
    return d.some((v, i) => i % 4 === 0 && v !== d[0]);
  });
  await page.getByText('24 geladen').waitFor();

  await page.getByRole('button', { name: 'Lunge' }).click();
  assert.equal(await canvas.getAttribute('data-window'), '-600,1500');
  await stage.focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  assert.equal(await canvas.getAttribute('data-index'), '2');
  const box = (await stage.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 100);
  await page.getByRole('img', { name: /Bild 4 von 24/ }).waitFor();
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 50, box.y + box.height / 2 + 20, { steps: 5 });
  await page.mouse.up();
  assert.notEqual(await canvas.getAttribute('data-window'), '-600,1500', 'dragging sets the window');
  await page.getByRole('button', { name: 'Verschieben' }).click();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 40, box.y + box.height / 2, { steps: 3 });
  await page.mouse.up();
  assert.match((await canvas.evaluate((c) => (c as HTMLCanvasElement).style.transform))!, /translate\(40px, 0px\)/);
  await page.keyboard.press('End');
  await page.getByRole('img', { name: /Bild 24 von 24/ }).waitFor();
  await checkScreen(page, '11b-viewer');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a multi-frame JPEG instance: each frame is an image of the series, and the window applies to it', async () => {
  const sharp = (await import('sharp')).default;
  const levels = [30, 120, 200];
  const jpegs = await Promise.all(
    levels.map((level) =>
      sharp(Buffer.alloc(64 * 64, level), { raw: { width: 64, height: 64, channels: 1 } })
        .jpeg({ quality: 95 })
        .toBuffer(),
    ),
  );
  const clip = makeJpegInstance(jpegs, {
    patientName: 'Quastenberg^Hannelore',
    birthDate: '19610417',
    modality: 'US',
    rows: 64,
    columns: 64,
  });
  const file = path.join(fs.mkdtempSync(path.join(h.dir, 'us-')), 'clip.dcm');
  fs.writeFileSync(file, clip.file);
  await promisify(execFile)(
    'storescu',
    ['-xy', '-aet', 'STORESCU', '-aec', 'KARTEI', '127.0.0.1', String(dimse.port), file],
    { env: { ...process.env, TCP_NODELAY: '1' } },
  );

  const { context, page, problems } = await open(`/persons/${personId}`);
  await signIn(page, 'petra');
  const frameRequests: string[] = [];
  page.on(
    'request',
    (r) => void (r.url().includes('/frames/') && frameRequests.push(r.url().replace(/.*\/frames\//, ''))),
  );
  // The study of one instance (its three frames are three images).
  await page
    .getByRole('region', { name: 'Bilder' })
    .getByRole('listitem')
    .filter({ hasText: '1 Serie, 1 Bild' })
    .getByRole('link')
    .click();
  await page.getByRole('img', { name: /Bild 1 von 3/ }).waitFor();
  await page.getByText('3 geladen').waitFor();
  assert.deepEqual(
    frameRequests,
    ['1', '2,3'],
    "the shown frame first, then the instance's other frames in one request",
  );
  const centre = () =>
    page.evaluate(
      () =>
        document.querySelector<HTMLCanvasElement>('.stage canvas')!.getContext('2d')!.getImageData(32, 32, 1, 1)
          .data[0],
    );
  await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>('.stage canvas')?.width === 64);
  assert.equal(await centre(), 0, "stored 30 is -994 HU: black in the instance's soft-tissue window");
  // In the lung window (-600/1500) stored 30 (-994 HU) is grey 60, stored 200 (-824 HU) grey 90.
  const near = (grey: number) =>
    page.waitForFunction(
      (g) =>
        Math.abs(
          document.querySelector<HTMLCanvasElement>('.stage canvas')!.getContext('2d')!.getImageData(32, 32, 1, 1)
            .data[0]! - g,
        ) <= 4,
      grey,
      { timeout: 5_000 },
    );
  await page.getByRole('button', { name: 'Lunge' }).click();
  await near(60);
  await page.locator('.stage').focus();
  await page.keyboard.press('End');
  await page.getByRole('img', { name: /Bild 3 von 3/ }).waitFor();
  await near(90);
  assert.deepEqual(problems, []);
  await context.close();
});

test('RLE and JPEG Lossless instances are drawn like their uncompressed twin', async () => {
  const shape = {
    patientName: 'Quastenberg^Hannelore',
    birthDate: '19610417',
    modality: 'DX',
    rows: 48,
    columns: 40,
    pixels: 'gradient' as const,
  };
  const dir = fs.mkdtempSync(path.join(h.dir, 'dx-'));
  const run = promisify(execFile);
  const store = (options: string[], f: string) =>
    run('storescu', [...options, '-aet', 'STORESCU', '-aec', 'KARTEI', '127.0.0.1', String(dimse.port), f], {
      env: { ...process.env, TCP_NODELAY: '1' },
    });
  /** An instance of the gradient, compressed by a DCMTK tool (if any) and stored proposing its transfer syntax. */
  const stored = async (description: string, tool: string[], propose: string[]) => {
    const file = path.join(dir, `${description}.dcm`);
    fs.writeFileSync(file, makeInstance({ ...shape, studyDescription: description }).file);
    if (tool.length) await run(tool[0]!, [...tool.slice(1), file, `${file}.c`]);
    await store(propose, tool.length ? `${file}.c` : file);
  };
  await stored('Hand unkomprimiert', [], []);
  await stored('Hand RLE', ['dcmcrle'], ['-xr']);
  await stored('Hand JPEG verlustfrei', ['dcmcjpeg', '+e1'], ['-xs']);

  const { context, page, problems } = await open(`/persons/${personId}`);
  await signIn(page, 'petra');
  const drawn = async (description: string) => {
    await page.goto(`${base}/persons/${personId}`);
    await page
      .getByRole('region', { name: 'Bilder' })
      .getByRole('listitem')
      .filter({ hasText: description })
      .getByRole('link')
      .click();
    await page.getByRole('img', { name: /Bild 1 von 1/ }).waitFor();
    await page.waitForFunction(() => document.querySelector<HTMLCanvasElement>('.stage canvas')?.width === 40);
    return page.evaluate(() => [
      ...document.querySelector<HTMLCanvasElement>('.stage canvas')!.getContext('2d')!.getImageData(0, 0, 40, 48).data,
    ]);
  };
  const fromPlain = await drawn('Hand unkomprimiert');
  assert.ok(new Set(fromPlain).size > 10, 'a gradient, not a flat picture');
  for (const description of ['Hand RLE', 'Hand JPEG verlustfrei']) {
    assert.deepEqual(await drawn(description), fromPlain, `${description}: decoded in the browser to the same picture`);
    assert.equal(await page.getByRole('alert').count(), 0);
  }
  assert.deepEqual(problems, []);
  await context.close();
});

test('an ended session asks to sign in again and then saves what was typed', async () => {
  const { context, page, problems } = await open(`/persons/${personId}`);
  await signIn(page, 'petra');
  await page.getByRole('heading', { name: 'Quastenberg, Hannelore' }).waitFor();
  await page.getByRole('button', { name: 'Neuer Eintrag' }).click();
  await page.getByLabel('Text').fill('Telefonat mit der Hausärztin, Befund besprochen');
  await context.clearCookies(); // the session is gone, as after the idle timeout
  await page.getByRole('button', { name: 'Speichern' }).click();
  const dialog = page.getByRole('dialog', { name: 'Bitte erneut anmelden' });
  await dialog.waitFor();
  await checkScreen(page, '12-relogin');
  await dialog.getByLabel('Passwort').fill(passwords.get('petra')!);
  await dialog.getByRole('button', { name: 'Weiter' }).click();
  await dialog.getByLabel('Code aus der Authenticator-App').fill(nextCode('petra'));
  await dialog.getByRole('button', { name: 'Anmelden' }).click();
  await page.getByRole('link', { name: 'Telefonat mit der Hausärztin, Befund besprochen' }).waitFor();
  assert.equal(await dialog.count(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a clerk of the department finds the file phonetically and sees the restricted record marked, not opened', async () => {
  const { context, page, problems } = await open('/');
  await signIn(page, 'clara');
  await page.getByLabel('Name, Vorname oder Geburtsdatum').fill('Quastenburg');
  await page.getByRole('button', { name: 'Suchen' }).click();
  await page.getByRole('link', { name: 'Quastenberg, Hannelore' }).click();
  const records = page.getByRole('list', { name: 'Einträge, neueste zuerst' }).getByRole('listitem');
  const exam = records.filter({ hasText: 'Untersuchung' });
  await exam.getByText('Vertraulich: nur für ärztliches Personal').waitFor();
  assert.equal(await exam.getByRole('link').count(), 0, 'no link to restricted content for a clerk');
  assert.equal(await page.getByText('Umgebungsuntersuchung').count(), 0, 'nor its title');
  assert.equal(await records.filter({ hasText: 'Notiz' }).getByRole('link').count(), 1);
  assert.equal(
    await page.getByRole('button', { name: 'Personendaten bearbeiten' }).count(),
    1,
    'the owning department edits',
  );
  await checkScreen(page, '13-clerk-file');
  // A clerk may write records, but not restricted ones: the form does not offer it.
  await page.getByRole('button', { name: 'Neuer Eintrag' }).click();
  assert.deepEqual(await page.getByLabel('Schutzstufe').locator('option').allTextContents(), ['normal']);
  await page.getByRole('button', { name: 'Abbrechen' }).click();
  assert.deepEqual(problems, []);
  await context.close();
});

test('a clerk of another department finds nothing, and the file by its address is "not found"', async () => {
  const { context, page, problems } = await open('/');
  await signIn(page, 'tobias');
  await page.getByLabel('Name, Vorname oder Geburtsdatum').fill('Quastenberg');
  await page.getByRole('button', { name: 'Suchen' }).click();
  await page.getByText('Keine Akte gefunden.').waitFor();
  await page.goto(`${base}/persons/${personId}`);
  await page.getByText('Nicht gefunden – oder Sie haben keinen Zugriff darauf.').waitFor();
  assert.equal(await page.getByText('Hannelore').count(), 0);
  await checkScreen(page, '14-other-department');
  assert.deepEqual(problems, []);
  await context.close();
});

test("a second tab shares the session without signing in again; signing out in one ends the other's view", async () => {
  const { context, page, problems } = await open('/');
  await signIn(page, 'clara');
  const second = await context.newPage();
  const secondProblems = watchPage(second);
  await second.goto(`${base}/persons/${personId}`);
  await second.getByRole('heading', { name: 'Quastenberg, Hannelore' }).waitFor();
  // It may change things too: its requests carry the session's CSRF token.
  await second.getByRole('button', { name: 'Personendaten bearbeiten' }).click();
  await second.getByRole('button', { name: 'Speichern' }).click();
  await second.getByRole('button', { name: 'Personendaten bearbeiten' }).waitFor();
  await signOut(page);
  await second.getByRole('heading', { name: 'Kartei' }).waitFor();
  assert.equal(await second.getByText('Quastenberg').count(), 0, 'the file is gone from the other tab');
  assert.deepEqual([...problems, ...secondProblems], []);
  await context.close();
});

test('work in one tab keeps another from warning that the session ends', async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  await context.clock.install();
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(`${base}/`);
  await signIn(page, 'clara');
  const other = await context.newPage();
  const otherProblems = watchPage(other);
  await other.goto(`${base}/persons/${personId}`);
  await other.getByRole('heading', { name: 'Quastenberg, Hannelore' }).waitFor();
  await quiet(other);
  await context.clock.fastForward('20:00');
  // Twenty minutes on, the file is opened again in the other tab: the session is in use.
  await other.reload();
  await other.getByRole('heading', { name: 'Quastenberg, Hannelore' }).waitFor();
  // The file's parts (tasks, documents) are still loading when its heading shows; one answered after the next
  // jump would be work six minutes later (so it failed in CI: 2 runs in 24 under load). Jump when the tab is quiet.
  await quiet(other);
  // A jump fires the screen's 10-second check at most once, and maybe with the time it was due; running the
  // clock on for 11 s after each jump makes the check look at the new time (else the first assertion could
  // pass before the check ran at all, and the warning wait for a check that comes late under load).
  await context.clock.fastForward('06:00');
  await context.clock.runFor(11_000);
  const warning = page.getByRole('dialog', { name: 'Sitzung läuft bald ab' });
  await page.waitForTimeout(300);
  assert.equal(await warning.count(), 0, 'twenty-six minutes without a request in this tab, six in the session');
  await context.clock.fastForward('20:00');
  await context.clock.runFor(11_000);
  await warning.waitFor();
  assert.deepEqual([...problems, ...otherProblems], []);
  await context.close();
});

test('an administrator opening a file by its address sees nothing of it', async () => {
  const { context, page, problems } = await open(`/persons/${personId}`);
  await signIn(page, 'admin');
  await page.getByText('Nicht gefunden – oder Sie haben keinen Zugriff darauf.').waitFor();
  assert.equal(await page.getByText('Quastenberg').count(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test('idle: a warning five minutes before the server ends the session; English on request', async () => {
  const context = await browser.newContext({ locale: 'de-DE' });
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.clock.install();
  await page.goto(`${base}/`);
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByLabel('Username').waitFor();
  await page.getByRole('button', { name: 'Deutsch' }).click();
  await signIn(page, 'clara');
  await quiet(page);
  await page.clock.fastForward('25:30');
  const dialog = page.getByRole('dialog', { name: 'Sitzung läuft bald ab' });
  await dialog.waitFor();
  await checkScreen(page, '15-idle-warning');
  await dialog.getByRole('button', { name: 'Angemeldet bleiben' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.deepEqual(problems, []);
  await context.close();
});

test('a clerk of another department breaks the glass from the search, with a reason, and sees the time left', async () => {
  const { context, page, problems } = await open('/');
  await signIn(page, 'tobias');
  await page.getByLabel('Name, Vorname oder Geburtsdatum').fill('Quastenberg');
  await page.getByRole('button', { name: 'Suchen' }).click();
  await page.getByText('Keine Akte gefunden.').waitFor();
  await page.getByRole('button', { name: /Notfallzugriff/ }).click();
  const search = page.getByRole('button', { name: '„Quastenberg“ in allen Abteilungen suchen' });
  assert.equal(
    await page.getByLabel('Familienname').inputValue(),
    'Quastenberg',
    'the family name is taken from the search',
  );
  await page.getByLabel('Begründung').fill('Patientin bewusstlos in der Notaufnahme, Vorbefunde nötig');
  assert.equal(await search.isDisabled(), true, 'no search without the full birth date');
  await page.getByLabel('Geburtsdatum', { exact: true }).fill('1961-04-17');
  await page.getByLabel('Begründung').fill('zu kurz');
  assert.equal(await search.isDisabled(), true, 'no search without a reason of 20 characters');
  await page.getByLabel('Begründung').fill('aaaaaaaaaaaaaaaaaaaa');
  await page.getByText('Bitte in Worten begründen').waitFor();
  assert.equal(await search.isDisabled(), true, 'twenty times the same letter is no reason');
  await page.getByLabel('Begründung').fill('Patientin bewusstlos in der Notaufnahme, Vorbefunde nötig');
  await search.click();
  await page.getByText('Treffer: 1. Noch 4 Notfallsuchen in dieser Stunde.').waitFor();
  // The answer tells the hit apart, and nothing more: no department, no full name or birth date.
  const panel = (await page.locator('section.emergency').textContent())!;
  for (const secret of ['Infektionsschutz', 'Hannelore', '17.04.1961'])
    assert.ok(!panel.includes(secret), `the emergency search shows ${secret}`);
  await checkScreen(page, '16a-emergency-search');
  await page
    .getByRole('button', { name: 'Treffer 1: Vorname H…, Nachname wie eingegeben – im Notfall öffnen' })
    .click();
  await page.getByRole('heading', { name: 'Quastenberg, Hannelore' }).waitFor();
  await page.getByText(/Notfallzugriff: noch etwa (59|60) Minuten\. Dieser Zugriff wird geprüft\./).waitFor();
  await checkScreen(page, '16b-emergency-file');
  // A broken glass reads: nothing offers a change the server would refuse.
  assert.equal(await page.getByRole('button', { name: 'Personendaten bearbeiten' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Neuer Eintrag' }).count(), 0);
  await page
    .getByRole('list', { name: 'Einträge, neueste zuerst' })
    .getByRole('listitem')
    .filter({ hasText: 'Notiz' })
    .getByRole('link')
    .first()
    .click();
  await page.getByRole('heading', { level: 1, name: /^Notiz · / }).waitFor();
  await page.getByRole('heading', { name: 'Versionen' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Bearbeiten' }).count(), 0);
  assert.deepEqual(problems, []);
  await context.close();
});

test("the DPO finds every access in the log, decides an emergency access with a comment, and prints a file's access report", async () => {
  const { context, page, problems } = await open('/');
  await signIn(page, 'dora');
  await page.getByRole('button', { name: 'Kette jetzt prüfen' }).click();
  await page.getByText(/Die Kette ist unversehrt: geprüft bis Nr\. \d+/).waitFor();
  await page.getByRole('heading', { name: 'Datenschutz' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Personen' }).count(), 0);
  await page.getByLabel('Aktion').fill('record.read');
  await page.getByRole('button', { name: 'Anzeigen' }).click();
  await page.getByRole('cell', { name: 'Petra Physician' }).first().waitFor();
  assert.equal((await page.getByRole('cell', { name: 'record.read' }).count()) > 0, true);
  await checkScreen(page, '17-dpo-audit-log');

  await page.getByRole('link', { name: 'Notfallzugriffe prüfen' }).click();
  // The search that found the file waits for review as well as the opening.
  const searched = page.getByRole('form', { name: 'Notfallsuche von Tobias Tuberkulose' });
  await searched.getByRole('link', { name: 'Akte 1' }).waitFor();
  const review = page.getByRole('form', { name: 'Notfallzugriff von Tobias Tuberkulose' });
  await review.getByText('Patientin bewusstlos in der Notaufnahme').waitFor();
  await checkScreen(page, '17b-dpo-reviews');
  // A running grant can be ended at once; the review stays.
  await review.getByRole('button', { name: 'Zugriff sofort beenden' }).click();
  await page
    .getByRole('alertdialog', { name: 'Notfallzugriff von Tobias Tuberkulose sofort beenden?' })
    .getByRole('button', { name: 'Zugriff sofort beenden' })
    .click();
  await review.getByText(/Vorzeitig beendet am/).waitFor();
  assert.equal(await review.getByRole('button', { name: 'Zugriff sofort beenden' }).count(), 0);
  await review.getByLabel('Kommentar').fill('Keine Behandlung durch die TB-Fürsorge; Rücksprache mit der Leitung');
  await review.getByRole('button', { name: 'Nicht gerechtfertigt' }).click();
  await searched.getByLabel('Kommentar').fill('Suche im Zusammenhang mit dem Zugriff oben');
  await searched.getByRole('button', { name: 'Nicht gerechtfertigt' }).click();
  await page.getByText('Keine offenen Notfallzugriffe.').waitFor();

  await page.goto(`${base}/audit/persons/${personId}`);
  // The file's access report in words (issue 14): no action codes.
  await page.getByRole('heading', { name: /^Auskunft nach Art\. 15 DSGVO über Zugriffe auf die Daten von/ }).waitFor();
  const letter = page.locator('article.letter');
  for (const words of [
    'hat die Akte angelegt',
    /hat (einen Eintrag|\d+ Einträge) angelegt/,
    /hat (einen Eintrag|\d+ Einträge) geändert/,
    'hat die Akte in einer Notfallsuche gefunden',
    'hat einen Notfallzugriff auf die Akte geöffnet',
    'hat einen Notfallzugriff beendet',
    'hat einen Notfallzugriff geprüft',
  ]) {
    await letter.getByText(words).first().waitFor();
  }
  await letter
    .getByText(/^Tobias Tuberkulose \(/)
    .first()
    .waitFor();
  await letter
    .getByText(/im Notfallzugriff, Begründung: „Patientin bewusstlos in der Notaufnahme/)
    .first()
    .waitFor();
  assert.doesNotMatch(await letter.innerText(), /\b(person|record)\.[a-z-]+\b/);
  await page.getByRole('button', { name: 'Drucken' }).waitFor();
  await checkScreen(page, '18-dpo-access-report');

  await page.goto(`${base}/audit/overview`);
  await page.getByRole('heading', { name: /Zugriffe auf Akten je Tag und Abteilung/ }).waitFor();
  const chart = page.getByRole('img', { name: /^\d+ Zugriffe in 30 Tagen/ });
  await chart.waitFor();
  assert.ok(Number((await chart.getAttribute('aria-label'))!.split(' ')[0]) > 10);
  await page.locator('.legend').getByText('Infektionsschutz').waitFor();
  assert.ok((await page.locator('svg.chart rect').count()) >= 1);
  await checkScreen(page, '18b-dpo-chart');

  await page.getByRole('link', { name: 'Sicherheit' }).click();
  await page.getByRole('heading', { name: 'Sicherheitsbericht' }).waitFor();
  await page.locator('ol.findings li').first().waitFor();
  await checkScreen(page, '19-security-report');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a head shares the file with another department for a purpose and a period; a user keeps a personal API token', async () => {
  const { context, page, problems } = await open(`/persons/${personId}`);
  await signIn(page, 'hanna');
  await page.getByRole('button', { name: 'Akte freigeben …' }).click();
  await page.getByLabel('Abteilung', { exact: true }).selectOption({ label: 'Tuberkulosefürsorge' });
  await page.getByLabel('Zweck').fill('Umgebungsuntersuchung');
  await page.getByRole('button', { name: 'Freigeben', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'Freigegeben für Tuberkulosefürsorge' }).waitFor();
  await page.getByText(/Tuberkulosefürsorge: Umgebungsuntersuchung \(bis /).waitFor();
  await checkScreen(page, '20-share');
  await page.getByRole('button', { name: 'Freigabe für Tuberkulosefürsorge beenden' }).click();
  await page
    .getByRole('alertdialog', { name: 'Freigabe für Tuberkulosefürsorge beenden?' })
    .getByRole('button', { name: 'Freigabe beenden' })
    .click();
  await page.getByRole('heading', { name: 'Freigaben dieser Akte' }).waitFor({ state: 'detached' });

  // The head's link "Zugriffe" opens a page called so.
  await page.getByRole('link', { name: 'Zugriffe', exact: true }).click();
  await page.getByRole('heading', { name: 'Zugriffe', level: 1 }).waitFor();

  await page.getByRole('link', { name: 'Mein Konto' }).click();
  // Signed in without "Angemeldet bleiben": the cookie ends with the browser.
  const cookie = (await context.cookies()).find((c) => c.name === 'kartei_session');
  assert.equal(cookie?.expires, -1);
  // This session is listed and marked.
  await page.getByRole('cell', { name: /\(diese Sitzung\)/ }).waitFor();
  await page
    .getByRole('button', { name: /^Sitzung seit .* beenden$/ })
    .first()
    .waitFor();
  await page.getByLabel('Bezeichnung').fill('Befundarbeitsplatz');
  // The administration scope asks for a code of the second factor.
  const adminScope = page.getByLabel('Verwaltung: Abteilungen, Konten, DICOM-Geräte (admin)');
  await adminScope.check();
  await page.getByLabel('Code aus der Authenticator-App (für das Verwaltungs-Token)').waitFor();
  await adminScope.uncheck();
  await page.getByLabel('Bilder abrufen über DICOMweb (dicomweb:read)').check();
  await page.getByRole('button', { name: 'Token erzeugen' }).click();
  const token = (await page.locator('[role=status] code.secret').textContent())!;
  assert.match(token, /^kt_/);
  await page.getByRole('cell', { name: 'Befundarbeitsplatz', exact: true }).waitFor();
  await checkScreen(page, '21-api-tokens');
  const res = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  await page.getByRole('button', { name: '„Befundarbeitsplatz“ widerrufen' }).click();
  await page
    .getByRole('alertdialog', { name: 'Token „Befundarbeitsplatz“ widerrufen?' })
    .getByRole('button', { name: 'Widerrufen' })
    .click();
  await page.getByText('Keine Tokens.').waitFor();
  assert.equal((await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
  assert.deepEqual(problems, []);
  await context.close();
});
