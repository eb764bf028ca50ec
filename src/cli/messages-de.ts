// What the `kartei` command says, in German (the default; src/cli/messages.ts chooses). Every key
// here has its English in messages-en.ts (its type says so). `{name}` is filled from the parameters.
export const MESSAGES_DE = {
  usage: `Aufruf: kartei <Befehl>
  serve           den Server starten (Umgebung: KARTEI_LISTEN, KARTEI_DATA_DIR, KARTEI_KEY_DIR, KARTEI_DATABASE_URL, KARTEI_TLS_CERT/KEY)
  audit verify    die Protokollketten und ihre Signaturen nachrechnen
  audit rotate-key  den Signaturschlüssel des Protokolls ersetzen (frühere Schlüssel prüfen weiter); schließt eine unterbrochene Rotation ab
  doctor          den Sicherheitsbericht ausgeben; Rückgabewert 1 bei einem kritischen Befund
  devices ...     DICOM-Geräte über die API des laufenden Servers anlegen, auflisten und entfernen
  keys ...        status, rotate-master (Server angehalten), reload-tls (laufender Server)
  backup ZIEL     die Daten sichern (Datenbank-Abzug, Bilder, Dokumente, Protokoll-Zeuge), während der Server läuft
  backup --keys ZIEL  das Schlüsselverzeichnis sichern, an einen getrennten Ort
  restore QUELLE  eine Datensicherung in ein leeres Datenverzeichnis zurückspielen (--check: nur prüfen)
  restore --keys QUELLE  eine Schlüsselsicherung in ein leeres Schlüsselverzeichnis zurückspielen
{offices}Sprache: Deutsch; KARTEI_LANG=en für Englisch.
`,
  'offices.usage': `  offices add NAME [--host HOST]   ein Amt anlegen und seinen einmaligen Einrichtungslink ausgeben (24 h)
  offices list                     die Ämter: Name, Adresse, eingerichtet oder nicht
  offices renew NAME               ein neuer Einrichtungslink für ein Amt, das noch niemand eingerichtet hat
`,
  'progress.migrations': 'Migrationen',
  'progress.audit': 'Protokollereignisse werden geprüft',
  // kartei audit verify | rotate-key
  'audit.broken': 'Protokollkette VERLETZT: Kette {tenant}, erste fehlerhafte Nummer {seq}: {problem}',
  'audit.ok':
    'Protokollkette in Ordnung: {count} Ereignisse in {secs} geprüft ({tail} nach dem letzten signierten Prüfpunkt)',
  'audit.restored':
    'Am {at} aus der Sicherung vom {backupAt} wiederhergestellt; nach der Sicherung bezeugte Protokollereignisse, die darin fehlen: {gap} (protokolliert als system.restore)',
  'audit.restored.none': 'keine',
  'audit.rotated':
    'Signaturschlüssel des Protokolls gewechselt: {current} ersetzt {retired} (bleibt zum Prüfen als früherer Schlüssel); {audited} Kette(n) haben den Wechsel protokolliert, jede Kette wird mit dem neuen Schlüssel signiert',
  'audit.rotated.resumed':
    'Unterbrochenen Wechsel abgeschlossen: Signaturschlüssel {current} ersetzt {retired} (bleibt zum Prüfen als früherer Schlüssel); {audited} Kette(n) haben den Wechsel protokolliert, jede Kette wird mit dem neuen Schlüssel signiert',
  // kartei doctor
  'doctor.runtime': 'Laufzeit: Node.js {node}, OpenSSL {openssl}',
  'doctor.allocator': 'Speicher-Allokator: {summary}',
  'doctor.none': 'Keine Befunde.',
  'doctor.fix': 'Abhilfe',
  'doctor.reason': 'Grund',
  'severity.critical': 'KRITISCH',
  'severity.high': 'HOCH',
  'severity.medium': 'MITTEL',
  'severity.low': 'NIEDRIG',
  'severity.info': 'HINWEIS',
  // kartei serve
  'serve.allocator': 'Speicher-Allokator: {summary}',
  'serve.setup': 'Einrichtung: {link}',
  'serve.setupElsewhere':
    'Einrichtung: Den Einrichtungslink hat die Kartei-Instanz auf {host} ausgegeben (Prozess {pid}, läuft seit {since}); siehe ihre Ausgabe oder die Datei setup-token in ihrem Datenverzeichnis. Für einen neuen Link diese Instanz neu starten (der alte Link gilt dann nicht mehr).',
  // Issue 19: cli-german — kartei backup | restore (src/cli/backup-commands.ts)
  'usage.line': 'Aufruf: {usage}',
  'backup.usage': 'kartei backup [--keys] VERZEICHNIS',
  'restore.usage': 'kartei restore [--check | --keys] VERZEICHNIS',
  'backup.refused': 'abgelehnt: {reason}',
  'backup.keys.done': 'Schlüssel gesichert: {files} Datei(en) nach {dest} (0700/0600) in {secs}',
  'backup.keys.apart':
    'Dieses Verzeichnis getrennt von den Datensicherungen aufbewahren: wer beides hat, kann alles lesen.',
  'backup.done': 'Sicherung abgeschlossen: {files} Datei(en), {size}, in {secs} nach {dest}',
  'backup.snapshot': 'Stand vom {at}; SHA-256 des Manifests {sha}',
  'backup.steps': 'Schritte: Datenbank-Abzug {snapshot} ms, Dateien {files} ms, Protokolleintrag {record} ms',
  'backup.counts':
    'Umfang: {tenants} Amt/Ämter, {persons} Person(en), {records} Akteneintrag/-einträge, {instances} Bild(er), {documentVersions} Dokumentversion(en)',
  'backup.noKeys': 'Die Schlüssel sind nicht darin: getrennt sichern mit `kartei backup --keys ZIEL`.',
  'restore.keys.done': 'Schlüssel zurückgespielt: {files} Datei(en) in {keyDir} (0700/0600)',
  'restore.check.ok': 'Sicherung in Ordnung: {files} Datei(en) stimmen mit dem Manifest überein; Stand vom {at}',
  'restore.done': '{files} Datei(en) aus der Sicherung vom {at} in {dataDir} zurückgespielt',
  'restore.noGap': 'Nach der Sicherung wurde nichts bezeugt: es fehlen keine Protokollereignisse',
  'restore.gap':
    'Protokollkette {chain}: die Ereignisse {from}–{to} (bezeugt bis {at}) geschahen nach der Sicherung und fehlen darin; protokolliert als system.restore',
  'restore.witnessKept': 'Der bisherige Zeuge des Schlüsselverzeichnisses bleibt als {file} erhalten',
  // Issue 19: cli-german — kartei offices (src/cli/office-commands.ts)
  'usage.block': 'Aufruf:\n{usage}',
  'cli.unknownOption': 'unbekannte Option {option}',
  'offices.created': 'Amt „{name}“ angelegt (ID {id}, Adresse {host})',
  'offices.anyHost': '(jede)',
  'offices.anyAddress': '(jede Adresse)',
  'offices.none': 'Noch keine Ämter.',
  'offices.setUp': 'eingerichtet',
  'offices.waiting': 'wartet auf Einrichtung',
  'offices.hostMissing': '--host braucht einen Rechnernamen',
};

export type CliMessageKey = keyof typeof MESSAGES_DE;
