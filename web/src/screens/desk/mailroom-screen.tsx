// Issue 17: the department's mail-room ("Posteingang"): scans that arrived but belong to no file yet —
// upload, preview, download, assign to a file found by a person search, delete with a reason.
import { type FormEvent, useState } from 'react';
import { api, apiPage } from '../../api/client.ts';
import type { DocumentItem, MailroomDocuments, PersonListItem } from '../../api/types.ts';
import { formatDate, useT } from '../../i18n/i18n.ts';
import { Dialog } from '../../ui/dialog.tsx';
import { TextField } from '../../ui/form.tsx';
import { useDepartmentChoice } from '../../ui/department-choice.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { DeleteDialog, DocumentTable, PreviewDialog, refusalText, UploadControl } from './documents-shared.tsx';

export function MailroomScreen(_: { rest: string }) {
  const t = useT();
  const notify = useNotify();
  const { departmentId, chooser } = useDepartmentChoice();
  const state = useLoad(
    () =>
      departmentId
        ? api<MailroomDocuments>('GET', `/api/departments/${departmentId}/mailroom`)
        : Promise.resolve({ items: [], permissions: { delete: false }, maxBytes: 0 }),
    [departmentId],
  );
  const [preview, setPreview] = useState<DocumentItem | null>(null);
  const [deleting, setDeleting] = useState<DocumentItem | null>(null);
  const [assigning, setAssigning] = useState<DocumentItem | null>(null);
  if (!departmentId) return <p>{t('mailroom.noDepartment')}</p>;
  return (
    <section aria-labelledby="mailroom-title">
      <h2 id="mailroom-title">{t('mailroom.title')}</h2>
      <p>{t('mailroom.intro')}</p>
      {chooser}
      <Loaded state={state}>
        {(scans) => (
          <>
            <div className="actions document-actions">
              <UploadControl
                url={`/api/departments/${departmentId}/mailroom`}
                label={t('mailroom.upload')}
                maxBytes={scans.maxBytes}
                onUploaded={(name) => {
                  notify(t('documents.uploaded', { name }));
                  state.reload();
                }}
              />
            </div>
            <DocumentTable
              items={scans.items}
              base="/api/mailroom"
              caption={t('mailroom.title')}
              none={t('mailroom.none')}
              canDelete={() => scans.permissions.delete}
              onPreview={setPreview}
              onDelete={setDeleting}
              extra={(d) => (
                <button type="button" className="inline" onClick={() => setAssigning(d)}>
                  {t('mailroom.assign')}
                  <span className="visually-hidden"> {d.fileName}</span>
                </button>
              )}
            />
          </>
        )}
      </Loaded>
      {preview && <PreviewDialog doc={preview} base="/api/mailroom" onClose={() => setPreview(null)} />}
      {deleting && (
        <DeleteDialog
          name={deleting.fileName ?? t('documents.unnamed')}
          remove={(reason) => api('DELETE', `/api/mailroom/${deleting.id}`, { reason })}
          onClose={(deleted) => {
            if (deleted) {
              notify(t('documents.deleted'));
              state.reload();
            }
            setDeleting(null);
          }}
        />
      )}
      {assigning && (
        <AssignDialog
          scan={assigning}
          departmentId={departmentId}
          onClose={(assigned) => {
            if (assigned) {
              notify(t('mailroom.assigned', { name: assigned }));
              state.reload();
            }
            setAssigning(null);
          }}
        />
      )}
    </section>
  );
}

/** Finds a file of the department by name or birth date and assigns the scan to it. */
function AssignDialog({
  scan,
  departmentId,
  onClose,
}: {
  scan: DocumentItem;
  departmentId: string;
  /** Called with the file's name when assigned, null when cancelled. */
  onClose: (assigned: string | null) => void;
}) {
  const t = useT();
  const [q, setQ] = useState('');
  const [found, setFound] = useState<PersonListItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const search = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const page = await apiPage<PersonListItem>(`/api/persons?q=${encodeURIComponent(q.trim())}&limit=50`);
      setFound(page.items.filter((p) => p.departmentId === departmentId));
    } catch (err) {
      setError(refusalText(t, err));
    }
  };
  const assign = async (p: PersonListItem) => {
    setBusy(true);
    setError(null);
    try {
      await api('POST', `/api/mailroom/${scan.id}/assign`, { personId: p.id, version: scan.version });
      onClose(`${p.familyName}, ${p.givenName}`);
    } catch (err) {
      setError(refusalText(t, err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      title={t('mailroom.assignTitle', { name: scan.fileName ?? '' })}
      className="merge-dialog"
      onClose={() => onClose(null)}
    >
      <search>
        <form className="inline-form" noValidate onSubmit={(e) => void search(e)}>
          <TextField
            label={t('mailroom.search')}
            type="search"
            value={q}
            onChange={setQ}
            hint={t('mailroom.searchHint')}
            autoFocus
          />
          <button type="submit" disabled={q.trim().length < 2}>
            {t('mailroom.searchButton')}
          </button>
        </form>
      </search>
      {error && (
        <p role="alert" className="form-error">
          {error}
        </p>
      )}
      {found && found.length === 0 && <p role="status">{t('mailroom.noneFound')}</p>}
      {found && found.length > 0 && (
        <ul className="merge-candidates" aria-label={t('mailroom.results', { n: found.length })}>
          {found.map((p) => (
            <li key={p.id}>
              <span>
                {p.familyName}, {p.givenName} · {formatDate(p.birthDate)}
              </span>
              <button type="button" className="inline" disabled={busy} onClick={() => void assign(p)}>
                {t('mailroom.assignTo')}
                <span className="visually-hidden">
                  {' '}
                  {p.familyName}, {p.givenName}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="actions">
        <button type="button" onClick={() => onClose(null)}>
          {t('common.cancel')}
        </button>
      </div>
    </Dialog>
  );
}
