import { api } from '../../api/client.ts';
import type { Review } from '../../api/types.ts';
import { formatDateTime, useT } from '../../i18n/i18n.ts';
import { Link } from '../../router.tsx';
import { departmentName, useSession } from '../../session.tsx';
import { FormError, TextField, useForm } from '../../ui/form.tsx';
import { Loaded, useLoad } from '../../ui/load.tsx';

/** Open break-the-glass accesses, each decided with a comment (the decision is audited too). */
export function Reviews() {
  const t = useT();
  const list = useLoad(() => api<Review[]>('GET', '/api/reviews'), []);
  return (
    <>
      <h2>{t('audit.reviews')}</h2>
      <p>{t('review.intro')}</p>
      <Loaded state={list}>{(items) => (items.length === 0 ? <p role="status">{t('review.none')}</p> : items.map((r) => <ReviewItem key={r.id} review={r} onDecided={list.reload} />))}</Loaded>
    </>
  );
}

function ReviewItem({ review, onDecided }: { review: Review; onDecided: () => void }) {
  const t = useT();
  const { me } = useSession();
  const form = useForm({ comment: '' });
  const decide = (decision: 'justified' | 'unjustified') =>
    form.onSubmit(async (v) => {
      await api('POST', `/api/reviews/${review.id}`, { decision, comment: v.comment });
      onDecided();
    });
  return (
    <form className="panel" noValidate aria-label={t('review.of', { name: review.userName ?? review.userId })} onSubmit={decide('justified')}>
      <dl className="facts">
        <dt>{t('review.who')}</dt>
        <dd>{review.userName ?? review.userId}</dd>
        <dt>{t('review.when')}</dt>
        <dd>
          {formatDateTime(review.createdAt)} – {formatDateTime(review.expiresAt)}
        </dd>
        <dt>{t('person.department')}</dt>
        <dd>{departmentName(me, review.departmentId)}</dd>
        <dt>{t('audit.reason')}</dt>
        <dd className="long">{review.reason}</dd>
        <dt>{t('audit.file')}</dt>
        <dd>
          <Link to={`/audit/persons/${review.personId}`}>{t('audit.report')}</Link>
        </dd>
      </dl>
      <TextField label={t('review.comment')} value={form.values.comment} onChange={(x) => form.set('comment', x)} multiline error={form.fieldError('comment')} />
      <FormError form={form} fields={['comment']} />
      <div className="actions">
        <button type="submit" className="primary" disabled={form.busy}>
          {t('review.justified')}
        </button>
        <button type="button" disabled={form.busy} onClick={decide('unjustified')}>
          {t('review.unjustified')}
        </button>
      </div>
    </form>
  );
}
