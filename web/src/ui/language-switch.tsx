import { currentLang, setLang, useT, type Lang } from '../i18n/i18n.ts';

export function LanguageSwitch() {
  const t = useT();
  const other: Lang = currentLang() === 'de' ? 'en' : 'de';
  return (
    <button type="button" className="link" lang={other} onClick={() => void setLang(other)}>
      {t('lang.switch')}
    </button>
  );
}
