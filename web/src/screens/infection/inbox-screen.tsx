// Placeholder of the infection hub's tab until its screen lands (issue 16).
import { useT } from '../../i18n/i18n.ts';

export function InboxScreen(_: { rest: string }) {
  const t = useT();
  return <p>{t('infection.notYet')}</p>;
}
