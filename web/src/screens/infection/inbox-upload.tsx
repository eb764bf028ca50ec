// Uploading a DEMIS bundle by hand (an outage of the connection, the DEMIS test environment): a JSON
// or XML file, sent as it is. The answer says what became of it; a refused bundle shows every
// problem (element and what was expected) at once and is kept in the quarantine.
import { useState } from 'react';
import { ApiError, request } from '../../api/client.ts';
import type { ImportAnswer } from '../../api/types.ts';
import { useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { Field } from '../../ui/form.tsx';
import { DepartmentPicker, InboxNav, useInboxDepartment } from './inbox-shared.tsx';
import { problemText, type ProblemLike } from './inbox-problems.ts';

/** The media type of a bundle file: XML by its name or type, else JSON. */
const mediaTypeOf = (f: File) =>
  /\.xml$/i.test(f.name) || f.type.includes('xml') ? 'application/fhir+xml' : 'application/fhir+json';

export function UploadScreen() {
  const t = useT();
  const [departmentId, setDepartment] = useInboxDepartment();
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<ImportAnswer | null>(null);
  const [refused, setRefused] = useState<{
    quarantineId?: string;
    problems: ({ field: string } & ProblemLike)[];
  } | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  return (
    <section aria-labelledby="upload-title">
      <h2 id="upload-title">{t('inbox.upload.title')}</h2>
      <InboxNav current="upload" />
      <p>{t('inbox.upload.intro')}</p>
      <DepartmentPicker value={departmentId} onChange={setDepartment} />
      <form
        className="stacked"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!file) return;
          setBusy(true);
          setAnswer(null);
          setRefused(null);
          setFailed(null);
          try {
            const res = await request('POST', `/api/departments/${departmentId}/notifications`, {
              raw: { bytes: file, type: mediaTypeOf(file) },
            });
            setAnswer((await res.json()) as ImportAnswer);
          } catch (err) {
            if (err instanceof ApiError && err.code === 'validation-failed' && err.problem.quarantineId) {
              const errors = (err.problem.errors ?? []) as {
                field: string;
                params?: Record<string, string | number>;
              }[];
              setRefused({
                quarantineId: err.problem.quarantineId as string,
                problems: errors.map((x) => {
                  const { expected, problem, ...params } = x.params ?? {};
                  return {
                    field: x.field,
                    expected: String(expected ?? ''),
                    ...(problem ? { code: String(problem), params } : {}),
                  };
                }),
              });
            } else if (err instanceof ApiError && err.status === 413) setFailed(t('inbox.upload.tooLarge'));
            else if (err instanceof ApiError && err.status === 415) setFailed(t('inbox.upload.wrongType'));
            else setFailed(t('inbox.upload.failed'));
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field label={t('inbox.upload.file')} hint={t('inbox.upload.hint')}>
          {(a) => (
            <input
              {...a}
              type="file"
              accept=".json,.xml,application/json,application/fhir+json,application/xml,application/fhir+xml"
              onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            />
          )}
        </Field>
        <button type="submit" className="primary" disabled={busy || !file}>
          {t('inbox.upload.send')}
        </button>
      </form>
      {answer && (
        <p role="status" className="banner success">
          {t(`inbox.upload.${answer.outcome}` as 'inbox.upload.created')}{' '}
          {answer.notificationId && <Link to={`/infection/inbox/${answer.notificationId}`}>{t('inbox.open')}</Link>}
        </p>
      )}
      {failed && (
        <p role="alert" className="form-error">
          {failed}
        </p>
      )}
      {refused && (
        <div role="alert" className="form-error">
          <p>{t('inbox.upload.refused')}</p>
          <ul>
            {refused.problems.map((p, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the problems' order as answered
              <li key={i}>
                <code>{p.field}</code>: {t('problem.field.bundle-element', { expected: problemText(t, p) })}
              </li>
            ))}
          </ul>
          {refused.quarantineId && (
            <p>
              <Link to={`/infection/inbox/quarantine/${refused.quarantineId}`}>{t('inbox.upload.toQuarantine')}</Link>
            </p>
          )}
        </div>
      )}
    </section>
  );
}
