// A study of a person's file (or of a department, not yet assigned): the banner
// naming whose it is, its series, and the chosen series in the viewport. When
// the click that opened the study started loading its first image, that image is
// shown at once, and the study's series are asked for after it.
import { useState } from 'react';
import { api } from '../api/client.ts';
import type { StudyBannerView } from '../api/types.ts';
import { useT } from '../i18n/i18n.ts';
import { Link } from '../router.tsx';
import { Loaded, useLoad } from '../ui/load.tsx';
import { firstImageAhead, studyIndex } from './dicomweb.ts';
import { Viewport } from './viewport.tsx';
import { StudyBanner, StudyOverlay } from './study-banner.tsx';

export { prefetchFirstImage } from './dicomweb.ts';

/** `personId`: opened from that file; without it, from a department's unassigned studies. */
export default function ViewerScreen({ personId, studyUid }: { personId?: string; studyUid: string }) {
  const t = useT();
  // Kept as one object: a new images list on every render would make the viewport start over.
  const [early] = useState(() => {
    const e = firstImageAhead(studyUid);
    return e && { settled: e.settled, series: { uid: e.seriesUid, images: [e.image] } };
  });
  // On two cores the study's search beside the first image would slow that image down.
  const series = useLoad(
    () => (early?.settled ?? Promise.resolve()).then(() => studyIndex(studyUid)),
    [studyUid, early],
  );
  // Whose study it is: asked once the first image the click started has come (on two cores
  // a request beside it slows it down), else at once; the banner stands before the series do.
  const banner = useLoad(
    () =>
      (early?.settled ?? Promise.resolve()).then(() =>
        api<StudyBannerView>('GET', `/api/studies/${encodeURIComponent(studyUid)}`),
      ),
    [studyUid, early],
  );
  const [chosen, setChosen] = useState<string | null>(null);
  const list = series.data;
  const current = list ? (list.find((s) => s.uid === chosen) ?? list[0]) : early?.series;
  return (
    <section>
      <p className="no-print">
        {personId || banner.data?.person ? (
          <Link to={`/persons/${personId ?? banner.data!.person!.id}`}>{t('record.backToFile')}</Link>
        ) : (
          banner.data && (
            <Link to={`/departments/${banner.data.department.id}/unassigned-studies`}>
              {t('banner.backToUnassigned')}
            </Link>
          )
        )}
      </p>
      <h1>{t('viewer.title')}</h1>
      {banner.error ? (
        <Loaded state={banner}>{() => null}</Loaded>
      ) : banner.data ? (
        <StudyBanner banner={banner.data} />
      ) : (
        <p className="study-banner loading">{t('common.loading')}</p>
      )}
      {series.error ? (
        <Loaded state={series}>{() => null}</Loaded>
      ) : (
        <div className="viewer-layout">
          <nav aria-label={t('viewer.series')} className="series-list no-print">
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
          {current && (
            <Viewport
              key={current.uid}
              studyUid={studyUid}
              seriesUid={current.uid}
              images={current.images}
              overlay={banner.data && <StudyOverlay banner={banner.data} />}
            />
          )}
        </div>
      )}
    </section>
  );
}
