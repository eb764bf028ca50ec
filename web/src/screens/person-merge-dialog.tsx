// Merging two files found to be one person (issue 16): the dialog that finds the department's other
// file, compares both side by side (name, birth date, address, records, studies), lets the caller
// choose which stays and merges; the banner on a file with a pending merge (confirm or undo, for whoever
// may); and what a file merged into another shows instead of its data: where it went.
import { useEffect, useRef, useState } from 'react';
import { api, apiPage, ApiError } from '../api/client.ts';
import type { PersonFileView, PersonListItem, PersonMerge, PersonMerges } from '../api/types.ts';
import { formatDate, formatDateTime, useT } from '../i18n/i18n.ts';
import { Link } from '../router.tsx';
import { useConfirm } from '../ui/confirm.tsx';
import { FormError, SelectField, TextField, useForm } from '../ui/form.tsx';
import { Loaded, useLoad } from '../ui/load.tsx';
import { useNotify } from '../ui/notice.tsx';

const addressOf = (p: PersonFileView) =>
  [p.address?.street, [p.address?.postalCode, p.address?.city].filter(Boolean).join(' ')].filter(Boolean).join(', ') ||
  '—';

/** The button on a file that opens the dialog, for whoever may merge into it. */
export function MergeAction({
  person,
  merges,
  onMerged,
}: {
  person: PersonFileView;
  merges: PersonMerges;
  /** Called with the file that stays. */
  onMerged: (survivorId: string) => void;
}) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const busy = merges.merges.some((m) => m.state === 'pending');
  if (!merges.mayMerge || busy) return null;
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        {t('merge.open')}
      </button>
      {open && (
        <MergeDialog
          person={person}
          counts={merges.counts}
          onClose={() => setOpen(false)}
          onMerged={(id) => {
            setOpen(false);
            onMerged(id);
          }}
        />
      )}
    </>
  );
}

function MergeDialog({
  person,
  counts,
  onClose,
  onMerged,
}: {
  person: PersonFileView;
  counts: PersonMerges['counts'];
  onClose: () => void;
  onMerged: (survivorId: string) => void;
}) {
  const t = useT();
  const ref = useRef<HTMLDialogElement>(null);
  const search = useForm({ q: '' });
  const [found, setFound] = useState<PersonListItem[] | null>(null);
  const [other, setOther] = useState<{ file: PersonFileView; counts: PersonMerges['counts'] } | null>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => {
      if (before?.isConnected) before.focus();
    };
  }, []);
  const find = search.onSubmit(async ({ q }) => {
    const page = await apiPage<PersonListItem>(`/api/persons?q=${encodeURIComponent(q.trim())}&limit=50`);
    setOther(null);
    setFound(page.items.filter((p) => p.departmentId === person.departmentId && p.id !== person.id));
  });
  const pick = async (id: string) => {
    const [file, merges] = await Promise.all([
      api<PersonFileView>('GET', `/api/persons/${id}`),
      api<PersonMerges>('GET', `/api/persons/${id}/merges`),
    ]);
    setOther({ file, counts: merges.counts });
  };
  return (
    <dialog
      ref={ref}
      aria-labelledby="merge-title"
      className="merge-dialog"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id="merge-title">{t('merge.title')}</h2>
      <p>{t('merge.intro')}</p>
      <search>
        <form className="inline-form" noValidate onSubmit={find}>
          <TextField
            label={t('merge.search')}
            type="search"
            value={search.values.q}
            onChange={(v) => search.set('q', v)}
            hint={t('merge.searchHint')}
            autoFocus
            error={search.fieldError('q')}
          />
          <button type="submit" disabled={search.busy || search.values.q.trim().length < 2}>
            {t('merge.searchButton')}
          </button>
        </form>
      </search>
      <FormError form={search} fields={['q']} />
      {found && found.length === 0 && <p role="status">{t('merge.none')}</p>}
      {found && found.length > 0 && (
        <ul className="merge-candidates" aria-label={t('merge.results', { n: found.length })}>
          {found.map((p) => (
            <li key={p.id}>
              <span>
                {p.familyName}, {p.givenName} · {formatDate(p.birthDate)}
              </span>
              <button
                type="button"
                className="inline"
                aria-pressed={other?.file.id === p.id}
                onClick={() => void pick(p.id)}
              >
                {t('merge.choose')}
              </button>
            </li>
          ))}
        </ul>
      )}
      {other ? (
        <Compare
          person={person}
          counts={counts}
          other={other.file}
          otherCounts={other.counts}
          onClose={onClose}
          onMerged={onMerged}
        />
      ) : (
        <div className="actions">
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
        </div>
      )}
    </dialog>
  );
}

function Compare({
  person,
  counts,
  other,
  otherCounts,
  onClose,
  onMerged,
}: {
  person: PersonFileView;
  counts: PersonMerges['counts'];
  other: PersonFileView;
  otherCounts: PersonMerges['counts'];
  onClose: () => void;
  onMerged: (survivorId: string) => void;
}) {
  const t = useT();
  const notify = useNotify();
  const form = useForm({ keep: 'this' as 'this' | 'other' });
  const rows: [string, string, string][] = [
    [t('person.name'), `${person.familyName}, ${person.givenName}`, `${other.familyName}, ${other.givenName}`],
    [t('person.birthDate'), formatDate(person.birthDate), formatDate(other.birthDate)],
    [t('person.address'), addressOf(person), addressOf(other)],
    [t('merge.records'), String(counts.records), String(otherCounts.records)],
    [t('merge.studies'), String(counts.studies), String(otherCounts.studies)],
  ];
  return (
    <form
      noValidate
      className="stacked"
      onSubmit={form.onSubmit(async ({ keep }) => {
        const [survivor, absorbed] = keep === 'this' ? [person, other] : [other, person];
        await api<PersonMerge>('POST', `/api/persons/${survivor.id}/merge`, {
          absorbedId: absorbed.id,
          survivorVersion: survivor.version,
          absorbedVersion: absorbed.version,
        });
        notify(t('merge.done'));
        onMerged(survivor.id);
      })}
    >
      <table className="merge-compare">
        <caption>{t('merge.compare')}</caption>
        <thead>
          <tr>
            <td />
            <th scope="col">{t('merge.thisFile')}</th>
            <th scope="col">{t('merge.otherFile')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, a, b]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{a}</td>
              <td>{b}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <SelectField
        label={t('merge.survivor')}
        value={form.values.keep}
        onChange={(v) => form.set('keep', v)}
        options={[
          { value: 'this', label: t('merge.keepThis') },
          { value: 'other', label: t('merge.keepOther') },
        ]}
      />
      <p className="hint">{t('merge.warning')}</p>
      <FormError form={form} fields={[]} />
      <div className="actions">
        <button type="submit" className="primary" disabled={form.busy}>
          {t('merge.submit')}
        </button>
        <button type="button" onClick={onClose}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

/** On a file with a pending merge: who merged, what moved, and Bestätigen / Rückgängig for whoever may. */
export function MergeBanner({
  personId,
  merges,
  onChanged,
}: {
  personId: string;
  merges: PersonMerges;
  onChanged: () => void;
}) {
  const pending = merges.merges.filter((m) => m.state === 'pending');
  return (
    <>
      {pending.map((m) => (
        <PendingMerge key={m.id} merge={m} personId={personId} onChanged={onChanged} />
      ))}
    </>
  );
}

function PendingMerge({ merge, personId, onChanged }: { merge: PersonMerge; personId: string; onChanged: () => void }) {
  const t = useT();
  const notify = useNotify();
  const { ask, dialog } = useConfirm();
  const form = useForm({});
  const act = (what: 'confirm' | 'undo') =>
    form.onSubmit(async () => {
      const yes = await ask(
        what === 'confirm'
          ? { title: t('merge.confirmQuestion'), text: t('merge.confirmText'), confirm: t('merge.confirm') }
          : { title: t('merge.undoQuestion'), text: t('merge.undoText'), confirm: t('merge.undo') },
      );
      if (!yes) return;
      await api<PersonMerge>('POST', `/api/person-merges/${merge.id}/${what}`, { version: merge.version });
      notify(t(what === 'confirm' ? 'merge.confirmed' : 'merge.undone'));
      onChanged();
    });
  const text =
    merge.survivorId === personId
      ? t('merge.pendingText', {
          at: formatDateTime(merge.createdAt),
          name: merge.createdByName ?? '—',
          records: merge.records,
          studies: merge.studies,
        })
      : t('merge.pendingAbsorbedText', { at: formatDateTime(merge.createdAt), name: merge.createdByName ?? '—' });
  return (
    <section className="banner merge-pending" aria-labelledby={`merge-${merge.id}`}>
      <h2 id={`merge-${merge.id}`}>{t('merge.pendingTitle')}</h2>
      <p>{text}</p>
      {merge.survivorId === personId && (
        <p>
          <Link to={`/persons/${merge.absorbedId}`}>{t('merge.absorbedLink')}</Link>
        </p>
      )}
      {(merge.confirm || merge.undo) && (
        <div className="actions">
          {merge.confirm && (
            <button type="button" className="primary" disabled={form.busy} onClick={act('confirm')}>
              {t('merge.confirm')}
            </button>
          )}
          {merge.undo && (
            <button type="button" disabled={form.busy} onClick={act('undo')}>
              {t('merge.undo')}
            </button>
          )}
        </div>
      )}
      <FormError form={form} fields={[]} />
      {dialog}
    </section>
  );
}

/** A file merged into another: where it went (its data is not shown), and its pending merge's banner. */
export function MergedAway({
  error,
  personId,
  onChanged,
}: {
  error: ApiError;
  personId: string;
  onChanged: () => void;
}) {
  const t = useT();
  const into = String(error.problem.mergedInto ?? '');
  const survivor = useLoad(() => api<PersonFileView>('GET', `/api/persons/${into}`).catch(() => null), [into]);
  const merges = useLoad(() => api<PersonMerges>('GET', `/api/persons/${personId}/merges`), [personId]);
  const name = survivor.data ? `${survivor.data.familyName}, ${survivor.data.givenName}` : t('merge.mergedIntoOther');
  return (
    <section aria-labelledby="merged-title">
      <h1 id="merged-title">{t('error.person-merged')}</h1>
      <p role="status" className="banner">
        {t('merge.mergedInto')} <Link to={`/persons/${into}`}>{name}</Link>.
      </p>
      <p>{t('merge.mergedIntoHint')}</p>
      <Loaded state={merges}>
        {(m) => (
          <MergeBanner
            personId={personId}
            merges={m}
            onChanged={() => {
              merges.reload();
              onChanged();
            }}
          />
        )}
      </Loaded>
    </section>
  );
}

/** Whether a file's load failed because it was merged into another. */
export const isMergedAway = (e: unknown): e is ApiError => e instanceof ApiError && e.code === 'person-merged';
