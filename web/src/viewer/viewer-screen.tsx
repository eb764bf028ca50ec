// A study of a person's file: its series, and the chosen series in the viewport.
import { useState } from 'react';
import { useT } from '../i18n/i18n.ts';
import { Link } from '../router.tsx';
import { Loaded, useLoad } from '../ui/load.tsx';
import { studyIndex } from './dicomweb.ts';
import { Viewport } from './viewport.tsx';

export default function ViewerScreen({ personId, studyUid }: { personId: string; studyUid: string }) {
  const t = useT();
  const series = useLoad(() => studyIndex(studyUid), [studyUid]);
  const [chosen, setChosen] = useState<string | null>(null);
  return (
    <section>
      <p>
        <Link to={`/persons/${personId}`}>{t('record.backToFile')}</Link>
      </p>
      <h1>{t('viewer.title')}</h1>
      <Loaded state={series}>
        {(list) => {
          const current = list.find((s) => s.uid === chosen) ?? list[0];
          return (
            <div className="viewer-layout">
              <nav aria-label={t('viewer.series')} className="series-list">
                <h2>{t('viewer.series')}</h2>
                <ul>
                  {list.map((s) => (
                    <li key={s.uid}>
                      <button type="button" aria-pressed={s.uid === current?.uid} onClick={() => setChosen(s.uid)}>
                        {s.number ? `${s.number}: ` : ''}
                        {s.description || s.modality} ({t('viewer.images', { n: s.instances.length })})
                      </button>
                    </li>
                  ))}
                </ul>
              </nav>
              {current && <Viewport key={current.uid} studyUid={studyUid} seriesUid={current.uid} images={current.instances} />}
            </div>
          );
        }}
      </Loaded>
    </section>
  );
}
