// The refusals an operator commonly meets, in German: an error that carries a `refusal` code
// (src/config/refusal.ts) is said from here in German; in English, and for an error without a
// known code, its own message is said (the English text lives where the refusal is made).
import type { Refusal } from '../config/refusal.ts';
import { fill } from '../contract/finding-texts.ts';
import { currentCliLang, formatMoment } from './messages.ts';

/** Each code's German text, `{name}` filled from the refusal's parameters. */
export const REFUSALS_DE: Record<string, string> = {
  // The configuration (src/config/config.ts, checkStartable).
  'listen-needs-tls':
    'Der Server lauscht nicht auf {host}: jenseits von 127.0.0.1 braucht er TLS (KARTEI_TLS_CERT und KARTEI_TLS_KEY setzen oder auf 127.0.0.1 lauschen).',
  'dicom-needs-tls':
    'Kein DICOM-Empfang auf {host}: jenseits von 127.0.0.1 braucht er TLS mit Client-Zertifikaten (KARTEI_DICOM_TLS_CERT, KARTEI_DICOM_TLS_KEY und KARTEI_DICOM_TLS_CA setzen oder KARTEI_DICOM_LISTEN=127.0.0.1:11112).',
  'metrics-needs-tls':
    'Keine Metriken auf {host}: jenseits von 127.0.0.1 braucht der Metriken-Listener TLS und ein Token (KARTEI_TLS_CERT, KARTEI_TLS_KEY und KARTEI_METRICS_TOKEN_FILE setzen oder KARTEI_METRICS_LISTEN=127.0.0.1:9464).',
  'database-storage-needs-postgres':
    'Start abgelehnt: KARTEI_STORAGE=database legt Bilder und Dokumente in PostgreSQL ab, aber KARTEI_DATABASE_URL ist nicht gesetzt (mit SQLite liegen sie im Datenverzeichnis: KARTEI_STORAGE entfernen oder auf files setzen).',
  'key-dir-inside-data-dir':
    'Start abgelehnt: Das Schlüsselverzeichnis ({keyDir}) liegt im Datenverzeichnis ({dataDir}); eine Kopie der Daten trüge ihre eigenen Schlüssel.',
  // s24-review: one of the server's certificate and key without the other (src/config/config.ts).
  'tls-incomplete':
    'HTTPS braucht KARTEI_TLS_CERT und KARTEI_TLS_KEY (nur eine der beiden ist gesetzt): die andere setzen oder beide entfernen (dann HTTP ohne TLS auf 127.0.0.1).',
  // Issue 19: s23-german-cli — a malformed setting (src/config/config.ts loadConfig): its name and the value given.
  'setting-listen-malformed':
    '{name} muss die Form HOST:PORT haben, etwa 127.0.0.1:8080 (gesetzt: „{value}“); bitte {name} berichtigen.',
  'setting-port-out-of-range':
    'Der Port in {name} muss zwischen 1 und 65535 liegen (gesetzt: „{value}“); bitte {name} berichtigen.',
  'setting-whole-number': '{name} muss eine ganze Zahl ab {min} sein (gesetzt: „{value}“); bitte {name} berichtigen.',
  'storage-kind-unknown':
    'KARTEI_STORAGE muss database, files oder s3 sein (gesetzt: „{value}“); ohne KARTEI_STORAGE wählt Kartei nach der Datenbank.',
  's3-setting-unknown':
    '{name} ist keine Einstellung von Kartei: die S3-Zugangsdaten liest Kartei nur aus der Datei, die KARTEI_S3_CREDENTIALS_FILE nennt (Modus 600), nie aus der Umgebung; bitte {name} entfernen.',
  's3-settings-without-s3':
    '{names} gesetzt, aber KARTEI_STORAGE ist nicht s3: KARTEI_STORAGE=s3 setzen oder diese Einstellungen entfernen.',
  's3-settings-missing': 'KARTEI_STORAGE=s3 braucht auch {names}; bitte setzen.',
  's3-bucket-invalid':
    'KARTEI_S3_BUCKET muss ein Bucket-Name aus 3 bis 63 Kleinbuchstaben, Ziffern, Punkten und Bindestrichen sein (gesetzt: „{value}“).',
  's3-region-invalid': 'KARTEI_S3_REGION muss ein Regionsname wie eu-central-1 sein (gesetzt: „{value}“).',
  's3-prefix-invalid':
    'KARTEI_S3_PREFIX muss aus Namen aus Buchstaben, Ziffern, „_“, „.“ und „-“ bestehen, getrennt durch einzelne Schrägstriche, ohne Schrägstrich am Anfang oder Ende (gesetzt: „{value}“).',
  // s24: echo — of the endpoint at most its origin or scheme is said (src/config/shown-address.ts).
  's3-endpoint-invalid':
    'KARTEI_S3_ENDPOINT muss eine Adresse wie https://s3.example.org sein: Schema, Rechner und wahlweise Port (der Wert wird hier nicht wiederholt: er kann ein Passwort enthalten).',
  's3-endpoint-not-origin':
    'KARTEI_S3_ENDPOINT nennt nur Schema, Rechner und Port, ohne Benutzer, Pfad oder Abfrage (gesetzt: {value} mit mehr, das hier nicht wiederholt wird: es kann ein Passwort oder eine Signatur sein).',
  's3-endpoint-plain-http':
    'KARTEI_S3_ENDPOINT abgelehnt (gesetzt: „{value}“): jenseits von 127.0.0.1 erreicht Kartei den Objektspeicher nur über https; bitte eine https://-Adresse setzen.',
  's3-endpoint-scheme':
    'KARTEI_S3_ENDPOINT muss mit https:// beginnen (gesetzt: eine Adresse, die mit {scheme} beginnt; der Rest wird hier nicht wiederholt: er kann ein Passwort enthalten).',
  'storage-low-mb-invalid':
    'KARTEI_STORAGE_LOW_MB muss eine ganze Zahl von Megabyte sein, 0 für keine Warnung (gesetzt: „{value}“).',
  'backup-max-age-invalid':
    'KARTEI_BACKUP_MAX_AGE_HOURS muss eine ganze Zahl von Stunden zwischen 1 und 8760 sein (gesetzt: „{value}“).',
  'attachment-max-invalid':
    'KARTEI_ATTACHMENT_MAX_MB muss eine ganze Zahl von Megabyte zwischen 1 und 2000 sein (gesetzt: „{value}“).',
  'trusted-proxy-invalid':
    'KARTEI_TRUSTED_PROXY muss IP-Adressen oder CIDR-Bereiche nennen, durch Kommas getrennt (nicht zu lesen: „{value}“).',
  'dicom-aet-invalid':
    'KARTEI_DICOM_AET muss 1 bis 16 Zeichen ohne umgekehrten Schrägstrich haben (gesetzt: „{value}“).',
  'dicom-tls-incomplete':
    'DICOM über TLS braucht alle drei: KARTEI_DICOM_TLS_CERT, KARTEI_DICOM_TLS_KEY und KARTEI_DICOM_TLS_CA (die CA, die die Gerätezertifikate signiert); bitte die fehlenden setzen oder alle drei entfernen.',
  // Issue 19: s23-review — a database address that cannot be read (src/config/config.ts databaseAddress); never repeated.
  'database-url-invalid':
    '{name} muss eine Adresse wie postgres://kartei:PASSWORT@db.example.org:5432/kartei sein, Sonderzeichen im Passwort prozentkodiert (der Wert wird hier nicht wiederholt: er kann das Passwort enthalten); bitte {name} berichtigen.',
  // s24: echo — KARTEI_PUBLIC_URL not readable or with a user and password (src/config/config.ts publicAddress); never repeated.
  'public-url-invalid':
    'KARTEI_PUBLIC_URL muss die Adresse sein, die die Nutzenden öffnen, etwa https://kartei.gesundheitsamt.example: http(s), ohne Benutzer, Passwort, Abfrage (?) oder Fragment (#) (der Wert wird hier nicht wiederholt: er kann ein Passwort enthalten); bitte KARTEI_PUBLIC_URL berichtigen.',
  // Issue 19: s23-review — a file's content where its path belongs (src/config/config.ts refuseFileContent); never repeated.
  'setting-file-content':
    '{name} muss eine Datei nennen (ihren Pfad), nicht den Inhalt der Datei enthalten (er wird hier nicht wiederholt: er kann ein Schlüssel sein); bitte den Inhalt in eine Datei mit Modus 600 legen und {name} auf sie setzen.',
  // Issue 18: the listeners' files checked before anything listens (src/config/tls-start.ts).
  'setting-file-unreadable':
    'Start abgelehnt: {name} nennt {file}, aber die Datei lässt sich nicht lesen ({why}); bitte Pfad und Rechte prüfen.',
  'secret-file-missing':
    'Start abgelehnt: {name} nennt keine vorhandene Datei (der Wert wird hier nicht wiederholt: er kann der Schlüssel oder das Token selbst sein); {name} auf den Pfad der Datei setzen.',
  // Issue 19: s25-start-files — the same, when the value starts with ~ or has a space at a start or end.
  'secret-file-missing-hint':
    'Start abgelehnt: {name} nennt keine vorhandene Datei (der Wert wird hier nicht wiederholt: er kann der Schlüssel oder das Token selbst sein); ~ wird nicht zum Home-Verzeichnis erweitert, und Leerzeichen am Anfang oder Ende gehören zum Pfad; {name} auf den vollständigen Pfad der Datei setzen.',
  'tls-cert-not-pem':
    'Start abgelehnt: {name} nennt {file}, aber darin steht kein Zertifikat im PEM-Format (-----BEGIN CERTIFICATE-----).',
  'tls-key-unreadable':
    'Start abgelehnt: {name} nennt {file}, aber darin steht kein lesbarer privater Schlüssel im PEM-Format (ein verschlüsselter Schlüssel wird nicht unterstützt).',
  'tls-key-mismatch':
    'Start abgelehnt: Der private Schlüssel in {file} ({name}) gehört nicht zum Zertifikat; Schlüssel und Zertifikat desselben Paars angeben.',
  'tls-ca-not-pem': 'Start abgelehnt: {name} nennt {file}, aber darin steht kein CA-Zertifikat im PEM-Format.',
  'tls-start-refused': 'Start abgelehnt: Das Zertifikat aus {name} ist nicht verwendbar ({reason}).',
  'tls-library':
    'Start abgelehnt: Die TLS-Bibliothek lehnt Zertifikat und Schlüssel aus {name} ab ({reason}); zu schwache Schlüssel (RSA unter 2048 Bit) werden nicht angenommen.',
  // Issue 19: s23-review — the database not reached when opened (src/db/connect.ts); the reason is pg's or Node's.
  'database-not-reached':
    'Die Datenbank von KARTEI_DATABASE_URL ist nicht erreichbar ({reason}); läuft sie, und stimmen Adresse, Benutzer und Passwort?',
  // s27: a PostgreSQL that accepts and never answers (src/db/pg-connect.ts's time limit).
  'database-no-answer':
    'Die Datenbank von KARTEI_DATABASE_URL antwortet nicht: keine Verbindung binnen {seconds} s; läuft sie, und ist sie von hier aus erreichbar?',
  // Issue 19: s23-german-cli — the metrics listener's token file (src/ops/metrics-listener.ts).
  'metrics-token-exposed':
    'Start abgelehnt: Die Token-Datei der Metriken {file} ist für andere lesbar (Modus {mode}); chmod 600 darauf ausführen.',
  'metrics-token-short':
    'Start abgelehnt: Das Metriken-Token in {file} ist kürzer als 16 Zeichen; ein längeres hineinschreiben.',
  // The key directory's files (src/vault/key-file.ts).
  'key-dir-exposed':
    'Start abgelehnt: Das Schlüsselverzeichnis {keyDir} ist für andere zugänglich (Modus {mode}); chmod 700 darauf ausführen.',
  'key-file-exposed': 'Start abgelehnt: {file} ist für andere lesbar (Modus {mode}); chmod 600 darauf ausführen.',
  'key-file-link': '{file} abgelehnt: Die Datei ist ein symbolischer Link; entfernen.',
  'key-file-own-link':
    '{file} abgelehnt: Die Datei ist ein symbolischer Link, und Kartei schreibt sie selbst, nie als Link; entfernen.',
  // Issue 18 (s24): a damaged audit chain key, never quoted (src/audit/chain-key.ts).
  'chain-key-invalid':
    '{file} abgelehnt: Die Datei ist kein Kartei-Kettenschlüssel (beschädigt?); das Schlüsselverzeichnis aus seiner Sicherung zurückspielen.',
  'key-list-invalid':
    '{file} abgelehnt: Die Datei ist keine Kartei-Schlüsselliste (beschädigt?); das Schlüsselverzeichnis aus seiner Sicherung zurückspielen.',
  // s24-review: the audit signing key and witness, damaged (src/audit/signing-key.ts, witness.ts); never quoted.
  'signing-key-invalid':
    '{file} abgelehnt: Die Datei ist kein Kartei-Signaturschlüssel des Protokolls (beschädigt?); das Schlüsselverzeichnis aus seiner Sicherung zurückspielen.',
  'witness-invalid':
    '{file} abgelehnt: Die Datei ist kein Kartei-Protokollzeuge (beschädigt?); das Schlüsselverzeichnis aus seiner Sicherung zurückspielen.',
  'key-file-not-file': '{file} abgelehnt: keine gewöhnliche Datei.',
  'key-file-too-large': '{file} abgelehnt: {size} Byte sind keine Schlüsseldatei.',
  // s25-review: a key file that is a link to nothing (src/vault/key-file.ts).
  'key-file-dangling-link':
    '{file} abgelehnt: Die Datei ist ein symbolischer Link auf {target}, das es nicht gibt (ein Laufwerk nicht eingehängt?); den Schlüssel dort erreichbar machen oder den Link entfernen.',
  // s25-review: an empty master.key (src/vault/master-keys.ts).
  'master-key-empty':
    '{file} abgelehnt: Die Datei ist leer, und jeder Schlüssel der Installation leitete sich aus nichts ab; den Hauptschlüssel des Schlüsselverzeichnisses zurücklegen (aus seiner Sicherung: kartei backup --keys), oder bei einer neuen Installation die leere Datei entfernen.',
  // Locks (src/ops/serve-lock.ts, src/ops/backup-lock.ts).
  'server-running':
    'Ein anderer Kartei-Server (Prozess {pid}) verwendet das Datenverzeichnis {dataDir}; erst ihn anhalten (Sperre: {lock}).',
  'backup-running':
    'Auf {dataDir} läuft schon {what} (Prozess {pid}, seit {at}); warten, bis das endet (Sperre: {lock}).',
  'restore-unfinished':
    'Eine Wiederherstellung in {dataDir} ist nicht abgeschlossen ({marker}); `kartei restore` mit derselben Sicherung erneut ausführen, um sie abzuschließen.',
  // kartei backup (src/ops/backup.ts).
  'backup-master-rotation-interrupted':
    'Ein Wechsel des Hauptschlüssels in {keyDir} ist unterbrochen ({state}): die Amtsschlüssel liegen unter zwei Hauptschlüsseln; erst mit `kartei keys rotate-master` abschließen, dann Daten und Schlüsselverzeichnis sichern.',
  'key-dir-not-initialised':
    'Dem Schlüsselverzeichnis {keyDir} fehlt {file}: kein eingerichtetes Kartei-Schlüsselverzeichnis (erst die Schlüssel zurückspielen).',
  'backup-dest-link': 'Das Sicherungsziel {dest} ist ein symbolischer Link; das Verzeichnis selbst angeben.',
  'backup-dest-not-dir': 'Das Sicherungsziel {dest} gibt es schon, und es ist kein Verzeichnis.',
  'backup-dest-not-empty': 'Das Sicherungsziel {dest} ist nicht leer; eine Sicherung schreibt nie über eine andere.',
  'backup-dest-no-parent': 'Das übergeordnete Verzeichnis {parent} des Sicherungsziels gibt es nicht.',
  'backup-dest-in-data-dir':
    'Das Sicherungsziel {dest} liegt im oder um das Datenverzeichnis ({dir}); einen Ort außerhalb wählen.',
  'backup-dest-in-key-dir':
    'Das Sicherungsziel {dest} liegt im oder um das Schlüsselverzeichnis ({dir}); einen Ort außerhalb wählen.',
  'keys-backup-in-data-backup':
    'Das Ziel der Schlüsselsicherung {dest} liegt in einer Datensicherung ({backup}); die Schlüssel an einem getrennten Ort aufbewahren.',
  'data-backup-in-keys-backup':
    'Das Ziel der Datensicherung {dest} liegt in einer Schlüsselsicherung ({backup}); die Schlüssel an einem getrennten Ort aufbewahren.',
  'backup-no-database': 'Keine Datenbank unter {db}: nichts zu sichern (den Server einmal starten).',
  // kartei restore (src/ops/restore.ts, src/ops/restore-keys.ts).
  'restore-target-not-dir': 'Das Datenverzeichnis {dataDir} ist kein Verzeichnis.',
  'restore-target-not-empty':
    'Das Datenverzeichnis {dataDir} ist nicht leer; eine Wiederherstellung schreibt nie über Daten – in ein leeres Verzeichnis zurückspielen.',
  'restore-other-backup':
    'Im Datenverzeichnis {dataDir} liegt eine unterbrochene Wiederherstellung einer anderen Sicherung; `kartei restore` mit jener ausführen oder mit einem leeren Verzeichnis beginnen.',
  'restore-foreign-files':
    'Im Datenverzeichnis {dataDir} liegen neben einer unterbrochenen Wiederherstellung {files}; es erst leeren.',
  'restore-keys-do-not-open':
    'Der Hauptschlüssel des Schlüsselverzeichnisses öffnet die Daten dieser Sicherung nicht: das dazugehörige Schlüsselverzeichnis zurückspielen (kartei backup --keys).',
  'restore-key-dir-not-empty':
    'Das Schlüsselverzeichnis {keyDir} ist nicht leer; eine Wiederherstellung schreibt nie über Schlüssel.',
  // Issue 19: s23-german-cli — sealed files' storage and the S3 credentials file (src/vault/storage.ts, sealed-objects-s3.ts).
  'storage-s3-unset':
    'KARTEI_STORAGE=s3 braucht die Einstellungen KARTEI_S3_ENDPOINT, KARTEI_S3_BUCKET, KARTEI_S3_REGION und KARTEI_S3_CREDENTIALS_FILE; bitte setzen.',
  'storage-database-sqlite':
    'KARTEI_STORAGE=database legt Bilder und Dokumente in PostgreSQL ab; mit SQLite liegen sie im Datenverzeichnis: KARTEI_STORAGE=files setzen oder entfernen.',
  'storage-files-left-database':
    'Start abgelehnt: Bilder und Dokumente liegen in PostgreSQL (KARTEI_STORAGE=database oder nicht gesetzt), aber das Datenverzeichnis enthält {area} als Dateien ({left}). KARTEI_STORAGE=files setzen, um sie weiter zu verwenden.',
  'storage-files-left-s3':
    'Start abgelehnt: Bilder und Dokumente liegen in S3 (KARTEI_STORAGE=s3), aber das Datenverzeichnis enthält {area} als Dateien ({left}). KARTEI_STORAGE=files setzen, um sie weiter zu verwenden.',
  // s24: echo — the value is not repeated: it may be the key itself.
  's3-credentials-missing':
    'KARTEI_S3_CREDENTIALS_FILE nennt keine vorhandene Datei (der Wert wird hier nicht wiederholt: er kann der Schlüssel selbst sein); die Zeilen aws_access_key_id = … und aws_secret_access_key = … in eine Datei mit Modus 600 schreiben und KARTEI_S3_CREDENTIALS_FILE auf ihren Pfad setzen.',
  's3-credentials-link': '{file} abgelehnt: Die S3-Zugangsdatei ist ein symbolischer Link; die Datei selbst nennen.',
  's3-credentials-unreadable':
    'KARTEI_S3_CREDENTIALS_FILE {file} lässt sich nicht lesen ({code}); bitte Pfad und Rechte prüfen.',
  's3-credentials-not-file': '{file} abgelehnt: Die S3-Zugangsdatei ist keine gewöhnliche Datei.',
  's3-credentials-exposed':
    'Start abgelehnt: Die S3-Zugangsdatei {file} ist für andere lesbar (Modus {mode}); chmod 600 darauf ausführen.',
  's3-credentials-too-large': '{file} abgelehnt: {size} Byte sind keine S3-Zugangsdatei.',
  's3-credentials-line':
    '{file}, Zeile {line}: Eine S3-Zugangsdatei enthält die Zeilen aws_access_key_id = … und aws_secret_access_key = … (und wahlweise aws_session_token = …), jede einmal.',
  's3-credentials-incomplete':
    '{file} muss aws_access_key_id = … und aws_secret_access_key = … enthalten; bitte ergänzen.',
  // Issue 19: s23-german-cli — the master key and the audit signing key (src/vault, src/audit/signing-key-rotation.ts).
  // Issue 19: s25-start-files — `kartei doctor`: a SQLite database whose master key is missing (src/cli/main.ts).
  // s25: a master key gone while a process that read it runs (a new office's key is never wrapped under a new one).
  'master-key-gone':
    'Der Hauptschlüssel {file} ist nicht mehr da: das Schlüsselverzeichnis zurücklegen (aus seiner Sicherung: kartei backup --keys).',
  'master-key-lost':
    'Kein Hauptschlüssel {file}, aber die Datenbank {database} ist da: ihre Daten öffnen sich nur mit dem Hauptschlüssel, mit dem sie versiegelt wurden; das zugehörige Schlüsselverzeichnis zurücklegen (aus seiner Sicherung: kartei backup --keys). Ohne ihn startet Kartei nicht.',
  // Issue 19: s25-start-files — an office's key the key directory cannot open (src/vault/office-keys-check.ts).
  'office-key-unopenable':
    'Start abgelehnt: Der Schlüssel des Amts „{office}“ lässt sich mit dem Hauptschlüssel {file} nicht öffnen: Dieses Schlüsselverzeichnis gehört nicht zu dieser Datenbank, oder sein Hauptschlüssel wurde ersetzt oder ging verloren; das zugehörige Schlüsselverzeichnis zurücklegen (aus seiner Sicherung: kartei backup --keys).',
  'master-key-missing':
    'Kein Hauptschlüssel in {keyDir}: bei einer neuen Installation den Server einmal starten, damit er ihn anlegt; hält die Datenbank schon Ämter, das zugehörige Schlüsselverzeichnis zurücklegen (aus seiner Sicherung: kartei backup --keys).',
  'master-rotation-since-start':
    'Seit dieser Prozess gestartet ist, wurde ein Wechsel des Hauptschlüssels begonnen oder abgeschlossen: ihn mit `kartei keys rotate-master` abschließen, dann erneut versuchen.',
  'master-rotation-foreign':
    'Das Schlüsselverzeichnis {keyDir} enthält {next} und {retired} eines anderen Hauptschlüssels: es aus der Schlüsselsicherung zurückspielen.',
  'master-rotation-office-unwrapped':
    'Der Schlüssel des Amtes {office} liegt weder unter dem neuen Hauptschlüssel {master} noch unter dem bisherigen; bitte das Schlüsselverzeichnis prüfen (oder aus der Schlüsselsicherung zurückspielen).',
  'audit-key-not-in-key-dir':
    'Der Signaturschlüssel des Protokolls stammt nicht aus einem Schlüsselverzeichnis (KARTEI_KEY_DIR); so lässt er sich nicht wechseln.',
  'audit-key-successor-mismatch':
    '{file} nennt {successor} als Nachfolger von {keyId}, aber der Signaturschlüssel ist {current}; bitte das Schlüsselverzeichnis prüfen (oder aus der Schlüsselsicherung zurückspielen).',
  'audit-key-unexpected':
    'Der Signaturschlüssel in Gebrauch ist {current}, erwartet war {expected}; bitte das Schlüsselverzeichnis prüfen.',
  'audit-key-rotation-running':
    'Ein anderer Wechsel des Signaturschlüssels läuft schon (Prozess {pid}); warten, bis er endet.',
  'audit-key-rotation-lock':
    'Die Sperre für den Wechsel des Signaturschlüssels ließ sich nicht setzen; bitte erneut versuchen.',
  // Issue 19: s23-german-cli — re-encryption of a department (src/ops/department-reencrypt.ts).
  'reencrypt-running':
    'Eine andere Neuverschlüsselung dieser Abteilung läuft schon (auf dieser oder einer anderen Instanz); warten, bis sie endet.',
  'reencrypt-rotation-pending':
    'Ein Schlüsselwechsel dieser Abteilung ist im Gang (Version {pending} ausstehend): erst mit `kartei keys rotate-department` abschließen.',
  'reencrypt-rotated-meanwhile':
    'Der Schlüssel der Abteilung wurde inzwischen erneut gewechselt: bitte erneut ausführen.',
  // Issue 19: s23-german-cli — a backup's completeness and its manifest (src/ops/backup.ts, backup-manifest.ts, restore*.ts).
  'backup-objects-missing':
    '{missing} Bild(er) oder Dokument(e), die die Datenbank nennt, fehlen in ihrem Speicher; die Sicherung wäre unvollständig – bitte `kartei doctor` ausführen.',
  'backup-s3-objects-missing':
    '{missing} Bild(er) oder Dokument(e), die die Datenbank nennt, fehlen im S3-Bucket {bucket}; die Sicherung wäre unvollständig – bitte `kartei doctor` ausführen.',
  'backup-files-missing':
    '{missing} Datei(en), die die Datenbank nennt, fehlen im Datenverzeichnis (erste: {first}); die Sicherung wäre unvollständig – bitte `kartei doctor` ausführen.',
  'restore-objects-missing':
    'Die Datenbank nennt {missing} Bild(er) oder Dokument(e), die ihr Speicher nicht enthält: einen vollständigen Datenbank-Abzug zurückspielen.',
  'restore-files-missing':
    'Die Datenbank nennt {missing} Datei(en), die diese Sicherung nicht enthält (erste: {first}): den VOR dieser Sicherung gezogenen Datenbank-Abzug zurückspielen.',
  'restore-s3-objects-missing':
    'Dem S3-Bucket {bucket} fehlen {missing} Bild(er) oder Dokument(e), die die Datenbank nennt: erst die Objekte des Buckets (seine Versionierung) zurückspielen.',
  'manifest-not-file': '{file} ist keine gewöhnliche Datei.',
  'manifest-missing': 'Kein Sicherungsmanifest unter {file}: keine vollständige Kartei-Sicherung.',
  'manifest-not-json': '{file} ist kein JSON: kein Manifest einer Kartei-Sicherung.',
  'manifest-wrong-format': '{file} ist kein Manifest einer {kind} von Kartei (Format {format}).',
  'manifest-not-authentic':
    '{file} lässt sich mit dem Protokoll-Kettenschlüssel dieses Schlüsselverzeichnisses nicht bestätigen: verändert oder von einer anderen Installation; das passende Schlüsselverzeichnis verwenden.',
  'manifest-foreign-file': '{file} nennt eine Datei, die Kartei nie schreibt: {path}',
  'manifest-file-twice': '{file} nennt {path} zweimal.',
  'manifest-no-database': 'Das Manifest nennt keine Datenbank.',
  'backup-entry-not-file': '{path} ist weder eine gewöhnliche Datei noch ein Verzeichnis.',
  'keys-backup-incomplete': '{dir} ist keine vollständige Kartei-Schlüsselsicherung (kein {file} oder kein Manifest).',
  'keys-backup-extra-files': 'Die Schlüsselsicherung enthält andere Dateien, als ihr Manifest nennt.',
  'keys-backup-file-differs': '{path} in der Schlüsselsicherung stimmt nicht mit ihrem Manifest überein.',
  'backup-unfinished': '{dir} ist eine nie abgeschlossene Sicherung ({marker}); bitte eine andere verwenden.',
  'backup-other-dialect':
    'Die Sicherung stammt von einer Installation mit {backupDialect}; diese Konfiguration verwendet {dialect} (KARTEI_DATABASE_URL).',
  'backup-other-storage':
    'Die Sicherung hält Bilder und Dokumente {backupStorage}, diese Konfiguration {storage}: KARTEI_STORAGE wie bei der Sicherung setzen.',
  'backup-extra-files': 'Die Sicherung enthält {n} Datei(en), die ihr Manifest nicht nennt (erste: {first}).',
  'backup-files-absent': '{n} Datei(en) des Manifests fehlen in der Sicherung (erste: {first}).',
  'backup-file-differs':
    '{path} in der Sicherung stimmt nicht mit ihrem Manifest überein (Größe oder SHA-256 weicht ab).',
  'backup-database-unreadable': 'Die Datenbank der Sicherung lässt sich nicht lesen: {reason}',
  'backup-database-counts-differ': 'Die Datenbank der Sicherung enthält nicht die Anzahlen, die ihr Manifest nennt.',
  'backup-files-not-database': 'Die Dateien der Sicherung sind nicht die, die ihre Datenbank nennt.',
  'backup-changed-during-restore': '{path} hat sich in der Sicherung geändert, während sie zurückgespielt wurde.',
  // kartei offices (src/identity/offices.ts).
  'office-name-invalid': 'Der Name eines Amtes hat 2 bis 200 Zeichen und keine Steuerzeichen.',
  'office-host-invalid': 'Kein Rechnername: {host}',
  'office-host-needed': 'In dieser Installation gibt es schon ein Amt: dem neuen eine eigene Adresse geben (--host).',
  'office-name-taken': 'Ein Amt mit dem Namen „{name}“ gibt es schon.',
  'office-host-taken': 'Ein Amt unter {host} gibt es schon.',
  'office-unknown': 'Kein Amt mit dem Namen {name}.',
  'office-set-up': 'Das Amt „{name}“ ist schon eingerichtet.',
};

/** What holds the backup lock (src/ops/backup-lock.ts), in German. */
const WORKS_DE: Record<string, string> = {
  backup: 'eine Sicherung',
  'keys backup': 'eine Schlüsselsicherung',
  restore: 'eine Wiederherstellung',
  'master key rotation': 'ein Wechsel des Hauptschlüssels',
  'department key rotation': 'ein Schlüsselwechsel einer Abteilung',
  're-wrap of person keys': 'ein Neuverpacken von Personenschlüsseln',
  're-encryption': 'eine Neuverschlüsselung',
};

/** What a backup holds (src/ops/backup-manifest.ts), in German. */
const BACKUP_KINDS_DE: Record<string, string> = { data: 'Datensicherung', keys: 'Schlüsselsicherung' };

/** Where images and documents are kept (KARTEI_STORAGE), in German. */
const STORAGE_DE: Record<string, string> = { database: 'in der Datenbank', files: 'in Dateien', s3: 'in S3' };

/** What a refusal says in the chosen language: German from its code where there is one, else its message. */
export function refusalText(e: Error & { refusal?: Refusal }): string {
  const german = e.refusal && currentCliLang() === 'de' ? REFUSALS_DE[e.refusal.code] : undefined;
  if (german === undefined) return e.message;
  const params = { ...e.refusal?.params };
  if (typeof params.at === 'string') params.at = formatMoment(params.at);
  if (typeof params.what === 'string') params.what = WORKS_DE[params.what] ?? params.what;
  // Issue 19: s23-german-cli — where a backup and this configuration keep images and documents.
  if (typeof params.kind === 'string') params.kind = BACKUP_KINDS_DE[params.kind] ?? params.kind;
  for (const k of ['backupStorage', 'storage'])
    if (typeof params[k] === 'string') params[k] = STORAGE_DE[params[k]] ?? params[k];
  return fill(german, params);
}
