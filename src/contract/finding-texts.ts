// The security report's findings in words, German and English: one title and one remedy per finding
// code (src/ops/security-findings.ts), with `{param}` placeholders. One home for the browser (spread
// into web/src/i18n/de.ts and en.ts) and the server (`kartei doctor`, src/cli/doctor-output.ts).

/** German, the default language. */
export const FINDING_TEXTS_DE = {
  'finding.certificate-unreadable.title': 'Das {cert} ({file}) lässt sich nicht als PEM-Zertifikat lesen',
  'finding.certificate-unreadable.fix':
    'Zeigen Sie die Einstellung auf die PEM-Datei des Zertifikats; ohne sie startet der Server nicht.',
  'finding.certificate-expired.title': 'Das {cert} ist am {date} abgelaufen',
  'finding.certificate-expired.fix':
    'Erneuern Sie das {cert} (Schlüssel RSA ≥ 3072 Bit oder ECDSA P-256/P-384) und starten Sie den Server neu.',
  'finding.certificate-expires-soon.title': 'Das {cert} läuft innerhalb von {days} Tagen ab ({date})',
  'finding.certificate-expires-soon.fix':
    'Erneuern Sie das {cert} (Schlüssel RSA ≥ 3072 Bit oder ECDSA P-256/P-384) und starten Sie den Server neu.',
  'finding.certificate-expires.title': 'Das {cert} läuft innerhalb von {days} Tagen ab ({date})',
  'finding.certificate-expires.fix':
    'Erneuern Sie das {cert} (Schlüssel RSA ≥ 3072 Bit oder ECDSA P-256/P-384) und starten Sie den Server neu.',
  'finding.certificate-rsa-weak.title':
    'Das {cert} hat einen {type}-Schlüssel mit {bits} Bit (BSI TR-02102: mindestens 3000 Bit, unter 2048 nicht hinnehmbar)',
  'finding.certificate-rsa-weak.fix':
    'Erneuern Sie das {cert} (Schlüssel RSA ≥ 3072 Bit oder ECDSA P-256/P-384) und starten Sie den Server neu.',
  'finding.certificate-rsa-short.title':
    'Das {cert} hat einen {type}-Schlüssel mit {bits} Bit (BSI TR-02102 empfiehlt mindestens 3000 Bit)',
  'finding.certificate-rsa-short.fix':
    'Erneuern Sie das {cert} (Schlüssel RSA ≥ 3072 Bit oder ECDSA P-256/P-384) und starten Sie den Server neu.',
  'finding.certificate-curve-weak.title':
    'Das {cert} hat einen Schlüssel auf der Kurve {curve} (BSI TR-02102: mindestens 250 Bit)',
  'finding.certificate-curve-weak.fix':
    'Erneuern Sie das {cert} (Schlüssel RSA ≥ 3072 Bit oder ECDSA P-256/P-384) und starten Sie den Server neu.',
  'finding.config-not-startable.title': 'Mit dieser Konfiguration startet der Server nicht',
  'finding.config-not-startable.fix':
    'Nur auf 127.0.0.1 lauschen oder TLS einrichten; das Schlüsselverzeichnis außerhalb des Datenverzeichnisses halten („kartei doctor“ nennt den Grund).',
  'finding.key-files-exposed.title': 'Schlüsselmaterial ist für andere lesbar: {path}',
  'finding.key-files-exposed.fix': 'chmod 700 {keyDir} && chmod 600 {keyDir}/*',
  'finding.data-dir-exposed.title': 'Das Datenverzeichnis {dataDir} ist für andere Benutzer zugänglich',
  'finding.data-dir-exposed.fix': 'chmod 700 {dataDir}',
  'finding.dicom-loopback-plain.title': 'DICOM-Empfang nur auf diesem Rechner ({host}:{port}), ohne TLS',
  'finding.dicom-loopback-plain.fix':
    'Nur Geräte auf diesem Rechner erreichen ihn. Für Modalitäten im Netz KARTEI_DICOM_TLS_CERT, _KEY und _CA setzen (Client-Zertifikate nötig).',
  'finding.public-url-ip.title':
    'KARTEI_PUBLIC_URL nennt eine IP-Adresse ({publicUrl}): Passkeys können nicht funktionieren',
  'finding.public-url-ip.fix':
    'KARTEI_PUBLIC_URL auf die Adresse setzen, die die Nutzenden öffnen, mit Rechnernamen (z. B. https://kartei.gesundheitsamt.example, auf diesem Rechner http://localhost:8080).',
  'finding.http-loopback-plain.title': 'Der Server lauscht nur auf diesem Rechner, ohne TLS',
  'finding.http-loopback-plain.fix':
    'In Ordnung hinter einem TLS-Proxy auf diesem Rechner; für TLS direkt KARTEI_TLS_CERT/KEY setzen.',
  'finding.setup-pending.title': 'Die Ersteinrichtung ist nicht abgeschlossen',
  'finding.setup-pending.fix':
    'Öffnen Sie den Einrichtungslink, den der Server ausgegeben hat, oder starten Sie den Server für einen neuen neu.',
  'finding.setup-not-started.title': 'Die Ersteinrichtung ist nicht abgeschlossen',
  'finding.setup-not-started.fix': 'Starten Sie den Server, um einen Einrichtungslink zu erhalten.',
  'finding.setup-token-left.title': 'Nach der Einrichtung liegt noch eine Einrichtungs-Token-Datei im Datenverzeichnis',
  'finding.setup-token-left.fix': 'Löschen Sie {file}.',
  'finding.accounts-without-mfa.title': '{n} aktive Konten ohne zweiten Faktor',
  'finding.accounts-without-mfa.fix':
    'Diese Personen richten bei der nächsten Anmeldung TOTP ein; nicht genutzte Konten deaktivieren.',
  'finding.audit-chain-broken.title': 'Die Protokollkette ist ab Nr. {seq} verletzt ({problem})',
  'finding.audit-chain-broken.fix':
    'Als Sicherheitsvorfall behandeln: eine Kopie der Datenbank sichern, den Datenschutz informieren, „kartei audit verify“ für Einzelheiten ausführen.',
  'finding.audit-unsigned-tail.title': '{n} Protokolleinträge nach dem letzten signierten Prüfpunkt',
  'finding.audit-unsigned-tail.fix': 'Der laufende Server signiert jede Minute einen Prüfpunkt.',
  'finding.audit-checkpoint-refused.title':
    'Prüfpunkt am {at} verweigert: {chain} lässt sich ab Nr. {seq} nicht prüfen ({problem})',
  'finding.audit-checkpoint-refused.fix':
    'Jemand hat außerhalb von Kartei in das Protokoll geschrieben. Als Sicherheitsvorfall behandeln: Kopie von Datenbank und Schlüsselverzeichnis sichern, den Datenschutz informieren, „kartei audit verify“ ausführen. Bis die Kette wieder stimmt, signiert der Server keinen Prüfpunkt.',
  'finding.postgres-schema-owner.title': 'Die Anwendung verbindet sich mit PostgreSQL als Eigentümerin des Schemas',
  'finding.postgres-schema-owner.fix':
    'KARTEI_DATABASE_URL auf eine Rolle ohne DDL-Rechte setzen und KARTEI_DATABASE_ADMIN_URL auf die Eigentümerin (siehe README).',
  'finding.postgres-no-tls.title': 'PostgreSQL auf {host} wird ohne TLS erreicht',
  'finding.postgres-no-tls.fix': 'sslmode=verify-full an KARTEI_DATABASE_URL anfügen.',
  'finding.admins-are-members.title': '{n} Verwaltungskonten sind auch Mitglied einer Abteilung',
  'finding.admins-are-members.fix':
    'Verwaltung und Fallarbeit auf getrennte Konten verteilen, damit die Verwaltung keine Akten liest.',
  'finding.admin-chosen-passwords.title': '{n} aktive Konten haben noch ein Passwort, das die Verwaltung gewählt hat',
  'finding.admin-chosen-passwords.fix':
    'Für jedes einen Link zum Neu-Einrichten anfordern (Benutzer → Zugang neu einrichten), von einer zweiten Person freigeben lassen und übergeben: die Person wählt dann ihr eigenes Passwort und ihren zweiten Faktor. Die Benutzerliste markiert diese Konten.',
  'finding.no-dpo.title': 'Kein Konto mit der Rolle Datenschutz',
  'finding.no-dpo.fix':
    'Ein Konto mit der Amtsrolle Datenschutz anlegen: Notfallzugriffe warten auf Prüfung, und Auskunftsersuchen brauchen jemanden, der sie beantwortet.',
  'finding.reviews-waiting.title': '{n} Notfallzugriffe seit mehr als {days} Tagen ungeprüft',
  'finding.reviews-waiting.fix': 'Der Datenschutz oder die Abteilungsleitung prüft sie unter „Prüfungen“.',
  'finding.legacy-tokens.title':
    '{n} API-Tokens aus der Zeit vor den Berechtigungen dürfen nur noch DICOMweb nutzen (dicomweb:read, dicomweb:store)',
  'finding.legacy-tokens.fix':
    'Ihre Inhaber erstellen Tokens mit den Berechtigungen, die ihre Skripte brauchen (Mein Konto → API-Tokens; die Kommandozeile braucht admin), und widerrufen die alten.',
  'finding.devices-by-host.title': '{n} DICOM-Geräte nur am Host dieses Rechners erkannt: {aeTitles}',
  'finding.devices-by-host.fix':
    'In Ordnung für Programme auf diesem Rechner; Geräte im Netz mit ihrem Client-Zertifikat registrieren.',
  'finding.device-certificate-expired.title': 'Das Zertifikat des DICOM-Geräts {aeTitle} ist abgelaufen',
  'finding.device-certificate-expired.fix':
    'Das Gerät mit seinem erneuerten Zertifikat neu registrieren (kartei devices remove / add).',
  'finding.device-certificate-expires.title':
    'Das Zertifikat des DICOM-Geräts {aeTitle} läuft innerhalb von {days} Tagen ab',
  'finding.device-certificate-expires.fix': 'Auf dem Gerät erneuern und das neue Zertifikat registrieren.',
  'finding.not-initialised.title': 'Noch nicht eingerichtet: kein Hauptschlüssel',
  'finding.not-initialised.fix': 'Den Server einmal starten (npm start); er legt Schlüssel und Datenbank an.',
  'finding.cannot-open.title': 'Die Installation lässt sich nicht öffnen',
  'finding.cannot-open.fix': 'Die Konfiguration berichtigen, die „kartei doctor“ nennt.',
  'finding.cert.https': 'HTTPS-Serverzertifikat',
  'finding.cert.dicom': 'DICOM-Serverzertifikat',
  'finding.cert.dicom-ca': 'CA-Zertifikat der DICOM-Geräte',
  'finding.chain.installation': 'die Kette der Installation',
  'finding.chain.office': 'die Kette des Amts {id}',
  'finding.accounts-without-mfa.title.one': '1 aktives Konto ohne zweiten Faktor',
  'finding.admins-are-members.title.one': '1 Verwaltungskonto ist auch Mitglied einer Abteilung',
  'finding.admin-chosen-passwords.title.one': '1 aktives Konto hat noch ein Passwort, das die Verwaltung gewählt hat',
  'finding.reviews-waiting.title.one': '1 Notfallzugriff seit mehr als {days} Tagen ungeprüft',
  'finding.legacy-tokens.title.one':
    '1 API-Token aus der Zeit vor den Berechtigungen darf nur noch DICOMweb nutzen (dicomweb:read, dicomweb:store)',
  'finding.devices-by-host.title.one': '1 DICOM-Gerät nur am Host dieses Rechners erkannt: {aeTitles}',
  'finding.audit-unsigned-tail.title.one': '1 Protokolleintrag nach dem letzten signierten Prüfpunkt',
  'finding.unknown': 'Befund {code}',
  'finding.store-recovered.title':
    'Beim Start am {at} wurde ein unterbrochenes Speichern aufgeräumt: {partial} unfertige und {orphans} nicht indizierte Bilddateien entfernt',
  'finding.store-recovered.fix':
    'Nichts zu tun: Diese Bilder wurden dem Absender nie bestätigt, er sendet sie erneut. Geschieht es öfter, klären Sie, warum der Server anhält (Absturz, Abbruch, Stromausfall).',
  'finding.store-orphans-kept.title':
    'Beim Start am {at} hatten {n} Bilddateien keinen Eintrag in der Datenbank und wurden behalten: mehr, als ein Absturz hinterlässt',
  'finding.store-orphans-kept.title.one':
    'Beim Start am {at} hatte 1 Bilddatei keinen Eintrag in der Datenbank und wurde behalten: mehr, als ein Absturz hinterlässt',
  'finding.store-orphans-kept.fix':
    'Die Datenbank ist womöglich älter als das Bildverzeichnis (eine zurückgespielte Sicherung?). Nichts löschen: die passende Datenbank zurückspielen oder den Support fragen; solange es so viele sind, entfernt der Server keine dieser Dateien.',
  'finding.test-hook-set.title': 'Die Testvariable {variable} ist gesetzt',
  'finding.test-hook-set.fix':
    'Entfernen Sie {variable} aus der Umgebung des Servers; sie ist nur für Tests und verzögert jedes gespeicherte Bild (wirksam nur mit NODE_ENV=test).',
  'finding.runtime-end-of-life.title':
    'Node.js {version} erhält seit dem {date} keine Sicherheitskorrekturen mehr (Ende der Unterstützung)',
  'finding.runtime-end-of-life.fix':
    'Betreiben Sie Kartei mit der mitgelieferten Node.js-LTS-Version: `npm ci`, dann `npm start` (oder node_modules/.bin/node bin/kartei.js serve).',
  'finding.runtime-not-lts.title':
    'Node.js {version} ist keine Version mit Langzeitunterstützung (LTS); ihre Unterstützung endet sechs Monate nach Erscheinen',
  'finding.runtime-not-lts.fix':
    'Betreiben Sie Kartei mit der mitgelieferten Node.js-LTS-Version: `npm ci`, dann `npm start` (oder node_modules/.bin/node bin/kartei.js serve).',
  'finding.demis-certificate-expired.title': 'Das DEMIS-Zertifikat des Amtes ist abgelaufen',
  'finding.demis-certificate-expired.fix':
    'Ein neues Zertifikat im CSM-Portal beantragen und mit seinem Schlüssel unter Verwaltung → DEMIS hinterlegen.',
  'finding.demis-certificate-expires.title': 'Das DEMIS-Zertifikat des Amtes läuft in {days} Tagen ab ({notAfter})',
  'finding.demis-certificate-expires.fix':
    'Rechtzeitig ein neues Zertifikat im CSM-Portal beantragen und unter Verwaltung → DEMIS hinterlegen.',
  'finding.demis-failing.title': 'Der Abruf von DEMIS schlägt seit {failures} Versuchen fehl',
  'finding.demis-failing.fix':
    'Den letzten Fehler unter Verwaltung → DEMIS ansehen: Zertifikat, Client-Geheimnis und Adressen prüfen.',
  'finding.demis-credentials-unreadable.title': 'Die versiegelten DEMIS-Zugangsdaten lassen sich nicht öffnen',
  'finding.demis-credentials-unreadable.fix':
    'Prüfen, ob der Schlüsselordner zur Datenbank gehört; sonst die DEMIS-Anbindung neu hinterlegen.',
  'finding.attachment-limit-high.title':
    'KARTEI_ATTACHMENT_MAX_MB ist {mb}: ein einzelnes Dokument darf größer als 1 GB sein',
  'finding.attachment-limit-high.fix':
    'KARTEI_ATTACHMENT_MAX_MB auf das setzen, was Scans und Anhänge brauchen (Vorgabe 50, höchstens 1024), und den Server neu starten.',
  'finding.allocator-not-applied.title': 'Der Speicher-Allokator ist nicht der des Produktionsstarts: {reason}',
  'finding.allocator-not-applied.fix':
    'Starten Sie Kartei über bin/kartei.js (npm start oder node_modules/.bin/node bin/kartei.js serve), mit KARTEI_ALLOCATOR ungesetzt (tuned) oder tuned, jemalloc (apt install libjemalloc2) oder system.',
  'finding.storage-full.title': 'Das Dateisystem des Verzeichnisses {path} ist voll: {freeMb} MB frei',
  'finding.storage-full.fix':
    'Schaffen Sie sofort Platz oder vergrößern Sie das Dateisystem: bis dahin werden Änderungen, Bilder und jeder protokollierte Lesezugriff abgelehnt (503 storage-full). Bestätigtes geht nicht verloren; sobald Platz ist, geht es von selbst weiter.',
  'finding.storage-low.title':
    'Das Dateisystem des Verzeichnisses {path} hat nur noch {freeMb} MB frei (Warnschwelle {thresholdMb} MB)',
  'finding.storage-low.fix':
    'Schaffen Sie Platz oder vergrößern Sie das Dateisystem, bevor es voll ist; die Schwelle ist KARTEI_STORAGE_LOW_MB.',
  'finding.master-key-short.title':
    'Der Hauptschlüssel {path} hat nur {bytes} Byte, weniger als die 32 Zufallsbytes, die Kartei erzeugt',
  'finding.master-key-short.fix':
    'Server anhalten, `kartei keys rotate-master` ausführen (das erzeugt 32 Zufallsbytes; ein als Container-Secret eingehängtes master.key durch die neue Datei ersetzen), Server wieder starten und das Schlüsselverzeichnis sichern; keine Passphrase als master.key verwenden.',
  'finding.master-key-old.title': 'Der Hauptschlüssel {keyId} ist {days} Tage alt (älter als {maxDays})',
  'finding.master-key-old.fix':
    'Server anhalten, `kartei keys rotate-master` ausführen, Server wieder starten und das Schlüsselverzeichnis sichern (oder KARTEI_KEY_MAX_AGE_DAYS setzen).',
  'finding.master-rotation-interrupted.title':
    'Ein Wechsel des Hauptschlüssels wurde unterbrochen ({state}); alle Schlüssel lassen sich weiter öffnen',
  'finding.master-rotation-interrupted.fix':
    'Server anhalten und `kartei keys rotate-master` ausführen: der Wechsel wird abgeschlossen. Danach das Schlüsselverzeichnis sichern.',
  'finding.backup-none.title': 'Es wurde noch keine Datensicherung angelegt',
  'finding.backup-none.fix':
    'Regelmäßig `kartei backup ZIEL` ausführen (z. B. mit einem systemd-Timer) und `kartei backup --keys ZIEL2` an einen getrennten Ort.',
  'finding.backup-old.title': 'Die letzte Datensicherung ist {hours} Stunden alt (vom {at})',
  'finding.backup-old.fix':
    '`kartei backup ZIEL` ausführen und klären, warum die geplante Sicherung nicht lief (KARTEI_BACKUP_MAX_AGE_HOURS legt die Grenze fest).',
  'finding.backup-age.title': 'Die letzte Datensicherung ist {hours} Stunden alt (vom {at})',
  'finding.backup-age.fix': 'Nichts zu tun.',
  'finding.keys-backup-none.title':
    'Das Schlüsselverzeichnis wurde nie mit `kartei backup --keys` gesichert; ohne es ist keine Sicherung lesbar',
  'finding.keys-backup-none.fix':
    '`kartei backup --keys ZIEL2` an einen Ort getrennt von den Datensicherungen ausführen, und erneut nach jedem Schlüsselwechsel.',
  'finding.backup-running.title': 'Seit {at} läuft eine Sicherung oder Wiederherstellung (Prozess {pid})',
  'finding.backup-running.fix': 'Nichts zu tun; warten, bis sie endet.',
  'finding.restored-from-backup.title':
    'Am {at} aus der Sicherung vom {backupAt} wiederhergestellt; nach der Sicherung bezeugte Protokollereignisse, die darin fehlen: {gap}',
  'finding.restored-from-backup.fix':
    'Nichts zu reparieren: Die Wiederherstellung und diese Lücke stehen im Protokoll (system.restore). Was nach der Sicherung erfasst wurde, erneut erfassen.',
  'finding.audit-key-rotation-unfinished.title':
    'Die Rotation des Signaturschlüssels des Protokolls ist nicht abgeschlossen: {state}',
  'finding.audit-key-rotation-unfinished.fix':
    '„kartei audit rotate-key“ erneut ausführen: es schließt diese Rotation ab (und beginnt keine weitere).',
  'finding.key-file-link.title': 'Eine Schlüsseldatei, die Kartei selbst schreibt, ist ein symbolischer Link: {path}',
  'finding.key-file-link.fix':
    'Den Link {path} entfernen (Kartei schreibt ihn nie als Link) und klären, wer ihn angelegt hat.',
  'finding.key-dir-unknown-file.title': 'Im Schlüsselverzeichnis liegt eine Datei, die Kartei nicht schreibt: {path}',
  'finding.key-dir-unknown-file.fix':
    'Herkunft von {path} prüfen und die Datei aus dem Schlüsselverzeichnis entfernen.',
  'finding.keys-backup-stale.title':
    'Die letzte Sicherung des Schlüsselverzeichnisses (vom {at}) ist älter als der letzte Schlüsselwechsel (vom {rotatedAt}); mit ihr sind die seitdem angelegten Datensicherungen nicht lesbar',
  'finding.keys-backup-stale.fix':
    'Jetzt `kartei backup --keys ZIEL2` an einen Ort getrennt von den Datensicherungen ausführen (die ältere Schlüsselsicherung aufbewahren, solange die Datensicherungen, die sie öffnet).',
  'finding.metrics-token-readable.title':
    'Die Token-Datei der Metriken {path} ist für andere lesbar (Modus {mode}): Kartei startet damit nicht',
  'finding.metrics-token-readable.fix':
    'Führen Sie chmod 600 auf der Token-Datei aus (Eigentümer: der Benutzer, unter dem Kartei läuft) und starten Sie neu.',
  'finding.storage-files-on-postgres.title':
    'Bilder und Dokumente liegen als Dateien auf der Platte dieses Rechners (KARTEI_STORAGE=files), die Datenbank ist PostgreSQL',
  'finding.storage-files-on-postgres.fix':
    'Nur eine Instanz mit diesem Datenverzeichnis kann sie ausliefern; eine weitere Instanz an derselben Datenbank fände sie nicht. Betreiben Sie nur eine Instanz, oder legen Sie sie bei einer neuen Installation in der Datenbank (KARTEI_STORAGE=database) oder in S3 ab.',
  'finding.department-key-rotation-pending.title':
    'Ein Schlüsselwechsel der Abteilung {department} endete nach der Vorbereitung von Version {version}; alles lässt sich weiter öffnen',
  'finding.department-key-rotation-pending.fix':
    'Führen Sie `kartei keys rotate-department {department}` erneut aus, um ihn abzuschließen.',
  'finding.department-key-versions-kept.title':
    'Die Abteilung {department} hat noch frühere Schlüsselversion(en) {versions}: Daten können noch darunter verschlüsselt sein',
  'finding.department-key-versions-kept.fix':
    'Führen Sie `kartei keys reencrypt-department {department}` aus: es verschlüsselt diese Daten unter der aktuellen Version neu und stellt die früheren still.',
  'finding.s3-credentials-readable.title':
    'Die Zugangsdaten-Datei des S3-Speichers {path} ist für andere lesbar (Modus {mode}): Kartei startet damit nicht',
  'finding.s3-credentials-readable.fix':
    'Führen Sie chmod 600 auf der Zugangsdaten-Datei aus (Eigentümer: der Benutzer, unter dem Kartei läuft) und starten Sie neu.',
  'finding.instances-versions-differ.title':
    'Auf dieser Datenbank laufen Kartei-Instanzen verschiedener Versionen oder Schemastände: {instances}',
  'finding.instances-versions-differ.fix':
    'Überall dieselbe Version betreiben: die älteren Instanzen anhalten, auf die Version der neuesten bringen und wieder starten.',
  'finding.instances-keys-differ.title':
    'Auf dieser Datenbank laufen Kartei-Instanzen mit verschiedenen Schlüsselverzeichnissen; sie können die Daten der anderen nicht lesen: {instances}',
  'finding.instances-keys-differ.fix':
    'Allen Instanzen denselben Inhalt des Schlüsselverzeichnisses geben (von der Instanz, mit der das Amt eingerichtet wurde), die anderen neu starten und prüfen, was sie inzwischen geschrieben haben.',
  'finding.instances-files-storage.title':
    '{n} laufende Instanzen legen Bilder und Dokumente in ihrem eigenen Datenverzeichnis ab ({instances}); jede sieht nur, was sie selbst gespeichert hat',
  'finding.instances-files-storage.fix':
    'Auf jeder Instanz KARTEI_STORAGE=database (oder s3) setzen und neu starten; mit Dateiablage nur eine Instanz betreiben.',
  'finding.instance-crashed.title':
    'Die Kartei-Instanz auf {host} (PID {pid}) endete ohne geordnetes Anhalten; zuletzt gemeldet am {at} (wieder gestartet: {restarted})',
  'finding.instance-crashed.fix':
    'Die Ursache klären (ihr Protokoll, das Systemjournal: Absturz, Kill, Speichermangel, Stromausfall, Netz); sie wieder starten, wenn sie gebraucht wird. Was sie gerade tat, übernehmen die anderen Instanzen.',
  'finding.witness-behind.title':
    'Dem Protokoll-Zeugen in diesem Schlüsselverzeichnis ({file}) fehlen Prüfpunkte von {n} Kette(n), signiert seit {signedAt}: ein Zurücksetzen der Datenbank hinter sie bliebe von hier aus unbemerkt',
  'finding.witness-behind.fix':
    'Die Kartei-Instanz dieses Schlüsselverzeichnisses starten (jede Instanz trägt die Prüfpunkte jede Minute in ihr eigenes Schlüsselverzeichnis ein) und prüfen, ob sie dort schreiben kann; bei einem gemeinsamen Schlüsselverzeichnis die Einbindung prüfen.',
  'finding.instance-clock-skew.title':
    'Die Uhr des Rechners {host} weicht {offset} s von der Uhr der Datenbank ab (+ vor, − nach; mehr als {bound} s)',
  'finding.instance-clock-skew.fix':
    'Die Uhr des Rechners mit NTP abgleichen (chrony, systemd-timesyncd), die des Datenbankservers ebenso. Welche Instanzen laufen, beurteilt Kartei nach der Uhr der Datenbank; die Zeiten von Protokolleinträgen, Prüfpunkten und Token-Abläufen nimmt jede Instanz aber von der Uhr ihres Rechners.',
};

/** The keys of the finding texts; the English has every one (its type says so). */
export type FindingTextKey = keyof typeof FINDING_TEXTS_DE;

/** English. */
export const FINDING_TEXTS_EN: Record<FindingTextKey, string> = {
  'finding.certificate-unreadable.title': 'The {cert} ({file}) cannot be read as a PEM certificate',
  'finding.certificate-unreadable.fix':
    'Point the setting at the PEM file of the certificate; the server will not start without it.',
  'finding.certificate-expired.title': 'The {cert} expired on {date}',
  'finding.certificate-expired.fix':
    'Renew the {cert} (with a key of RSA ≥ 3072 bits or ECDSA P-256/P-384) and restart the server.',
  'finding.certificate-expires-soon.title': 'The {cert} expires within {days} days ({date})',
  'finding.certificate-expires-soon.fix':
    'Renew the {cert} (with a key of RSA ≥ 3072 bits or ECDSA P-256/P-384) and restart the server.',
  'finding.certificate-expires.title': 'The {cert} expires within {days} days ({date})',
  'finding.certificate-expires.fix':
    'Renew the {cert} (with a key of RSA ≥ 3072 bits or ECDSA P-256/P-384) and restart the server.',
  'finding.certificate-rsa-weak.title':
    'The {cert} has a {bits}-bit {type} key (BSI TR-02102: at least 3000 bits, under 2048 not acceptable)',
  'finding.certificate-rsa-weak.fix':
    'Renew the {cert} (with a key of RSA ≥ 3072 bits or ECDSA P-256/P-384) and restart the server.',
  'finding.certificate-rsa-short.title':
    'The {cert} has a {bits}-bit {type} key (BSI TR-02102 recommends at least 3000 bits)',
  'finding.certificate-rsa-short.fix':
    'Renew the {cert} (with a key of RSA ≥ 3072 bits or ECDSA P-256/P-384) and restart the server.',
  'finding.certificate-curve-weak.title':
    'The {cert} has an elliptic-curve key on {curve} (BSI TR-02102: at least 250 bits)',
  'finding.certificate-curve-weak.fix':
    'Renew the {cert} (with a key of RSA ≥ 3072 bits or ECDSA P-256/P-384) and restart the server.',
  'finding.config-not-startable.title': 'The server does not start with this configuration',
  'finding.config-not-startable.fix':
    'Listen on 127.0.0.1 or configure TLS; keep the key directory outside the data directory ("kartei doctor" names the reason).',
  'finding.key-files-exposed.title': 'Key material readable by others: {path}',
  'finding.key-files-exposed.fix': 'chmod 700 {keyDir} && chmod 600 {keyDir}/*',
  'finding.data-dir-exposed.title': 'Data directory {dataDir} is accessible by other users',
  'finding.data-dir-exposed.fix': 'chmod 700 {dataDir}',
  'finding.dicom-loopback-plain.title': 'DICOM listener on loopback ({host}:{port}) without TLS',
  'finding.dicom-loopback-plain.fix':
    'Only devices on this host can reach it. For modalities on the network set KARTEI_DICOM_TLS_CERT, _KEY and _CA (client certificates required).',
  'finding.public-url-ip.title': 'KARTEI_PUBLIC_URL names an IP address ({publicUrl}): passkeys cannot work',
  'finding.public-url-ip.fix':
    'Set KARTEI_PUBLIC_URL to the address users open, with a host name (e.g. https://kartei.gesundheitsamt.example, or http://localhost:8080 on this machine).',
  'finding.http-loopback-plain.title': 'Listening on loopback without TLS',
  'finding.http-loopback-plain.fix':
    'Fine behind a TLS-terminating proxy on this host; set KARTEI_TLS_CERT/KEY to serve TLS directly.',
  'finding.setup-pending.title': 'First-run setup has not been completed',
  'finding.setup-pending.fix': 'Open the setup link the server printed, or restart the server for a new one.',
  'finding.setup-not-started.title': 'First-run setup has not been completed',
  'finding.setup-not-started.fix': 'Start the server to get a setup link.',
  'finding.setup-token-left.title': 'A setup token file remains in the data directory after setup',
  'finding.setup-token-left.fix': 'Delete {file}.',
  'finding.accounts-without-mfa.title': '{n} active accounts without a second factor',
  'finding.accounts-without-mfa.fix':
    'Each such user enrols TOTP at the next login; deactivate accounts that are not used.',
  'finding.audit-chain-broken.title': 'Audit chain broken at sequence {seq} ({problem})',
  'finding.audit-chain-broken.fix':
    'Treat as a security incident: preserve a copy of the database and inform the DPO; run "kartei audit verify" for details.',
  'finding.audit-unsigned-tail.title': '{n} audit events after the last signed checkpoint',
  'finding.audit-unsigned-tail.fix': 'The running server signs a checkpoint every minute.',
  'finding.audit-checkpoint-refused.title':
    'Audit checkpoint refused at {at}: {chain} does not verify from sequence {seq} ({problem})',
  'finding.audit-checkpoint-refused.fix':
    'Someone wrote to the audit log outside Kartei. Treat as a security incident: preserve a copy of the database and the key directory, inform the DPO, run "kartei audit verify". The server signs no checkpoint of this chain until it verifies again.',
  'finding.postgres-schema-owner.title': 'The application connects to PostgreSQL as the schema owner',
  'finding.postgres-schema-owner.fix':
    'Set KARTEI_DATABASE_URL to a role without DDL rights and KARTEI_DATABASE_ADMIN_URL to the owner (see README).',
  'finding.postgres-no-tls.title': 'PostgreSQL at {host} is reached without TLS',
  'finding.postgres-no-tls.fix': 'Add sslmode=verify-full to KARTEI_DATABASE_URL.',
  'finding.admins-are-members.title': '{n} administrator accounts are also department members',
  'finding.admins-are-members.fix':
    'Give administration and casework to separate accounts, so an administrator reads no files.',
  'finding.admin-chosen-passwords.title': '{n} active accounts still hold a password an administrator chose',
  'finding.admin-chosen-passwords.fix':
    'For each, ask for a reset link (Users → Set up access again), have it approved by a second person, and hand it over: the person then chooses their own password and second factor. The users list marks these accounts.',
  'finding.no-dpo.title': 'No data-protection officer account',
  'finding.no-dpo.fix':
    "Create a user with the tenant role dpo: emergency accesses wait for review, and citizens' access reports need someone to answer them.",
  'finding.reviews-waiting.title': '{n} emergency accesses unreviewed for more than {days} days',
  'finding.reviews-waiting.fix': 'The DPO or the department head reviews them under Reviews.',
  'finding.legacy-tokens.title':
    '{n} API tokens from before token scopes may now only use DICOMweb (dicomweb:read, dicomweb:store)',
  'finding.legacy-tokens.fix':
    'Their owners create tokens with the scopes their scripts need (My account → API tokens; the CLI needs admin) and revoke the old ones.',
  'finding.devices-by-host.title': '{n} DICOM devices recognised by loopback host only: {aeTitles}',
  'finding.devices-by-host.fix':
    'Fine for programs on this host; register devices on the network with their client certificate.',
  'finding.device-certificate-expired.title': 'The certificate of DICOM device {aeTitle} has expired',
  'finding.device-certificate-expired.fix':
    'Register the device again with its renewed certificate (kartei devices remove / add).',
  'finding.device-certificate-expires.title': 'The certificate of DICOM device {aeTitle} expires within {days} days',
  'finding.device-certificate-expires.fix': 'Renew it on the device and register the new certificate.',
  'finding.not-initialised.title': 'Not initialised yet: no master key',
  'finding.not-initialised.fix': 'Start the server once (npm start); it creates the keys and the database.',
  'finding.cannot-open.title': 'Cannot open the installation',
  'finding.cannot-open.fix': 'Fix the configuration "kartei doctor" names.',
  'finding.cert.https': 'HTTPS server certificate',
  'finding.cert.dicom': 'DICOM server certificate',
  'finding.cert.dicom-ca': 'DICOM device CA certificate',
  'finding.chain.installation': "the installation's chain",
  'finding.chain.office': 'the chain of office {id}',
  'finding.accounts-without-mfa.title.one': '1 active account without a second factor',
  'finding.admins-are-members.title.one': '1 administrator account is also a department member',
  'finding.admin-chosen-passwords.title.one': '1 active account still holds a password an administrator chose',
  'finding.reviews-waiting.title.one': '1 emergency access unreviewed for more than {days} days',
  'finding.legacy-tokens.title.one':
    '1 API token from before token scopes may now only use DICOMweb (dicomweb:read, dicomweb:store)',
  'finding.devices-by-host.title.one': '1 DICOM device recognised by loopback host only: {aeTitles}',
  'finding.audit-unsigned-tail.title.one': '1 audit event after the last signed checkpoint',
  'finding.unknown': 'Finding {code}',
  'finding.store-recovered.title':
    'At the start on {at}, an interrupted store was cleaned up: {partial} unfinished and {orphans} unindexed image files removed',
  'finding.store-recovered.fix':
    'Nothing to do: these images were never confirmed to their sender, who sends them again. If it happens often, find out why the server stops (crash, kill, power loss).',
  'finding.store-orphans-kept.title':
    'At the start on {at}, {n} image files had no entry in the database and were kept: more than a crash leaves',
  'finding.store-orphans-kept.title.one':
    'At the start on {at}, 1 image file had no entry in the database and was kept: more than a crash leaves',
  'finding.store-orphans-kept.fix':
    'The database may be older than the image directory (a restored backup?). Delete nothing: restore the matching database or ask support; while there are this many, the server removes none of these files.',
  'finding.test-hook-set.title': 'The test variable {variable} is set',
  'finding.test-hook-set.fix':
    "Remove {variable} from the server's environment; it is for tests only and delays every stored image (honoured only with NODE_ENV=test).",
  'finding.runtime-end-of-life.title': 'Node.js {version} has had no security fixes since {date} (end of life)',
  'finding.runtime-end-of-life.fix':
    'Run Kartei on the Node.js LTS it brings: `npm ci`, then `npm start` (or node_modules/.bin/node bin/kartei.js serve).',
  'finding.runtime-not-lts.title':
    'Node.js {version} is not a long-term-support (LTS) release; its support ends six months after release',
  'finding.runtime-not-lts.fix':
    'Run Kartei on the Node.js LTS it brings: `npm ci`, then `npm start` (or node_modules/.bin/node bin/kartei.js serve).',
  'finding.demis-certificate-expired.title': "The office's DEMIS certificate has expired",
  'finding.demis-certificate-expired.fix':
    'Request a new certificate in the CSM portal and store it with its key under Administration → DEMIS.',
  'finding.demis-certificate-expires.title': "The office's DEMIS certificate expires in {days} days ({notAfter})",
  'finding.demis-certificate-expires.fix':
    'Request a new certificate in the CSM portal in time and store it under Administration → DEMIS.',
  'finding.demis-failing.title': 'Fetching from DEMIS has failed {failures} times in a row',
  'finding.demis-failing.fix':
    'See the last error under Administration → DEMIS: check the certificate, client secret and addresses.',
  'finding.demis-credentials-unreadable.title': 'The sealed DEMIS credentials cannot be opened',
  'finding.demis-credentials-unreadable.fix':
    'Check that the key directory belongs to this database; otherwise store the DEMIS connection again.',
  'finding.attachment-limit-high.title': 'KARTEI_ATTACHMENT_MAX_MB is {mb}: one upload may be larger than 1 GB',
  'finding.attachment-limit-high.fix':
    'Set KARTEI_ATTACHMENT_MAX_MB to what scans and attachments need (the default 50, at most 1024) and restart the server.',
  'finding.allocator-not-applied.title': "The memory allocator is not the production start's: {reason}",
  'finding.allocator-not-applied.fix':
    'Start Kartei through bin/kartei.js (npm start, or node_modules/.bin/node bin/kartei.js serve) with KARTEI_ALLOCATOR unset (tuned), or tuned, jemalloc (apt install libjemalloc2) or system.',
  'finding.storage-full.title': 'The file system of the directory {path} is full: {freeMb} MB free',
  'finding.storage-full.fix':
    'Free space or grow the file system now: until then changes, images and every audited read are refused (503 storage-full). Nothing acknowledged is lost; it works again by itself once there is space.',
  'finding.storage-low.title':
    'The file system of the directory {path} has only {freeMb} MB free (warning threshold {thresholdMb} MB)',
  'finding.storage-low.fix':
    'Free space or grow the file system before it fills; the threshold is KARTEI_STORAGE_LOW_MB.',
  'finding.master-key-short.title':
    'The master key {path} is {bytes} bytes, fewer than the 32 random bytes Kartei makes',
  'finding.master-key-short.fix':
    'Stop the server, run `kartei keys rotate-master` (it makes 32 random bytes; a master.key mounted as a container secret: put the new file there), start the server again and back up the key directory; keep no passphrase as master.key.',
  'finding.master-key-old.title': 'The master key {keyId} is {days} days old (older than {maxDays})',
  'finding.master-key-old.fix':
    'Stop the server, run `kartei keys rotate-master`, start it again and back up the key directory (or set KARTEI_KEY_MAX_AGE_DAYS).',
  'finding.master-rotation-interrupted.title': 'A master key rotation was interrupted ({state}); every key still opens',
  'finding.master-rotation-interrupted.fix':
    'Stop the server and run `kartei keys rotate-master`: it completes the rotation. Then back up the key directory.',
  'finding.backup-none.title': 'No data backup has been made',
  'finding.backup-none.fix':
    'Run `kartei backup DEST` regularly (e.g. a systemd timer) and `kartei backup --keys DEST2` to a separate place.',
  'finding.backup-old.title': 'The last data backup is {hours} hour(s) old ({at})',
  'finding.backup-old.fix':
    'Run `kartei backup DEST`, and find out why the scheduled backup did not run (KARTEI_BACKUP_MAX_AGE_HOURS sets the limit).',
  'finding.backup-age.title': 'The last data backup is {hours} hour(s) old ({at})',
  'finding.backup-age.fix': 'Nothing to do.',
  'finding.keys-backup-none.title':
    'The key directory has never been backed up with `kartei backup --keys`; without it no backup can be read',
  'finding.keys-backup-none.fix':
    'Run `kartei backup --keys DEST2` to a place apart from the data backups, and again after each key rotation.',
  'finding.backup-running.title': 'A backup or restore is running since {at} (process {pid})',
  'finding.backup-running.fix': 'Nothing to do; wait for it to end.',
  'finding.restored-from-backup.title':
    'Restored on {at} from the backup of {backupAt}; audit events witnessed after the backup and not in it: {gap}',
  'finding.restored-from-backup.fix':
    'Nothing to repair: the restore and this gap are on the audit record (system.restore). Enter again what was done after the backup.',
  'finding.audit-key-rotation-unfinished.title': 'The rotation of the audit signing key is unfinished: {state}',
  'finding.audit-key-rotation-unfinished.fix':
    'Run “kartei audit rotate-key” again: it finishes this rotation (it does not start another).',
  'finding.key-file-link.title': 'A key file Kartei writes itself is a symbolic link: {path}',
  'finding.key-file-link.fix': 'Remove the link {path} (Kartei never writes it as a link) and find out who placed it.',
  'finding.key-dir-unknown-file.title': 'A file Kartei does not write is in the key directory: {path}',
  'finding.key-dir-unknown-file.fix': 'Check where {path} comes from; move it out of the key directory.',
  'finding.keys-backup-stale.title':
    'The last backup of the key directory ({at}) is older than the last key rotation ({rotatedAt}); it cannot read the data backups taken since',
  'finding.keys-backup-stale.fix':
    "Run `kartei backup --keys DEST2` now, to a place apart from the data backups (keep the older keys' backup as long as the data backups it opens).",
  'finding.metrics-token-readable.title':
    'The metrics token file {path} is readable by others (mode {mode}): Kartei does not start with it',
  'finding.metrics-token-readable.fix':
    'Run chmod 600 on the token file (owned by the user Kartei runs as) and restart.',
  'finding.storage-files-on-postgres.title':
    "Images and documents are files on this machine's disk (KARTEI_STORAGE=files) while the database is PostgreSQL",
  'finding.storage-files-on-postgres.fix':
    'Only an instance with this data directory can serve them; another instance on the same database would miss them. Run one instance only, or keep them in the database (KARTEI_STORAGE=database) or in S3 for a new installation.',
  'finding.department-key-rotation-pending.title':
    'A key rotation of department {department} stopped after preparing version {version}; everything still opens',
  'finding.department-key-rotation-pending.fix':
    'Run `kartei keys rotate-department {department}` again to complete it.',
  'finding.department-key-versions-kept.title':
    'Department {department} still keeps earlier key version(s) {versions}: data may be sealed under them',
  'finding.department-key-versions-kept.fix':
    'Run `kartei keys reencrypt-department {department}`: it seals that data under the current version and retires the earlier ones.',
  'finding.s3-credentials-readable.title':
    'The S3 credentials file {path} is readable by others (mode {mode}): Kartei does not start with it',
  'finding.s3-credentials-readable.fix':
    'Run chmod 600 on the credentials file (owned by the user Kartei runs as) and restart.',
  'finding.instances-versions-differ.title':
    'Kartei instances of different versions or schema levels run on this database: {instances}',
  'finding.instances-versions-differ.fix':
    'Run one version everywhere: stop the older instances, update them to the version the newest one runs, and start them again.',
  'finding.instances-keys-differ.title':
    "Kartei instances with different key directories run on this database; they cannot read each other's data: {instances}",
  'finding.instances-keys-differ.fix':
    'Give every instance the same key directory contents (copy it from the instance that set the office up), then restart the others. Check what the others wrote meanwhile.',
  'finding.instances-files-storage.title':
    '{n} live instances keep images and documents in their own data directory ({instances}); each sees only what it stored itself',
  'finding.instances-files-storage.fix':
    'Set KARTEI_STORAGE=database (or s3) on every instance and restart them; with files storage run one instance only.',
  'finding.instance-crashed.title':
    'The Kartei instance on {host} (pid {pid}) stopped without an orderly stop; last heard of at {at} (started again: {restarted})',
  'finding.instance-crashed.fix':
    'Find out why it ended (its log, the system journal: crash, kill, out of memory, power, lost network); start it again if it is still needed. What it was doing is taken over by the other instances.',
  'finding.witness-behind.title':
    'The audit witness in this key directory ({file}) lacks checkpoints of {n} chain(s) signed since {signedAt}: a rollback of the database past them would not be seen from here',
  'finding.witness-behind.fix':
    'Start the Kartei instance of this key directory (each instance records the checkpoints in its own key directory every minute) and check that it can write there; with a shared key directory, check the mount.',
  'finding.instance-clock-skew.title':
    "The clock of the host {host} is {offset} s off the database's (+ ahead, − behind; more than {bound} s)",
  'finding.instance-clock-skew.fix':
    "Synchronise the host's clock with NTP (chrony, systemd-timesyncd), the database server's too. Kartei judges which instances are live by the database's clock, but records the times of audit events, checkpoints and tokens by each host's own.",
};

/** How a finding is written in one language: its texts, and its dates and counts as that language writes them. */
export interface FindingWording {
  /** The text of a `finding.…` key, undefined where the language has none. */
  text(key: string): string | undefined;
  /** A calendar date or an instant as the office's day: 04.12.2026. */
  date(iso: string): string;
  /** An instant as the office's day and time: 04.12.2026 18:40. */
  dateTime(iso: string): string;
  /** A count: 1.234 in German. */
  count(n: number): string;
}

/** Parameters that count something (identifiers such as a pid, a port or a key id are written as they are). */
const COUNTS = new Set([
  'n',
  'days',
  'maxDays',
  'hours',
  'freeMb',
  'thresholdMb',
  'mb',
  'failures',
  'partial',
  'orphans',
]);

/**
 * A finding's title and remedy from its stable `code` and `params`: `title.one` where `n` is 1,
 * certificates and audit chains named, `date`/`notAfter` as days, `at` and `…At` as moments; an
 * unknown code gets a general sentence.
 */
export function wordFinding(
  f: { code: string; params?: Record<string, string | number> },
  w: FindingWording,
): { title: string; fix: string } {
  const raw = f.params ?? {};
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) params[k] = paramText(k, v, w);
  const title = (raw.n === 1 ? w.text(`finding.${f.code}.title.one`) : undefined) ?? w.text(`finding.${f.code}.title`);
  if (title === undefined) return { title: fill(w.text('finding.unknown') ?? '{code}', { code: f.code }), fix: '' };
  return { title: fill(title, params), fix: fill(w.text(`finding.${f.code}.fix`) ?? '', params) };
}

function paramText(k: string, v: string | number, w: FindingWording): string {
  if (k === 'cert') return w.text(`finding.cert.${String(v)}`) ?? w.text('finding.cert.https') ?? String(v);
  if (k === 'date' || k === 'notAfter') return w.date(String(v));
  if (k === 'at' || /^[a-z]+At$/.test(k)) return w.dateTime(String(v));
  if (k === 'chain')
    return v === 'installation'
      ? (w.text('finding.chain.installation') ?? String(v))
      : fill(w.text('finding.chain.office') ?? '{id}', { id: String(v) });
  return typeof v === 'number' && COUNTS.has(k) ? w.count(v) : String(v);
}

/** `text` with its `{name}` placeholders filled; a placeholder without a value stays as it is. */
export function fill(text: string, params: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (m, p: string) => (p in params ? String(params[p]) : m));
}
