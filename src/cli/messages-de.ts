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
  // The line of the core contract (API.md, "First run"): the same words in every language, scripts look for it.
  'serve.setup': 'Setup: {link}',
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
  'backup.notice.postgres':
    'PostgreSQL: Diese Sicherung enthält die Dateien und den Zeugen, nicht die Datenbank. Die Datenbank VOR jedem `kartei backup` mit `pg_dump -Fc` (oder `pg_basebackup`) sichern: jede Datei, die eine Zeile dieses Abzugs nennt, ist hier enthalten.',
  'backup.notice.postgresDatabase':
    'PostgreSQL mit Bildern und Dokumenten in der Datenbank ({images} Bilder, {documents} Dokumentversionen, {bytes} versiegelte Bytes): Sie stecken im Abzug der Datenbank, nicht hier; diese Sicherung enthält den Zeugen. Die Datenbank VOR jedem `kartei backup` mit `pg_dump -Fc` (oder `pg_basebackup`) sichern und die Schlüsselsicherung getrennt aufbewahren.',
  'backup.notice.s3':
    'Bilder und Dokumente liegen im S3-Bucket {bucket} ({images} Bilder, {documents} Dokumentversionen, jede dort geprüft): Sie sind nicht in dieser Sicherung. Den Bucket versioniert oder repliziert halten (Kartei überschreibt oder entfernt nie ein Objekt, das eine Zeile nennt) und die Schlüsselsicherung getrennt aufbewahren.',
  'backup.notice.s3Postgres':
    'Bilder und Dokumente liegen im S3-Bucket {bucket} ({images} Bilder, {documents} Dokumentversionen, jede dort geprüft): Sie sind nicht in dieser Sicherung. Den Bucket versioniert oder repliziert halten (Kartei überschreibt oder entfernt nie ein Objekt, das eine Zeile nennt), die Datenbank VOR jedem `kartei backup` mit `pg_dump -Fc` sichern und die Schlüsselsicherung getrennt aufbewahren.',
  'restore.keys.done': 'Schlüssel zurückgespielt: {files} Datei(en) in {keyDir} (0700/0600)',
  'restore.check.ok': 'Sicherung in Ordnung: {files} Datei(en) stimmen mit dem Manifest überein; Stand vom {at}',
  'restore.done': '{files} Datei(en) aus der Sicherung vom {at} in {dataDir} zurückgespielt',
  'restore.noGap': 'Nach der Sicherung wurde nichts bezeugt: es fehlen keine Protokollereignisse',
  'restore.gap':
    'Protokollkette {chain}: die Ereignisse {from}–{to} (bezeugt bis {at}) geschahen nach der Sicherung und fehlen darin; protokolliert als system.restore',
  'restore.witnessKept': 'Der bisherige Zeuge des Schlüsselverzeichnisses bleibt als {file} erhalten',
  // Issue 19: cli-german — kartei offices (src/cli/office-commands.ts)
  'usage.block': 'Aufruf:\n{usage}',
  'offices.created': 'Amt „{name}“ angelegt (ID {id}, Adresse {host})',
  'offices.anyHost': '(jede)',
  'offices.anyAddress': '(jede Adresse)',
  'offices.none': 'Noch keine Ämter.',
  'offices.setUp': 'eingerichtet',
  'offices.waiting': 'wartet auf Einrichtung',
  // Issue 19: cli-german — kartei devices (src/cli/device-commands.ts)
  'devices.usage': `Aufruf: kartei devices <list | add | remove ID>
  add --ae AE_TITEL --department KÜRZEL|ID --permissions store,find,retrieve
      [--certificate geraet.pem] [--host 127.0.0.1] [--port 104]
  Umgebung: KARTEI_API_TOKEN (das Token eines Verwaltungskontos mit dem Bereich admin: POST /api/auth/tokens), KARTEI_PUBLIC_URL
`,
  'devices.noToken':
    'KARTEI_API_TOKEN auf das API-Token eines Verwaltungskontos mit dem Bereich admin setzen (POST /api/auth/tokens)',
  'devices.plainHttp':
    'Das API-Token (KARTEI_API_TOKEN) wird nicht unverschlüsselt gesendet: {base} ist eine http://-Adresse außerhalb dieses Rechners; KARTEI_PUBLIC_URL auf die https://-Adresse des Servers setzen.',
  'devices.certificate': 'Zertifikat',
  'devices.host': 'Host {host}',
  'devices.unreachable': 'Der Server unter {base} ist nicht erreichbar ({error}); läuft er? (KARTEI_PUBLIC_URL)',
  'cli.noDepartment': 'keine Abteilung mit dem Kürzel oder der ID „{department}“',
  // Issue 19: cli-german — kartei keys (src/cli/key-commands.ts)
  'keys.usage': `Aufruf: kartei keys <status | rotate-master | rotate-department KÜRZEL|ID [--office ID]
                     | rewrap-department KÜRZEL|ID [--office ID] [--batch N]
                     | reencrypt-department KÜRZEL|ID [--office ID] [--batch N] [--keep-old] | reload-tls>
  status          ID und Alter des Hauptschlüssels, und ob ein Wechsel im Gang ist
  rotate-master   den Schlüssel jedes Amtes unter einen neuen Hauptschlüssel legen (erst den Server anhalten);
                  nach einer Unterbrechung erneut ausgeführt, schließt es den Wechsel ab
  rotate-department  eine neue Schlüsselversion für die Abteilung, bei laufenden Servern: jede Instanz
                  verschlüsselt neue Daten binnen Sekunden darunter, alles zuvor Verschlüsselte lässt sich weiter öffnen
  rewrap-department  danach die Schlüssel ihrer Personen unter der neuen Version neu verpacken, in Stapeln
                  mit Fortschritt (Server dürfen laufen); unterbrochen, erneut ausführen, um fortzufahren
  reencrypt-department  alles der Abteilung, das noch unter einer früheren Schlüsselversion liegt, unter
                  der aktuellen neu versiegeln (Personenschlüssel, Felder, Bilder), bei laufenden Servern, mit
                  Fortschritt; unterbrochen, erneut ausführen; danach werden die früheren Versionen stillgelegt (--keep-old: nicht)
  reload-tls      den laufenden Server seine TLS-Zertifikate neu einlesen lassen (SIGHUP)
`,
  'keys.master': 'Hauptschlüssel {id}, in Gebrauch seit {since} ({days} Tage)',
  'keys.index.stored':
    'Index-Schlüssel der Installation: unter dem Hauptschlüssel gespeichert (schon einmal gewechselt)',
  'keys.index.derived': 'Index-Schlüssel der Installation: vom Hauptschlüssel abgeleitet',
  'keys.interrupted.before':
    'WECHSEL UNTERBROCHEN vor der Umstellung (nächster Hauptschlüssel {next}): `kartei keys rotate-master` ausführen, um ihn abzuschließen',
  'keys.interrupted.after':
    'WECHSEL UNTERBROCHEN nach der Umstellung (stillgelegter Hauptschlüssel {retired}): `kartei keys rotate-master` ausführen, um ihn abzuschließen',
  'keys.officeKeys': 'Amtsschlüssel unter {id}: {n}',
  'keys.department': 'Abteilung {code} (Amt {office}): Schlüsselversion {version}',
  'keys.department.earlier': ', frühere {earlier}',
  'keys.department.retired': ' (stillgelegt)',
  'keys.department.pending':
    '; Version {pending} AUSSTEHEND: `kartei keys rotate-department {code}` ausführen, um den Wechsel abzuschließen',
  'keys.noInstallation':
    'Kein Datenverzeichnis unter {dataDir}: Hier ist noch nichts eingerichtet, also auch kein Hauptschlüssel zu wechseln (KARTEI_DATA_DIR prüfen).',
  'keys.masterServerRunning': 'Der Hauptschlüssel wird bei angehaltenem Server gewechselt: {reason}',
  'keys.duringBackup.master': 'Der Hauptschlüssel wird nicht während einer Sicherung gewechselt: {reason}',
  'keys.duringBackup.rotation': 'Kein Schlüsselwechsel einer Abteilung während einer Sicherung: {reason}',
  'keys.duringBackup.rewrap': 'Kein Neuverpacken von Personenschlüsseln während einer Sicherung: {reason}',
  'keys.duringBackup.reencrypt': 'Keine Neuverschlüsselung während einer Sicherung: {reason}',
  'keys.department.prepared':
    'Abteilung {code}: Schlüsselversion {to} vorbereitet; {secs} s warten, bis jede laufende Instanz sie kennt',
  'keys.department.rotated':
    'Abteilung {code} ({id}): Schlüsselversion {from} → {to}; jede Instanz verschlüsselt neue Daten binnen {secs} s unter Version {to}, frühere Daten lassen sich weiter öffnen',
  'keys.departmentAmbiguous': '{n} Ämter haben eine Abteilung „{department}“: eines mit --office ID nennen',
  'keys.rewrap.progress':
    'Abteilung {code}: {done} von {total} Personenschlüsseln unter Schlüsselversion {version} ({now} jetzt neu verpackt)',
  'keys.reencrypt.personKeys': 'Personenschlüssel',
  'keys.reencrypt.fields': 'versiegelte Felder',
  'keys.reencrypt.images': 'Bilder',
  'keys.reencrypt.progress': 'Abteilung {code}: {what} {done}/{total} angesehen',
  'keys.reencrypt.done':
    'Abteilung {code}: jetzt unter Schlüsselversion {version} – {personKeys} Personenschlüssel, {fields} Feld(er), {images} Bild(er) neu versiegelt; {changed} zwischendurch geändert (so belassen, wie geschrieben)',
  'keys.reencrypt.unreadable':
    '{n} Element(e) unter einer früheren Version lassen sich mit dem Schlüssel der Abteilung nicht öffnen: nichts stillgelegt; siehe kartei doctor',
  'keys.reencrypt.retired': 'Frühere Schlüsselversion(en) {versions} stillgelegt',
  'keys.rotated':
    'Hauptschlüssel gewechselt: {from} → {to}; {offices} Amtsschlüssel unter dem neuen Hauptschlüssel ({now} jetzt neu verpackt)',
  'keys.rotated.resumed':
    'Unterbrochenen Wechsel des Hauptschlüssels abgeschlossen: {from} → {to}; {offices} Amtsschlüssel unter dem neuen Hauptschlüssel ({now} jetzt neu verpackt)',
  'keys.rotateAgain': 'Für einen neuen Wechsel `kartei keys rotate-master` erneut ausführen',
  'keys.backupNow':
    'Jetzt das Schlüsselverzeichnis sichern: der alte Hauptschlüssel öffnet die Amtsschlüssel nicht mehr',
  'keys.noServer': 'Kein laufender Server: {lock} nennt kein laufendes kartei serve',
  'keys.cannotSignal': 'Der Server (Prozess {pid}) lässt sich nicht benachrichtigen: {code}',
  'keys.reloadAsked':
    'Der Server (Prozess {pid}) liest seine TLS-Zertifikate neu ein; ob es gelang, steht in seinem Protokoll',
  // Issue 19: s23-german-cli — Node's parseArgs refusals (src/cli/cli-error.ts)
  'cli.parse.unknownOption': 'Unbekannte Option {option}: bitte die Schreibweise prüfen (die Optionen stehen unten).',
  'cli.parse.needsValue': 'Die Option {option} braucht einen Wert: {option} WERT angeben.',
  'cli.parse.takesNoValue': 'Die Option {option} nimmt keinen Wert an: {option} ohne =… angeben.',
  'cli.parse.unexpectedArgument': 'Unerwartetes Argument „{argument}“: dieser Befehl nimmt keines an.',
  // s24: echo — a second word where a command takes one (src/cli/cli-error.ts oneArgument).
  'cli.parse.extraArgument': 'Überzähliges Argument „{argument}“: dieser Befehl nimmt nur eines an.',
  // s24-review: an error kartei has no refusal for (src/cli/unexpected-error.ts); a text it read is not repeated.
  'unexpected.error':
    'Unerwarteter Fehler ({what}); bitte mit den Zeilen darunter melden (gelesene Inhalte werden hier nicht wiederholt):',
  'unexpected.json': 'gelesener Text ist kein gültiges JSON',
};

export type CliMessageKey = keyof typeof MESSAGES_DE;
