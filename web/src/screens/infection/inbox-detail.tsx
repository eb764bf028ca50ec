// One notification of the inbox: its facts in German (person, notifier, findings, dates), its versions
// and what each changed, and the day's decisions on it — assign (to me, to a colleague), the file it is
// about (scored suggestions, "Diese Person ist es", or "Neue Person anlegen" prefilled), "In Fall
// übernehmen" with the case's status, or closing it without a case.
import { useState } from 'react';
import { api } from '../../api/client.ts';
import type {
  InboxMember,
  NotificationChanged,
  NotificationDetail,
  NotificationFacts,
  PersonMatch,
} from '../../api/types.ts';
import { formatDateTime, useT, type MessageKey } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { useSession } from '../../session.tsx';
import { FormError, SelectField, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { Table } from '../../ui/table.tsx';
import { PersonFields, personBody, type PersonValues } from '../person-fields.tsx';
import { diseaseName, fhirDate, InboxNav } from './inbox-shared.tsx';

type T = ReturnType<typeof useT>;

export function NotificationView({ id }: { id: string }) {
  const t = useT();
  const n = useLoad(() => api<NotificationDetail>('GET', `/api/notifications/${id}`), [id]);
  return (
    <section aria-labelledby="notification-title">
      <InboxNav current="list" />
      <Loaded state={n}>{(d) => <Notification key={d.version} d={d} reload={n.reload} t={t} />}</Loaded>
    </section>
  );
}

function Notification({ d, reload, t }: { d: NotificationDetail; reload: () => void; t: T }) {
  const f = d.facts;
  const name = [f.person.familyName, f.person.givenName].filter(Boolean).join(', ') || t('inbox.noName');
  return (
    <>
      <h2 id="notification-title">
        {t(d.kind === 'laboratory' ? 'inbox.kind.laboratory' : 'inbox.kind.disease')}: {diseaseName(d.disease)} — {name}
      </h2>
      <p>
        {t('inbox.state')}: <strong>{t(`inbox.state.${d.state}` as MessageKey)}</strong>
        {d.assigneeName && ` · ${t('inbox.assignee')}: ${d.assigneeName}`}
      </p>
      {d.cancelled && (
        <p className="banner emergency" role="note">
          {t('inbox.cancelledNote')}
        </p>
      )}
      {d.caseReview && (
        <p className="banner emergency" role="note">
          {t('inbox.caseReviewNote')}{' '}
          {d.caseRecordId && <Link to={`/records/${d.caseRecordId}`}>{t('inbox.openCase')}</Link>}
        </p>
      )}
      <Facts f={f} t={t} />
      {d.state !== 'closed' && <Assign d={d} reload={reload} />}
      <PersonSection d={d} reload={reload} />
      {d.state !== 'closed' && d.personId && <Accept d={d} reload={reload} />}
      {d.state === 'closed' && d.caseRecordId && (
        <p>
          <Link to={`/records/${d.caseRecordId}`}>{t('inbox.openCase')}</Link>
          {d.personId && (
            <>
              {' · '}
              <Link to={`/persons/${d.personId}`}>{t('inbox.openFile')}</Link>
            </>
          )}
        </p>
      )}
      {d.state === 'closed' && d.closeReason && (
        <p>
          {t('inbox.closedBecause')}: {d.closeReason}
        </p>
      )}
      {d.state !== 'closed' && <Close d={d} reload={reload} />}
      <Versions d={d} t={t} />
      <p>
        <a href={`/api/notifications/${d.id}/bundle`} download>
          {t('inbox.rawBundle')}
        </a>
      </p>
    </>
  );
}

const address = (a: { street?: string; postalCode?: string; city?: string } | undefined) =>
  a ? [a.street, [a.postalCode, a.city].filter(Boolean).join(' ')].filter(Boolean).join(', ') : '';

function Facts({ f, t }: { f: NotificationFacts; t: T }) {
  const rows: [string, string][] = [
    [t('person.familyName'), f.person.familyName ?? '—'],
    [t('person.givenName'), f.person.givenName ?? '—'],
    [t('person.birthDate'), fhirDate(f.person.birthDate)],
    [t('person.sex'), f.person.sex ? t(`sex.${f.person.sex}` as MessageKey) : '—'],
    [t('inbox.address'), address(f.person.address) || '—'],
    [t('inbox.telecom'), f.person.telecom?.join(', ') || '—'],
    [t('inbox.disease'), diseaseName(f.disease)],
    [t('inbox.pathogen'), f.pathogen ? diseaseName(f.pathogen) : '—'],
    [
      t('inbox.notifier'),
      [f.notifier.organisation, f.notifier.person, address(f.notifier.address)].filter(Boolean).join(', ') || '—',
    ],
    [t('inbox.notifiedAt'), fhirDate(f.notifiedAt)],
    [t('inbox.status'), t(`inbox.status.${f.status}` as MessageKey)],
  ];
  if (f.laboratory) {
    rows.push([t('inbox.specimen'), fhirDate(f.laboratory.specimenCollectedAt)]);
    if (f.laboratory.material)
      rows.push([t('inbox.material'), f.laboratory.material.display ?? f.laboratory.material.code]);
    for (const x of f.laboratory.findings)
      rows.push([t('inbox.finding'), [x.test, x.result, x.interpretation].filter(Boolean).join(' — ') || '—']);
  }
  if (f.clinical) {
    const c = f.clinical;
    if (c.onset) rows.push([t('inbox.onset'), fhirDate(c.onset)]);
    if (c.diagnosedAt) rows.push([t('inbox.diagnosed'), fhirDate(c.diagnosedAt)]);
    if (c.hospitalised !== undefined)
      rows.push([
        t('inbox.hospitalised'),
        `${t(c.hospitalised ? 'common.yes' : 'common.no')}${c.hospitalisedFrom ? `, ${fhirDate(c.hospitalisedFrom)}` : ''}`,
      ]);
    if (c.died !== undefined)
      rows.push([
        t('inbox.died'),
        `${t(c.died ? 'common.yes' : 'common.no')}${c.diedOn ? `, ${fhirDate(c.diedOn)}` : ''}`,
      ]);
  }
  return (
    <dl className="facts">
      {rows.map(([k, v], i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a fact's place in a fixed list
        <div key={i}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function Assign({ d, reload }: { d: NotificationDetail; reload: () => void }) {
  const t = useT();
  const { me } = useSession();
  const notify = useNotify();
  const members = useLoad(
    () => api<InboxMember[]>('GET', `/api/departments/${d.departmentId}/inbox-members`),
    [d.departmentId],
  );
  const form = useForm({ assigneeId: d.assigneeId ?? '' });
  const assign = (assigneeId: string | null) =>
    form.onSubmit(async () => {
      await api<NotificationChanged>('PUT', `/api/notifications/${d.id}/assignee`, { assigneeId, version: d.version });
      notify(t('inbox.assigned'));
      reload();
    });
  return (
    <section aria-labelledby="assign-title" className="panel">
      <h3 id="assign-title">{t('inbox.assignTitle')}</h3>
      {d.assigneeId !== me.id && (
        <form onSubmit={assign(me.id)}>
          <button type="submit" disabled={form.busy}>
            {t('inbox.assignToMe')}
          </button>
        </form>
      )}
      <Loaded state={members}>
        {(list) => (
          <form className="inline-form" onSubmit={assign(form.values.assigneeId || null)}>
            <SelectField
              label={t('inbox.assignee')}
              value={form.values.assigneeId}
              onChange={(v) => form.set('assigneeId', v)}
              options={[
                { value: '', label: t('inbox.nobody') },
                ...list.map((m) => ({ value: m.id, label: m.displayName })),
              ]}
              error={form.fieldError('assigneeId')}
            />
            <button type="submit" disabled={form.busy}>
              {t('inbox.assign')}
            </button>
          </form>
        )}
      </Loaded>
      <FormError form={form} fields={['assigneeId']} />
    </section>
  );
}

const PART: Record<PersonMatch['agreed'][number], MessageKey> = {
  link: 'inbox.part.link',
  family: 'inbox.part.family',
  phonetic: 'inbox.part.phonetic',
  given: 'inbox.part.given',
  birth: 'inbox.part.birth',
};

function PersonSection({ d, reload }: { d: NotificationDetail; reload: () => void }) {
  const t = useT();
  const [creating, setCreating] = useState(false);
  const open = d.state !== 'closed';
  return (
    <section aria-labelledby="person-title" className="panel">
      <h3 id="person-title">{t('inbox.personTitle')}</h3>
      {d.linkedPerson ? (
        <p>
          {t('inbox.linkedTo')}{' '}
          <Link to={`/persons/${d.linkedPerson.id}`}>
            {d.linkedPerson.familyName}, {d.linkedPerson.givenName} ({fhirDate(d.linkedPerson.birthDate)})
          </Link>
        </p>
      ) : (
        <p>{t('inbox.notLinked')}</p>
      )}
      {open && <Matches d={d} reload={reload} />}
      {open && d.permissions.createPerson && !creating && (
        <button type="button" onClick={() => setCreating(true)}>
          {t('inbox.newPerson')}
        </button>
      )}
      {open && creating && <NewPerson d={d} reload={reload} onCancel={() => setCreating(false)} />}
    </section>
  );
}

function Matches({ d, reload }: { d: NotificationDetail; reload: () => void }) {
  const t = useT();
  const notify = useNotify();
  const matches = useLoad(() => api<PersonMatch[]>('GET', `/api/notifications/${d.id}/matches`), [d.id]);
  const form = useForm({});
  return (
    <Loaded state={matches}>
      {(list) => (
        <>
          <Table
            items={list}
            none={t('inbox.noMatches')}
            caption={t('inbox.matches')}
            headers={[
              t('inbox.score'),
              t('person.name'),
              t('person.birthDate'),
              t('inbox.address'),
              t('inbox.agreed'),
              t('common.actions'),
            ]}
            row={(m) => (
              <tr key={m.personId}>
                <td>{m.score}</td>
                <td>
                  <Link to={`/persons/${m.personId}`}>
                    {m.familyName}, {m.givenName}
                  </Link>
                </td>
                <td>{fhirDate(m.birthDate)}</td>
                <td>{address(m.address) || '—'}</td>
                <td>{m.agreed.map((p) => t(PART[p])).join(', ')}</td>
                <td>
                  {m.personId === d.personId ? (
                    t('inbox.isLinked')
                  ) : (
                    <form
                      onSubmit={form.onSubmit(async () => {
                        await api('POST', `/api/notifications/${d.id}/person`, {
                          personId: m.personId,
                          version: d.version,
                        });
                        notify(t('inbox.linked'));
                        reload();
                      })}
                    >
                      <button
                        type="submit"
                        disabled={form.busy}
                        aria-label={t('inbox.thisPersonFor', { name: `${m.familyName}, ${m.givenName}` })}
                      >
                        {t('inbox.thisPerson')}
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            )}
          />
          <FormError form={form} fields={[]} />
        </>
      )}
    </Loaded>
  );
}

function NewPerson({ d, reload, onCancel }: { d: NotificationDetail; reload: () => void; onCancel: () => void }) {
  const t = useT();
  const notify = useNotify();
  const p = d.facts.person;
  const partial = !!p.birthDate && !/^\d{4}-\d{2}-\d{2}$/.test(p.birthDate);
  const form = useForm<PersonValues>({
    familyName: p.familyName ?? '',
    givenName: p.givenName ?? '',
    // Only month and year (or the year) notified: shown as the German text 03.1984, for the day to be added.
    birthDate: partial ? fhirDate(p.birthDate) : (p.birthDate ?? ''),
    sex: p.sex ?? '',
    street: p.address?.street ?? '',
    postalCode: p.address?.postalCode ?? '',
    city: p.address?.city ?? '',
    dicomPatientId: '',
  });
  const fields = { values: form.values, set: form.set, fieldError: (f: string) => form.fieldError(`create.${f}`) };
  return (
    <form
      id="new-person"
      noValidate
      className="stacked"
      aria-label={t('inbox.newPerson')}
      onSubmit={form.onSubmit(async (v) => {
        const { dicomPatientId, ...data } = personBody(v);
        await api('POST', `/api/notifications/${d.id}/person`, {
          create: { ...data, ...(dicomPatientId ? { dicomPatientId } : {}) },
          version: d.version,
        });
        notify(t('inbox.personCreated'));
        reload();
      })}
    >
      {partial && <p className="hint">{t('inbox.partialBirthDate', { date: fhirDate(p.birthDate) })}</p>}
      <PersonFields form={fields} />
      <FormError
        form={form}
        fields={['familyName', 'givenName', 'birthDate', 'sex', 'address', 'dicomPatientId'].map((f) => `create.${f}`)}
      />
      <div className="actions">
        <button type="submit" className="primary" disabled={form.busy}>
          {t('inbox.createPerson')}
        </button>
        <button type="button" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </form>
  );
}

function Accept({ d, reload }: { d: NotificationDetail; reload: () => void }) {
  const t = useT();
  const notify = useNotify();
  const form = useForm<{
    status: 'suspected' | 'probable' | 'confirmed' | 'not-a-case';
    category: '' | 'A' | 'B' | 'C' | 'D' | 'E';
  }>({
    status: d.kind === 'laboratory' ? 'confirmed' : 'suspected',
    category: '',
  });
  return (
    <form
      className="panel stacked"
      aria-labelledby="accept-title"
      onSubmit={form.onSubmit(async (v) => {
        await api<NotificationChanged>('POST', `/api/notifications/${d.id}/accept`, {
          status: v.status,
          ...(v.category ? { category: v.category } : {}),
          version: d.version,
        });
        notify(t('inbox.accepted'));
        reload();
      })}
    >
      <h3 id="accept-title">{t('inbox.acceptTitle')}</h3>
      <SelectField
        label={t('inbox.caseStatus')}
        value={form.values.status}
        onChange={(v) => form.set('status', v)}
        options={(['suspected', 'probable', 'confirmed', 'not-a-case'] as const).map((s) => ({
          value: s,
          label: t(`inbox.caseStatus.${s}`),
        }))}
        error={form.fieldError('status')}
      />
      <SelectField
        label={t('inbox.category')}
        value={form.values.category}
        onChange={(v) => form.set('category', v)}
        options={[
          { value: '' as const, label: t('cases.category.none') },
          // With their meaning, as on the case screen ("C – klinisch-labordiagnostisch bestätigte Erkrankung").
          ...(['A', 'B', 'C', 'D', 'E'] as const).map((c) => ({
            value: c,
            label: t(`cases.category.${c}` as MessageKey),
          })),
        ]}
        error={form.fieldError('category')}
      />
      <FormError form={form} fields={['status', 'category']} />
      <button type="submit" className="primary" disabled={form.busy}>
        {t('inbox.accept')}
      </button>
    </form>
  );
}

function Close({ d, reload }: { d: NotificationDetail; reload: () => void }) {
  const t = useT();
  const notify = useNotify();
  const form = useForm({ reason: '' });
  return (
    <form
      className="panel stacked"
      aria-labelledby="close-title"
      noValidate
      onSubmit={form.onSubmit(async (v) => {
        await api('POST', `/api/notifications/${d.id}/close`, { reason: v.reason, version: d.version });
        notify(t('inbox.closed'));
        reload();
      })}
    >
      <h3 id="close-title">{t('inbox.closeTitle')}</h3>
      <TextField
        label={t('inbox.closeReason')}
        value={form.values.reason}
        onChange={(v) => form.set('reason', v)}
        error={form.fieldError('reason')}
      />
      <FormError form={form} fields={['reason']} />
      <button type="submit" disabled={form.busy}>
        {t('inbox.close')}
      </button>
    </form>
  );
}

/** A changed fact's name in words: the person's, the notifier's, the findings'. */
function changeName(path: string, t: T): string {
  const [head, tail] = path.split('.');
  const key = `inbox.fact.${head}` as MessageKey;
  const word = t(key) === key ? head! : t(key);
  return tail ? `${word}: ${tail}` : word;
}

function Versions({ d, t }: { d: NotificationDetail; t: T }) {
  return (
    <section aria-labelledby="versions-title">
      <h3 id="versions-title">{t('inbox.versions')}</h3>
      <Table
        items={d.versions}
        caption={t('inbox.versions')}
        headers={[
          t('inbox.version'),
          t('inbox.notifiedAt'),
          t('inbox.received'),
          t('inbox.status'),
          t('inbox.source'),
          t('inbox.changes'),
        ]}
        row={(v) => (
          <tr key={v.version}>
            <td>
              {v.version}
              {v.current && (
                <>
                  {' '}
                  <span className="badge">{t('inbox.current')}</span>
                </>
              )}
            </td>
            <td>{fhirDate(v.notifiedAt)}</td>
            <td>{formatDateTime(v.receivedAt)}</td>
            <td>{t(`inbox.status.${v.status}` as MessageKey)}</td>
            <td>{t(v.source === 'demis' ? 'inbox.source.demis' : 'inbox.source.upload')}</td>
            <td>{v.changes.length ? v.changes.map((c) => changeName(c, t)).join(', ') : '—'}</td>
          </tr>
        )}
      />
    </section>
  );
}
