// A study of a person's file: its series, and the chosen series in the viewport.
// When the click that opened the study started loading its first image, that
// image is shown at once, and the study's series are asked for after it.
import { useState } from 'react';
import { useT } from '../i18n/i18n.ts';
import { Link } from '../router.tsx';
import { Loaded, useLoad } from '../ui/load.tsx';
import { firstImageAhead, studyIndex } from './dicomweb.ts';
import { Viewport } from './viewport.tsx';

export { prefetchFirstImage } from './dicomweb.ts';

export default function ViewerScreen({ personId, studyUid }: { personId: string; studyUid: string }) {
  const t = useT();
  // Kept as one object: a new images list on every render would make the viewport start over.
  const [early] = useState(() => {
    const e = firstImageAhead(studyUid);
    return e && { settled: e.settled, series: { uid: e.seriesUid, images: [e.image] } };
  });
  // On two cores the study's search beside the first image would slow that image down.
  const series = useLoad(() => (early?.settled ?? Promise.resolve()).then(() => studyIndex(studyUid)), [studyUid, early]);
  const [chosen, setChosen] = useState<string | null>(null);
  const list = series.data;
  const current = list ? (list.find((s) => s.uid === chosen) ?? list[0]) : early?.series;
  return (
    <section>
      <p>
        <Link to={`/persons/${personId}`}>{t('record.backToFile')}</Link>
      </p>
      <h1>{t('viewer.title')}</h1>
      {series.error ? (
        <Loaded state={series}>{() => null}</Loaded>
      ) : (
        <div className="viewer-layout">
          <nav aria-label={t('viewer.series')} className="series-list">
            <h2>{t('viewer.series')}</h2>
            {list ? (
              <ul>
                {list.map((s) => (
                  <li key={s.uid}>
                    <button type="button" aria-pressed={s.uid === current?.uid} onClick={() => setChosen(s.uid)}>
                      {s.number ? `${s.number}: ` : ''}
                      {s.description || s.modality} ({t('viewer.images', { n: s.images.length })})
                    </button>
                  </li>
                ))}
              </ul>
            ) : (
              <p className="loading">{t('common.loading')}</p>
            )}
          </nav>
          {current && <Viewport key={current.uid} studyUid={studyUid} seriesUid={current.uid} images={current.images} />}
        </div>
      )}
    </section>
  );
}
