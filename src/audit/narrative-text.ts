// The words of an access report, German and English, and how a line becomes a
// sentence. Free of Node code: the web application spreads these messages into
// its dictionaries (web/src/i18n) and words lines on screen with `describeLine`,
// and the server's PDF (access-report-pdf.ts) words the same lines the same way.
import type { AccessLine } from '../contract/audit.ts';

export const NARRATIVE_DE = {
  'narr.file.opened': 'hat die Akte {n}-mal geöffnet',
  'narr.file.opened.one': 'hat die Akte geöffnet',
  'narr.file.opened.denied': 'wollte die Akte öffnen – abgewiesen',
  'narr.file.created': 'hat die Akte angelegt',
  'narr.file.created.denied': 'wollte die Akte anlegen – abgewiesen',
  'narr.file.updated': 'hat die Personendaten {n}-mal geändert',
  'narr.file.updated.one': 'hat die Personendaten geändert',
  'narr.file.updated.denied': 'wollte die Personendaten ändern – abgewiesen',
  'narr.file.found': 'hat die Akte {n}-mal in einer Suche angezeigt bekommen',
  'narr.file.found.one': 'hat die Akte in einer Suche angezeigt bekommen',
  'narr.file.found.denied': 'wollte suchen – abgewiesen',
  'narr.file.found-emergency': 'hat die Akte in einer Notfallsuche gefunden',
  'narr.file.found-emergency.denied': 'wollte eine Notfallsuche durchführen – abgewiesen',
  'narr.file.found-dpo': 'hat die Akte für eine Auskunft gesucht und gefunden',
  'narr.file.found-dpo.denied': 'wollte die Akte für eine Auskunft suchen – abgewiesen',
  'narr.file.shared': 'hat die Akte für eine andere Abteilung freigegeben',
  'narr.file.shared.denied': 'wollte die Akte freigeben – abgewiesen',
  // Issue 16: person merge
  'narr.file.merged': 'hat eine andere Akte mit dieser zusammengeführt (oder diese mit einer anderen)',
  'narr.file.merged.denied': 'wollte Akten zusammenführen – abgewiesen',
  'narr.file.merge-confirmed': 'hat die Zusammenführung der Akte bestätigt',
  'narr.file.merge-confirmed.denied': 'wollte die Zusammenführung der Akte bestätigen – abgewiesen',
  'narr.file.merge-undone': 'hat die Zusammenführung der Akte rückgängig gemacht',
  'narr.file.merge-undone.denied': 'wollte die Zusammenführung der Akte rückgängig machen – abgewiesen',
  'narr.file.other': 'hat {n}-mal auf die Akte zugegriffen',
  'narr.file.other.one': 'hat auf die Akte zugegriffen',
  'narr.file.other.denied': 'wollte auf die Akte zugreifen – abgewiesen',
  'narr.records.read': 'hat {n} Einträge gelesen',
  'narr.records.read.one': 'hat einen Eintrag gelesen',
  'narr.records.read.denied': 'wollte Einträge lesen – abgewiesen',
  'narr.records.versions': 'hat frühere Fassungen von {n} Einträgen angesehen',
  'narr.records.versions.one': 'hat frühere Fassungen eines Eintrags angesehen',
  'narr.records.versions.denied': 'wollte frühere Fassungen ansehen – abgewiesen',
  'narr.records.created': 'hat {n} Einträge angelegt',
  'narr.records.created.one': 'hat einen Eintrag angelegt',
  'narr.records.created.denied': 'wollte einen Eintrag anlegen – abgewiesen',
  'narr.records.updated': 'hat {n} Einträge geändert',
  'narr.records.updated.one': 'hat einen Eintrag geändert',
  'narr.records.updated.denied': 'wollte einen Eintrag ändern – abgewiesen',
  'narr.records.deleted': 'hat {n} Einträge gelöscht',
  'narr.records.deleted.one': 'hat einen Eintrag gelöscht',
  'narr.records.deleted.denied': 'wollte einen Eintrag löschen – abgewiesen',
  'narr.images.viewed': 'hat {n} Bilder angesehen',
  'narr.images.viewed.one': 'hat ein Bild angesehen',
  'narr.images.viewed.denied': 'wollte Bilder ansehen – abgewiesen',
  'narr.images.metadata': 'hat die Angaben zu Bildern angesehen',
  'narr.images.metadata.denied': 'wollte Angaben zu Bildern ansehen – abgewiesen',
  'narr.images.found': 'hat Bilder der Akte {n}-mal in einer Suche angezeigt bekommen',
  'narr.images.found.one': 'hat Bilder der Akte in einer Suche angezeigt bekommen',
  'narr.images.found.denied': 'wollte Bilder suchen – abgewiesen',
  'narr.images.stored': 'hat {n} Bilder gespeichert',
  'narr.images.stored.one': 'hat ein Bild gespeichert',
  'narr.images.stored.denied': 'wollte Bilder speichern – abgewiesen',
  'narr.images.sent': 'hat Bilder der Akte {n}-mal abgerufen',
  'narr.images.sent.one': 'hat Bilder der Akte abgerufen',
  'narr.images.sent.denied': 'wollte Bilder abrufen – abgewiesen',
  'narr.images.linked': 'hat Bilder der Akte zugeordnet',
  'narr.images.linked.denied': 'wollte Bilder der Akte zuordnen – abgewiesen',
  'narr.shares.viewed': 'hat die Freigaben der Akte angesehen',
  'narr.shares.viewed.denied': 'wollte die Freigaben ansehen – abgewiesen',
  'narr.share.ended': 'hat eine Freigabe beendet',
  'narr.share.ended.denied': 'wollte eine Freigabe beenden – abgewiesen',
  'narr.emergency.opened': 'hat einen Notfallzugriff auf die Akte geöffnet',
  'narr.emergency.opened.denied': 'wollte einen Notfallzugriff öffnen – abgewiesen',
  'narr.emergency.reviewed': 'hat einen Notfallzugriff geprüft',
  'narr.emergency.reviewed.denied': 'wollte einen Notfallzugriff prüfen – abgewiesen',
  'narr.emergency.ended': 'hat einen Notfallzugriff beendet',
  'narr.emergency.ended.denied': 'wollte einen Notfallzugriff beenden – abgewiesen',
  'narr.report.viewed': 'hat die Auskunft über die Zugriffe {n}-mal angesehen',
  'narr.report.viewed.one': 'hat die Auskunft über die Zugriffe angesehen',
  'narr.report.viewed.denied': 'wollte die Auskunft über die Zugriffe ansehen – abgewiesen',
  // Issue 16: transmission
  'narr.file.transmitted':
    'hat die Falldaten {n}-mal pseudonymisiert (ohne Namen und Anschrift) nach §11 IfSG an die Landesbehörde übermittelt',
  'narr.file.transmitted.one':
    'hat die Falldaten pseudonymisiert (ohne Namen und Anschrift) nach §11 IfSG an die Landesbehörde übermittelt',
  'narr.file.transmitted.denied': 'wollte die Falldaten nach §11 IfSG übermitteln – abgewiesen',
  // Issue 16: seams
  'narr.file.notified': 'hat {n}-mal eine Meldung nach IfSG zur Akte übermittelt',
  'narr.file.notified.one': 'hat eine Meldung nach IfSG zur Akte übermittelt',
  'narr.file.notified.denied': 'wollte eine Meldung nach IfSG übermitteln – abgewiesen',
  'narr.actor.user': '{name} ({role}, {department})',
  'narr.actor.userNoDepartment': '{name} ({role})',
  'narr.actor.userOnly': '{name}',
  'narr.actor.device': 'Gerät {name} ({department})',
  // Issue 16: seams
  'narr.actor.demis': 'DEMIS-Anbindung ({department})',
  'narr.actor.unknown': 'Ein nicht mehr bekanntes Konto',
  'narr.role.clerk': 'Sachbearbeitung',
  'narr.role.physician': 'Ärztlicher Dienst',
  'narr.role.head': 'Leitung',
  'narr.role.dpo': 'Datenschutzbeauftragte/r',
  'narr.role.admin': 'Verwaltung des Systems',
  'narr.ground.department': 'als Mitarbeitende der Abteilung {department}, die die Akte führt',
  'narr.ground.share': 'über eine Freigabe für die Abteilung {department}, Zweck: „{text}“',
  'narr.ground.emergency': 'im Notfallzugriff, Begründung: „{text}“',
  'narr.ground.emergency-search': 'in einer Notfallsuche, Begründung: „{text}“',
  'narr.ground.emergency-searchNoText': 'in einer Notfallsuche',
  'narr.ground.dpo': 'in der Aufsicht der Datenschutzbeauftragten',
  'narr.ground.device': 'als Gerät der Abteilung {department}',
  'narr.ground.demis': 'als elektronischer Meldeweg nach IfSG an die Abteilung {department}',
  'narr.ground.unknown': 'Grundlage nicht mehr feststellbar',
  'narr.ground.denied': 'Zugriff verweigert',
  'narr.file': 'Akte der Abteilung {department}',
  'narr.letter.title': 'Auskunft nach Art. 15 DSGVO über Zugriffe auf die Daten von {name}, geb. {birthDate}',
  'narr.letter.made': 'Erstellt am {date}',
  'narr.letter.files': 'Erfasste Akten: {files}',
  'narr.letter.intro':
    'Aufgeführt ist jeder im Protokoll verzeichnete Zugriff auf diese Akten: wer, wann, was und auf welcher Grundlage. Wiederholte Zugriffe eines Besuchs sind zusammengefasst.',
  'narr.letter.none': 'Es sind keine Zugriffe verzeichnet.',
  'narr.letter.leftOut': '{n} abgelehnte Eingaben, bei denen nichts gelesen wurde, sind nicht aufgeführt.',
  'narr.letter.leftOut.one': 'Eine abgelehnte Eingabe, bei der nichts gelesen wurde, ist nicht aufgeführt.',
} as const;

export type NarrativeKey = keyof typeof NARRATIVE_DE;

export const NARRATIVE_EN: Record<NarrativeKey, string> = {
  'narr.file.opened': 'opened the file {n} times',
  'narr.file.opened.one': 'opened the file',
  'narr.file.opened.denied': 'tried to open the file – refused',
  'narr.file.created': 'created the file',
  'narr.file.created.denied': 'tried to create the file – refused',
  'narr.file.updated': "changed the person's data {n} times",
  'narr.file.updated.one': "changed the person's data",
  'narr.file.updated.denied': "tried to change the person's data – refused",
  'narr.file.found': 'was shown the file in a search {n} times',
  'narr.file.found.one': 'was shown the file in a search',
  'narr.file.found.denied': 'tried to search – refused',
  'narr.file.found-emergency': 'found the file in an emergency search',
  'narr.file.found-emergency.denied': 'tried an emergency search – refused',
  'narr.file.found-dpo': 'searched for and found the file for a disclosure',
  'narr.file.found-dpo.denied': 'tried to search for the file for a disclosure – refused',
  'narr.file.shared': 'shared the file with another department',
  'narr.file.shared.denied': 'tried to share the file – refused',
  // Issue 16: person merge
  'narr.file.merged': 'merged another file into this one (or this one into another)',
  'narr.file.merged.denied': 'tried to merge files – refused',
  'narr.file.merge-confirmed': "confirmed the file's merge",
  'narr.file.merge-confirmed.denied': "tried to confirm the file's merge – refused",
  'narr.file.merge-undone': "undid the file's merge",
  'narr.file.merge-undone.denied': "tried to undo the file's merge – refused",
  'narr.file.other': 'accessed the file {n} times',
  'narr.file.other.one': 'accessed the file',
  'narr.file.other.denied': 'tried to access the file – refused',
  'narr.records.read': 'read {n} entries',
  'narr.records.read.one': 'read one entry',
  'narr.records.read.denied': 'tried to read entries – refused',
  'narr.records.versions': 'looked at earlier versions of {n} entries',
  'narr.records.versions.one': 'looked at earlier versions of an entry',
  'narr.records.versions.denied': 'tried to look at earlier versions – refused',
  'narr.records.created': 'created {n} entries',
  'narr.records.created.one': 'created one entry',
  'narr.records.created.denied': 'tried to create an entry – refused',
  'narr.records.updated': 'changed {n} entries',
  'narr.records.updated.one': 'changed one entry',
  'narr.records.updated.denied': 'tried to change an entry – refused',
  'narr.records.deleted': 'deleted {n} entries',
  'narr.records.deleted.one': 'deleted one entry',
  'narr.records.deleted.denied': 'tried to delete an entry – refused',
  'narr.images.viewed': 'viewed {n} images',
  'narr.images.viewed.one': 'viewed one image',
  'narr.images.viewed.denied': 'tried to view images – refused',
  'narr.images.metadata': 'looked at the details of images',
  'narr.images.metadata.denied': 'tried to look at the details of images – refused',
  'narr.images.found': "was shown the file's images in a search {n} times",
  'narr.images.found.one': "was shown the file's images in a search",
  'narr.images.found.denied': 'tried to search images – refused',
  'narr.images.stored': 'stored {n} images',
  'narr.images.stored.one': 'stored one image',
  'narr.images.stored.denied': 'tried to store images – refused',
  'narr.images.sent': "retrieved the file's images {n} times",
  'narr.images.sent.one': "retrieved the file's images",
  'narr.images.sent.denied': 'tried to retrieve images – refused',
  'narr.images.linked': 'linked images to the file',
  'narr.images.linked.denied': 'tried to link images to the file – refused',
  'narr.shares.viewed': "looked at the file's shares",
  'narr.shares.viewed.denied': 'tried to look at the shares – refused',
  'narr.share.ended': 'ended a share',
  'narr.share.ended.denied': 'tried to end a share – refused',
  'narr.emergency.opened': 'opened an emergency access to the file',
  'narr.emergency.opened.denied': 'tried to open an emergency access – refused',
  'narr.emergency.reviewed': 'reviewed an emergency access',
  'narr.emergency.reviewed.denied': 'tried to review an emergency access – refused',
  'narr.emergency.ended': 'ended an emergency access',
  'narr.emergency.ended.denied': 'tried to end an emergency access – refused',
  'narr.report.viewed': 'looked at the report of accesses {n} times',
  'narr.report.viewed.one': 'looked at the report of accesses',
  'narr.report.viewed.denied': 'tried to look at the report of accesses – refused',
  // Issue 16: transmission
  'narr.file.transmitted':
    'transmitted the case data {n} times, pseudonymised (without name and address), to the state authority under §11 IfSG',
  'narr.file.transmitted.one':
    'transmitted the case data, pseudonymised (without name and address), to the state authority under §11 IfSG',
  'narr.file.transmitted.denied': 'tried to transmit the case data under §11 IfSG – refused',
  // Issue 16: seams
  'narr.file.notified': 'delivered a notification under the IfSG for the file {n} times',
  'narr.file.notified.one': 'delivered a notification under the IfSG for the file',
  'narr.file.notified.denied': 'tried to deliver a notification under the IfSG – refused',
  'narr.actor.user': '{name} ({role}, {department})',
  'narr.actor.userNoDepartment': '{name} ({role})',
  'narr.actor.userOnly': '{name}',
  'narr.actor.device': 'Device {name} ({department})',
  // Issue 16: seams
  'narr.actor.demis': 'DEMIS connection ({department})',
  'narr.actor.unknown': 'An account no longer known',
  'narr.role.clerk': 'case worker',
  'narr.role.physician': 'medical service',
  'narr.role.head': 'head of department',
  'narr.role.dpo': 'data protection officer',
  'narr.role.admin': 'system administration',
  'narr.ground.department': 'as staff of the department {department}, which keeps the file',
  'narr.ground.share': 'through a share with the department {department}, purpose: “{text}”',
  'narr.ground.emergency': 'by emergency access, reason: “{text}”',
  'narr.ground.emergency-search': 'in an emergency search, reason: “{text}”',
  'narr.ground.emergency-searchNoText': 'in an emergency search',
  'narr.ground.dpo': "in the data protection officer's oversight",
  'narr.ground.device': 'as a device of the department {department}',
  'narr.ground.demis': 'as the electronic notification channel under the IfSG to the department {department}',
  'narr.ground.unknown': 'ground no longer ascertainable',
  'narr.ground.denied': 'access refused',
  'narr.file': 'file of the department {department}',
  'narr.letter.title': 'Information under Art. 15 GDPR about accesses to the data of {name}, born {birthDate}',
  'narr.letter.made': 'Made on {date}',
  'narr.letter.files': 'Files covered: {files}',
  'narr.letter.intro':
    'Listed is every access to these files on record: who, when, what, and on what ground. Repeated accesses of one visit are taken together.',
  'narr.letter.none': 'No accesses are on record.',
  'narr.letter.leftOut': '{n} refused inputs, in which nothing was read, are not listed.',
  'narr.letter.leftOut.one': 'One refused input, in which nothing was read, is not listed.',
};

/** A message lookup like the web application's `t`: `{name}` placeholders, `key.one` for n = 1. */
export type Lookup = (key: NarrativeKey, params?: Record<string, string | number>) => string;

/** The lookup over one language's messages (the server's; the browser passes its own `t`). */
export function lookupIn(messages: Record<NarrativeKey, string>): Lookup {
  return (key, params) => {
    const one = params?.n === 1 ? (messages as Record<string, string>)[`${key}.one`] : undefined;
    const text = one ?? messages[key] ?? key;
    return params ? text.replace(/\{(\w+)\}/g, (m, p: string) => (p in params ? String(params[p]) : m)) : text;
  };
}

/** A line in words: who, what, on what ground, and whose file. */
export function describeLine(line: AccessLine, t: Lookup): { who: string; what: string; ground: string; file: string } {
  const a = line.actor;
  const role = a.role ? t(`narr.role.${a.role}`) : '';
  const who =
    a.kind === 'device'
      ? t('narr.actor.device', { name: a.name, department: a.department ?? '' })
      : a.kind === 'demis'
        ? t('narr.actor.demis', { department: a.department ?? '' })
        : a.kind === 'unknown'
          ? t('narr.actor.unknown')
          : role && a.department
            ? t('narr.actor.user', { name: a.name, role, department: a.department })
            : role
              ? t('narr.actor.userNoDepartment', { name: a.name, role })
              : t('narr.actor.userOnly', { name: a.name });
  const what =
    line.outcome === 'denied'
      ? t(`narr.${line.act}.denied` as NarrativeKey)
      : t(`narr.${line.act}` as NarrativeKey, { n: line.count });
  const g = line.ground;
  const ground = !g
    ? t('narr.ground.denied')
    : g.kind === 'emergency-search' && !g.text
      ? t('narr.ground.emergency-searchNoText')
      : t(`narr.ground.${g.kind}`, { department: g.department ?? '', text: g.text ?? '' });
  return { who, what, ground, file: t('narr.file', { department: line.fileDepartment }) };
}
