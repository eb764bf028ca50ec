// The data-protection office (and department heads, for their own departments'
// files): the access log with filters, the break-the-glass review queue, and one
// person's access report ready to print for a request under Art. 15 GDPR.
import { Link, match, usePath } from '../../router.tsx';
import { useT } from '../../i18n/i18n.ts';
import { AuditLog } from './audit-log.tsx';
import { Reviews } from './reviews.tsx';
import { AccessReport } from './access-report.tsx';
import { AccessChart } from './access-chart.tsx';
import { InstallationLog } from './installation-log.tsx';
import { isDpo, useSession } from '../../session.tsx';

export default function AuditScreen() {
  const t = useT();
  const path = usePath();
  const { me } = useSession();
  const report = match('/audit/persons/:id', path);
  return (
    <section>
      {/* A head reaches this page by the link "Zugriffe": the page says the same. */}
      <h1 className="no-print">{isDpo(me) ? t('audit.title') : t('nav.audit')}</h1>
      <nav aria-label={isDpo(me) ? t('audit.title') : t('nav.audit')} className="tabs no-print">
        <Link to="/audit">{t('audit.log')}</Link>
        <Link to="/audit/reviews">{t('audit.reviews')}</Link>
        <Link to="/audit/overview">{t('audit.overview')}</Link>
        {isDpo(me) && <Link to="/audit/installation">{t('audit.installation')}</Link>}
      </nav>
      {report ? (
        <AccessReport personId={report.id!} />
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
