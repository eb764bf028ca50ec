// Whose study the viewer shows: name, birth date, study date, description,
// modality and the file and department it belongs to — from the linked file,
// else from the DICOM header, marked "not assigned". The banner stays in view
// on scroll and in print; the overlay repeats it inside the image area, so a
// screenshot of the image names the patient too.
import type { StudyBannerView } from '../api/types.ts';
import { formatDate, useT } from '../i18n/i18n.ts';

/** The facts of the banner, once for the banner and the overlay. */
function facts(b: StudyBannerView, t: ReturnType<typeof useT>) {
  const who = b.person ?? b.patient;
  const name = [who.familyName, who.givenName].filter(Boolean).join(', ') || t('banner.noName');
  const birth = who.birthDate ? formatDate(who.birthDate) : t('banner.noBirthDate');
  const date = b.studyDate ? formatDate(b.studyDate) : t('studies.undated');
  const what = [b.description, b.modalities.join(', ')].filter(Boolean).join(' · ');
  const where = b.linked
    ? t('banner.file', { department: b.department.name })
    : t('banner.unassigned', { department: b.department.name });
  return { name, birth, date, what, where };
}

export function StudyBanner({ banner }: { banner: StudyBannerView }) {
  const t = useT();
  const f = facts(banner, t);
  return (
    <section
      className={`study-banner${banner.linked ? '' : ' unassigned'}`}
      aria-label={t('banner.label')}
      data-testid="study-banner"
    >
      <p className="who">
        <strong>{f.name}</strong> <span>{t('banner.born', { date: f.birth })}</span>
        {!banner.linked && <span className="badge restricted">{t('banner.notAssigned')}</span>}
      </p>
      <p className="what">
        {t('banner.study', { date: f.date })}
        {f.what && ` · ${f.what}`} · {f.where}
        {!banner.linked && banner.patient.patientId && ` · ${t('banner.patientId', { id: banner.patient.patientId })}`}
      </p>
    </section>
  );
}

/** The same facts over the image (hidden from screen readers, which read the banner). */
export function StudyOverlay({ banner }: { banner: StudyBannerView }) {
  const t = useT();
  const f = facts(banner, t);
  return (
    <div className="overlay corner" aria-hidden="true" data-testid="study-overlay">
      <span>{f.name}</span>
      <span>{t('banner.born', { date: f.birth })}</span>
      <span>
        {f.date}
        {f.what && ` · ${f.what}`}
      </span>
      <span>{banner.linked ? f.where : `${t('banner.notAssigned')} · ${banner.department.name}`}</span>
    </div>
  );
}
