// The security report: the findings of `kartei doctor`, most severe first, each with its fix,
// worded in the user's language from the finding's code.
import { api } from '../api/client.ts';
import type { Finding } from '../api/types.ts';
import { useT } from '../i18n/i18n.ts';
import { Loaded, useLoad } from '../ui/load.tsx';
import { findingText } from '../ui/problem-text.ts';

export default function SecurityScreen() {
  const t = useT();
  const report = useLoad(() => api<Finding[]>('GET', '/api/security-report'), []);
  return (
    <section>
      <h1>{t('security.title')}</h1>
      <p>{t('security.intro')}</p>
      <Loaded state={report}>
        {(findings) =>
          findings.length === 0 ? (
            <p role="status">{t('security.none')}</p>
          ) : (
            <ol className="findings">
              {findings.map((f, i) => {
                const { title, fix } = findingText(f);
                return (
                  // biome-ignore lint/suspicious/noArrayIndexKey: one report, shown as read and never reordered; two findings may read alike
                  <li key={i} className={`finding severity-${f.severity}`}>
                    <span className={`badge severity-${f.severity}`}>{t(`severity.${f.severity}`)}</span>{' '}
                    <strong>{title}</strong>
                    {fix && (
                      <p>
                        {t('security.fix')}: {fix}
                      </p>
                    )}
                  </li>
                );
              })}
            </ol>
          )
        }
      </Loaded>
    </section>
  );
}
