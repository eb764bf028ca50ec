// The data-protection office (and department heads, for their own departments'
// files): the access log with filters, the break-the-glass review queue, and
// access reports for a request under Art. 15 GDPR — one file's (a head's, from the
// file), or, for the DPO, over a person's files found in every department.
import { Link, match, usePath } from '../../router.tsx';
import { useT } from '../../i18n/i18n.ts';
import { AuditLog } from './audit-log.tsx';
import { Reviews } from './reviews.tsx';
import { AccessReport } from './access-report.tsx';
import { DisclosureSearch } from './disclosure-search.tsx';
import { AccessChart } from './access-chart.tsx';
import { InstallationLog } from './installation-log.tsx';
import { isDpo, useSession } from '../../session.tsx';

export default function AuditScreen() {
  const t = useT();
  const path = usePath();
  const { me } = useSession();
  const report = match('/audit/persons/:id', path);
  const merged = isDpo(me) ? match('/audit/report/:ids', path) : null;
  return (
    <section>
      {/* A head reaches this page by the link "Zugriffe": the page says the same. */}
      <h1 className="no-print">{isDpo(me) ? t('audit.title') : t('nav.audit')}</h1>
      <nav aria-label={isDpo(me) ? t('audit.title') : t('nav.audit')} className="tabs no-print">
        <Link to="/audit">{t('audit.log')}</Link>
        <Link to="/audit/reviews">{t('audit.reviews')}</Link>
        <Link to="/audit/overview">{t('audit.overview')}</Link>
        {isDpo(me) && <Link to="/audit/disclosure">{t('disclosure.tab')}</Link>}
        {isDpo(me) && <Link to="/audit/installation">{t('audit.installation')}</Link>}
      </nav>
      {report ? (
        <AccessReport source={{ kind: 'file', personId: report.id! }} />
      ) : merged ? (
        <AccessReport source={{ kind: 'files', personIds: merged.ids!.split(',').filter(Boolean) }} />
      ) : path === '/audit/disclosure' && isDpo(me) ? (
        <DisclosureSearch />
      ) : path === '/audit/reviews' ? (
        <Reviews />
      ) : path === '/audit/overview' ? (
        <AccessChart />
      ) : path === '/audit/installation' && isDpo(me) ? (
        <InstallationLog />
      ) : (
        <AuditLog />
      )}
    </section>
  );
}
