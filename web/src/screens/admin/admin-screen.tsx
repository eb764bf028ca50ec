// Administration: departments, users, devices, single sign-on, the DEMIS connection and letter templates. An
// administrator manages who may do what; no screen here shows a person's file or a record.
import { Link, usePath } from '../../router.tsx';
import { useT } from '../../i18n/i18n.ts';
import { Departments } from './departments.tsx';
import { Users } from './users.tsx';
import { Devices } from './devices.tsx';
import { SsoSettingsForm } from './sso.tsx';
import { DemisSettingsForm } from './demis.tsx';
import { TemplatesAdmin } from './templates.tsx';

export default function AdminScreen() {
  const t = useT();
  const path = usePath();
  return (
    <section>
      <h1>{t('admin.title')}</h1>
      <nav aria-label={t('admin.title')} className="tabs">
        <Link to="/admin">{t('admin.departments')}</Link>
        <Link to="/admin/users">{t('admin.users')}</Link>
        <Link to="/admin/devices">{t('admin.devices')}</Link>
        <Link to="/admin/sso">{t('sso.adminTab')}</Link>
        <Link to="/admin/demis">{t('demis.tab')}</Link>
        <Link to="/admin/templates">{t('templates.tab')}</Link>
      </nav>
      {path === '/admin/users' ? (
        <Users />
      ) : path === '/admin/devices' ? (
        <Devices />
      ) : path === '/admin/sso' ? (
        <SsoSettingsForm />
      ) : path === '/admin/demis' ? (
        <DemisSettingsForm />
      ) : path === '/admin/templates' || path.startsWith('/admin/templates/') ? (
        <TemplatesAdmin />
      ) : (
        <Departments />
      )}
    </section>
  );
}
