import { api } from '../../api/client.ts';
import type { Review } from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { departmentName, useSession } from '../../session.tsx';
import { FormError, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';
import { useConfirm } from '../../ui/confirm.tsx';
import { useNotify } from '../../ui/notice.tsx';
import { usePaged } from '../../ui/paged.ts';

/**
 * Open emergency accesses (files opened by breaking the glass, and emergency searches),
 * each decided with a comment (the decision is audited too). A grant still running can be
 * ended at once; "not justified" ends it as well. Below, the decided ones as a history,
 * most recently decided first, a page at a time.
 */
export function Reviews() {
  const t = useT();
  const list = useLoad(() => api<Review[]>('GET', '/api/reviews'), []);
  const history = usePaged<Review>('/api/reviews?state=decided');
  const changed = () => {
    list.reload();
    history.reload();
  };
  return (
    <>
      <h2>{t('audit.reviews')}</h2>
      <p>{t('review.intro')}</p>
      <section aria-labelledby="reviews-open">
        <h3 id="reviews-open">{t('review.openTitle')}</h3>
        <Loaded state={list}>
          {(items) =>
            items.length === 0 ? (
              <p role="status">{t('review.none')}</p>
            ) : (
              items.map((r) => <ReviewItem key={r.id} review={r} onChanged={changed} />)
            )
          }
        </Loaded>
      </section>
      <section aria-labelledby="reviews-decided">
        <h3 id="reviews-decided">{t('review.history')}</h3>
        <p>{t('review.historyIntro')}</p>
        <Loaded state={history}>
          {(items) =>
            items.length === 0 ? (
              <p>{t('review.historyNone')}</p>
            ) : (
              <ul className="reviews-history">
                {items.map((r) => (
                  <DecidedItem key={r.id} review={r} />
                ))}
              </ul>
            )
          }
        </Loaded>
        {history.more && (
          <button type="button" disabled={history.busy} onClick={() => void history.loadMore()}>
            {t('review.more')}
          </button>
        )}
      </section>
    </>
  );
}

/** One decided emergency access: whose, when, why; the decision, by whom, when, with the comment. */
function DecidedItem({ review }: { review: Review }) {
  const t = useT();
  const { me } = useSession();
  const who = review.userName ?? review.userId;
  const search = review.kind === 'emergency-search';
  const title = t(search ? 'review.ofSearch' : 'review.of', { name: who });
  return (
    <li aria-label={title}>
      <h4>{title}</h4>
      <dl className="facts">
        <dt>{t('review.when')}</dt>
        <dd>
          {formatDateTime(review.createdAt)} – {formatDateTime(review.expiresAt)}
        </dd>
        {!search && review.departmentId && (
          <>
            <dt>{t('person.department')}</dt>
            <dd>{departmentName(me, review.departmentId)}</dd>
          </>
        )}
        <dt>{t('audit.reason')}</dt>
        <dd className="long">{review.reason}</dd>
        <dt>{t('review.decision')}</dt>
        <dd>
          {t('review.decidedBy', {
            decision: t(
              review.decision === 'unjustified' ? 'review.decision.unjustified' : 'review.decision.justified',
            ),
            name: review.reviewedByName ?? review.reviewedBy ?? '—',
            at: review.reviewedAt ? formatDateTime(review.reviewedAt) : '—',
          })}
        </dd>
        <dt>{t('review.comment')}</dt>
        <dd className="long">{review.comment || t('review.noComment')}</dd>
        {!search && review.personId && (
          <>
            <dt>{t('audit.file')}</dt>
            <dd>
              <Link to={`/audit/persons/${review.personId}`}>{t('audit.report')}</Link>
            </dd>
          </>
        )}
      </dl>
    </li>
  );
}

function ReviewItem({ review, onChanged }: { review: Review; onChanged: () => void }) {
  const t = useT();
  const { me } = useSession();
  const form = useForm({ comment: '' });
  const revoking = useForm({});
  const confirm = useConfirm();
  const notify = useNotify();
  const who = review.userName ?? review.userId;
  const search = review.kind === 'emergency-search';
  const running = !search && !review.revokedAt && Date.parse(review.expiresAt) > Date.now();
  const decide = (decision: 'justified' | 'unjustified') =>
    form.onSubmit(async (v) => {
      await api('POST', `/api/reviews/${review.id}`, { decision, comment: v.comment });
      onChanged();
    });
  return (
    <form
      className="panel"
      noValidate
      aria-label={t(search ? 'review.ofSearch' : 'review.of', { name: who })}
      onSubmit={decide('justified')}
    >
      <h4>{t(search ? 'review.ofSearch' : 'review.of', { name: who })}</h4>
      <dl className="facts">
        <dt>{t('review.who')}</dt>
        <dd>{who}</dd>
        <dt>{t('review.when')}</dt>
        <dd>
          {formatDateTime(review.createdAt)} – {formatDateTime(review.expiresAt)}
          {review.revokedAt && <> · {t('review.revoked', { at: formatDateTime(review.revokedAt) })}</>}
        </dd>
        {!search && review.departmentId && (
          <>
            <dt>{t('person.department')}</dt>
            <dd>{departmentName(me, review.departmentId)}</dd>
          </>
        )}
        <dt>{t('audit.reason')}</dt>
        <dd className="long">{review.reason}</dd>
        {search ? (
          <>
            <dt>{t('review.results')}</dt>
            <dd>
              {(review.shownPersonIds ?? []).length === 0
                ? t('review.noResults')
                : (review.shownPersonIds ?? []).map((id, i) => (
                    <span key={id}>
                      {i > 0 && ' · '}
                      <Link to={`/audit/persons/${id}`}>{t('review.fileN', { n: i + 1 })}</Link>
                    </span>
                  ))}
            </dd>
          </>
        ) : (
          <>
            <dt>{t('audit.file')}</dt>
            <dd>
              <Link to={`/audit/persons/${review.personId}`}>{t('audit.report')}</Link>
            </dd>
          </>
        )}
      </dl>
      <TextField
        label={t('review.comment')}
        value={form.values.comment}
        onChange={(x) => form.set('comment', x)}
        multiline
        error={form.fieldError('comment')}
      />
      <FormError form={form} fields={['comment']} />
      <FormError form={revoking} fields={[]} />
      <div className="actions">
        <button type="submit" className="primary" disabled={form.busy}>
          {t('review.justified')}
        </button>
        <button type="button" disabled={form.busy} onClick={decide('unjustified')}>
          {t('review.unjustified')}
        </button>
        {running && (
          <button
            type="button"
            className="danger"
            disabled={revoking.busy}
            onClick={revoking.onSubmit(async () => {
              if (
                !(await confirm.ask({
                  title: t('review.revokeConfirm', { name: who }),
                  text: t('review.revokeConfirmText'),
                  confirm: t('review.revoke'),
                }))
              )
                return;
              await api('DELETE', `/api/break-glass/${review.id}`);
              notify(t('review.revokedDone'));
              onChanged();
            })}
          >
            {t('review.revoke')}
          </button>
        )}
      </div>
      {confirm.dialog}
    </form>
  );
}
