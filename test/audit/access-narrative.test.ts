// The access report's narrative, as a pure function: the visit window of folding,
// counts of distinct entries and of images, the ground an access was made on, and
// the sentences in German and English.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  actOf,
  NO_FILE_ACTIONS,
  narrate,
  VISIT_MS,
  type NarrativeEvent,
  type NarrativeFacts,
} from '../../src/audit/access-narrative.ts';
import { FILE_RULES, OTHER_ACTIONS } from '../../src/access/policy.ts';
import { describeLine, lookupIn, NARRATIVE_DE, NARRATIVE_EN } from '../../src/audit/narrative-text.ts';

const T0 = Date.parse('2026-12-04T09:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const ev = (ms: number, action: string, more: Partial<NarrativeEvent> = {}): NarrativeEvent => ({
  at: at(ms),
  actorId: 'anna',
  action,
  outcome: 'allowed',
  personId: 'p1',
  resourceId: null,
  detail: null,
  ...more,
});
const names: Record<string, string> = {
  inf: 'Infektionsschutz',
  tb: 'Tuberkulosefürsorge',
  spdi: 'Sozialpsychiatrischer Dienst',
};
const facts = (over: Partial<NarrativeFacts> = {}): NarrativeFacts => ({
  fileDepartment: new Map([['p1', 'inf']]),
  departmentName: (id) => (id && names[id]) || '—',
  actors: new Map([
    [
      'anna',
      { kind: 'user', name: 'Anna Acker', tenantRoles: [], memberships: [{ departmentId: 'inf', role: 'clerk' }] },
    ],
    [
      'tilo',
      { kind: 'user', name: 'Tilo Teich', tenantRoles: [], memberships: [{ departmentId: 'tb', role: 'physician' }] },
    ],
    ['ct', { kind: 'device', name: 'CT_TB', departmentId: 'tb' }],
  ]),
  shares: [],
  grants: [],
  searches: [],
  ...over,
});

test('repeated reads of one visit are one line; a read after the visit window starts a new one', () => {
  const min = 60_000;
  const { lines } = narrate(
    [
      ev(0, 'person.read'),
      ev(1_000, 'record.list'),
      ev(2_000, 'record.read', { resourceId: 'r1' }),
      ev(3_000, 'record.read', { resourceId: 'r2' }),
      ev(20 * min, 'record.read', { resourceId: 'r1' }),
      ev(20 * min + 1_000, 'record.read', { resourceId: 'r3' }),
      // 20 minutes after the last read: still the same visit (the window runs from the last event).
      ev(40 * min, 'record.read', { resourceId: 'r4' }),
      ev(40 * min + VISIT_MS + 1, 'record.read', { resourceId: 'r1' }),
    ],
    facts(),
  );
  assert.deepEqual(
    lines.map((l) => [l.act, l.count, l.at, l.until]),
    [
      ['file.opened', 1, at(0), at(1_000)],
      ['records.read', 4, at(2_000), at(40 * min)],
      ['records.read', 1, at(40 * min + VISIT_MS + 1), at(40 * min + VISIT_MS + 1)],
    ],
  );
});

test('images are counted as images (metadata is none); a denied attempt is its own line without a ground; failed work is left out', () => {
  const { lines, leftOut } = narrate(
    [
      ev(0, 'study.read', { detail: { what: 'metadata', instances: 1 } }),
      ...Array.from({ length: 9 }, (_, i) => ev(1_000 + i, 'study.read', { detail: { what: 'frames', instances: 1 } })),
      ev(2_000, 'person.read', { outcome: 'denied', actorId: 'tilo' }),
      ev(3_000, 'person.update', { outcome: 'error' }),
      ev(4_000, 'study.read', { actorId: 'tilo', detail: { what: 'metadata', instances: 1 } }),
    ],
    facts(),
  );
  assert.equal(leftOut, 1);
  assert.deepEqual(
    lines.map((l) => [l.actor.name, l.act, l.count, l.outcome, l.ground?.kind ?? null]),
    [
      ['Anna Acker', 'images.viewed', 9, 'allowed', 'department'],
      ['Tilo Teich', 'file.opened', 1, 'denied', null],
      ['Tilo Teich', 'images.metadata', 0, 'allowed', 'unknown'],
    ],
  );
  const de = lookupIn(NARRATIVE_DE);
  assert.equal(describeLine(lines[0]!, de).what, 'hat 9 Bilder angesehen');
  assert.equal(describeLine(lines[1]!, de).what, 'wollte die Akte öffnen – abgewiesen');
  assert.equal(describeLine(lines[1]!, de).ground, 'Zugriff verweigert');
});

test('the ground: own department, a share live at the time with its purpose, an emergency grant with its reason, the DPO; each its own line', () => {
  const share = {
    id: 's1',
    personId: 'p1',
    toDepartmentId: 'tb',
    purpose: 'Umgebungsuntersuchung',
    from: at(10_000),
    until: at(20_000),
    revokedAt: null,
  };
  const grant = {
    id: 'g1',
    personId: 'p1',
    userId: 'tilo',
    reason: 'Notaufnahme, bewusstlos',
    from: at(30_000),
    until: at(40_000),
  };
  const dora = { kind: 'user' as const, name: 'Dora Datenschutz', tenantRoles: ['dpo'], memberships: [] };
  const f = facts({ shares: [share], grants: [grant], actors: new Map([...facts().actors, ['dora', dora]]) });
  const { lines } = narrate(
    [
      ev(0, 'person.read'),
      ev(5_000, 'person.read', { actorId: 'tilo' }), // before the share: no ground on record
      ev(15_000, 'person.read', { actorId: 'tilo' }),
      ev(30_000, 'person.break-glass', { actorId: 'tilo' }),
      ev(31_000, 'person.read', { actorId: 'tilo' }),
      ev(50_000, 'person.access-log', { actorId: 'dora' }),
      ev(60_000, 'dicom.store', { actorId: 'ct' }),
    ],
    f,
  );
  assert.deepEqual(
    lines.map((l) => [l.actor.name, l.act, l.ground]),
    [
      ['Anna Acker', 'file.opened', { kind: 'department', department: 'Infektionsschutz' }],
      ['Tilo Teich', 'file.opened', { kind: 'unknown' }],
      [
        'Tilo Teich',
        'file.opened',
        { kind: 'share', department: 'Tuberkulosefürsorge', text: 'Umgebungsuntersuchung' },
      ],
      ['Tilo Teich', 'emergency.opened', { kind: 'emergency', text: 'Notaufnahme, bewusstlos' }],
      ['Tilo Teich', 'file.opened', { kind: 'emergency', text: 'Notaufnahme, bewusstlos' }],
      ['Dora Datenschutz', 'report.viewed', { kind: 'dpo' }],
      ['CT_TB', 'images.stored', { kind: 'device', department: 'Tuberkulosefürsorge' }],
    ],
  );
  const de = lookupIn(NARRATIVE_DE);
  const en = lookupIn(NARRATIVE_EN);
  assert.deepEqual(describeLine(lines[2]!, de), {
    who: 'Tilo Teich (Ärztlicher Dienst, Tuberkulosefürsorge)',
    what: 'hat die Akte geöffnet',
    ground: 'über eine Freigabe für die Abteilung Tuberkulosefürsorge, Zweck: „Umgebungsuntersuchung“',
    file: 'Akte der Abteilung Infektionsschutz',
  });
  assert.equal(describeLine(lines[5]!, de).who, 'Dora Datenschutz (Datenschutzbeauftragte/r)');
  assert.equal(describeLine(lines[6]!, de).who, 'Gerät CT_TB (Tuberkulosefürsorge)');
  assert.equal(describeLine(lines[4]!, en).ground, 'by emergency access, reason: “Notaufnahme, bewusstlos”');
});

test('every act has German and English words, done and refused', () => {
  for (const key of Object.keys(NARRATIVE_DE)) assert.ok(NARRATIVE_EN[key as keyof typeof NARRATIVE_EN], key);
  const acts = Object.keys(NARRATIVE_DE)
    .filter((k) => k.endsWith('.denied') && !k.startsWith('narr.ground.'))
    .map((k) => k.slice('narr.'.length, -'.denied'.length));
  for (const act of acts) assert.ok((NARRATIVE_DE as Record<string, string>)[`narr.${act}`], act);
  assert.ok(acts.length >= 25);
});

// Issue 17: walk — the desk's actions in the report's words
test('every desk action (task, document, letter, mail-room, import) that can name a file has its own words, German and English', () => {
  const desk = [...Object.keys(FILE_RULES), ...OTHER_ACTIONS].filter((a) =>
    /^(task|document|letter|mailroom|import)\./.test(a),
  );
  assert.ok(desk.length >= 20, `${desk.length}`);
  const de = NARRATIVE_DE as Record<string, string>;
  const en = NARRATIVE_EN as Record<string, string>;
  for (const action of desk) {
    if (NO_FILE_ACTIONS.has(action)) continue;
    const act = actOf(action);
    assert.notEqual(act, 'file.other', `${action} has no words of its own`);
    for (const key of [`narr.${act}`, `narr.${act}.denied`]) {
      assert.ok(de[key], `${action}: ${key} (de)`);
      assert.ok(en[key], `${action}: ${key} (en)`);
    }
  }
  for (const action of NO_FILE_ACTIONS) assert.ok(desk.includes(action), `${action} is no desk action`);
});

test('a day at the desk in the report: tasks, a letter, a scan assigned, documents opened (by the document), an import', () => {
  const { lines } = narrate(
    [
      ev(0, 'import.run'),
      ev(60_000, 'task.worklist'),
      ev(120_000, 'task.list'),
      ev(180_000, 'letter.generate', { resourceId: 'p1' }),
      ev(181_000, 'document.add', { resourceId: 'p1' }),
      ev(240_000, 'mailroom.assign', { resourceId: 'm1' }),
      ev(241_000, 'document.add', { resourceId: 'p1' }),
      ev(300_000, 'document.read', { resourceId: 'd1' }),
      ev(301_000, 'document.read', { resourceId: 'd1' }),
      ev(302_000, 'document.read', { resourceId: 'd2' }),
      ev(360_000, 'task.update'),
      ev(420_000, 'document.delete', { outcome: 'denied', resourceId: 'd2' }),
    ],
    facts(),
  );
  const de = lookupIn(NARRATIVE_DE);
  const en = lookupIn(NARRATIVE_EN);
  assert.deepEqual(
    lines.map((l) => describeLine(l, de).what),
    [
      'hat Angaben aus einer Importliste in die Akte übernommen',
      'hat Aufgaben zur Akte in einer Arbeitsliste angezeigt bekommen',
      'hat die Aufgaben der Akte angesehen',
      'hat ein Schreiben aus der Akte erstellt',
      'hat 2 Dokumente zur Akte hinzugefügt',
      'hat ein eingegangenes Schriftstück der Akte zugeordnet',
      'hat 2 Dokumente geöffnet',
      'hat eine Aufgabe zur Akte geändert (auch erledigt oder abgebrochen)',
      'wollte ein Dokument löschen – abgewiesen',
    ],
  );
  assert.equal(describeLine(lines[6]!, en).what, 'opened 2 documents');
  assert.equal(
    describeLine(lines[0]!, de).ground,
    'als Mitarbeitende der Abteilung Infektionsschutz, die die Akte führt',
  );
});
