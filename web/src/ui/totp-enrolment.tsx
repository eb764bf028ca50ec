// The QR code and the secret of a TOTP enrolment. The code is drawn as an SVG
// image (a data: URL, which the Content Security Policy allows for images).
import { useEffect, useState } from 'react';
import { useT } from '../i18n/i18n.ts';

export function TotpEnrolment({ uri, secret }: { uri: string; secret: string }) {
  const t = useT();
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void import('qrcode').then(({ toString: toSvg }) =>
      toSvg(uri, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' }).then((svg) => {
        if (live) setSrc(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`);
      }),
    );
    return () => {
      live = false;
    };
  }, [uri]);
  return (
    <div className="totp-enrolment">
      <p>{t('mfa.enrolIntro')}</p>
      {src && <img className="qr" src={src} width={200} height={200} alt={t('mfa.qrAlt')} />}
      <p>
        {t('mfa.secretIntro')} <code className="secret">{secret.replace(/(.{4})/g, '$1 ').trim()}</code>
      </p>
    </div>
  );
}
