// The installation's own audit chain, for the DPO of a single-office
// installation: failed logins of unknown names, wrong setup tokens, refused
// DICOM callers and TLS handshakes, aggregated per source and minute. Where
// several offices share the installation, it is the operator's (403).
import { api, ApiError } from '../../api/client.ts';
import type { AuditEntry } from '../../api/types.ts';
import { useT } from '../../i18n/i18n.ts';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { AuditTable } from './audit-table.tsx';

export function InstallationLog() {
  const t = useT();
  const list = useLoad(
    () =>
      api<AuditEntry[]>('GET', '/api/audit/installation?limit=100').catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 403) return null;
        throw e;
      }),
    [],
  );
  return (
    <>
      <p>{t('audit.installationIntro')}</p>
      <Loaded state={list}>
        {(entries) =>
          entries === null ? (
            <p role="status">{t('audit.installationShared')}</p>
          ) : entries.length === 0 ? (
            <p role="status">{t('audit.none')}</p>
          ) : (
            <AuditTable entries={entries} withPerson={false} />
          )
        }
      </Loaded>
    </>
  );
}
