// The payload of a DEMIS notification as the clearing API hands it out: a FHIR Binary whose
// data is a CMS EnvelopedData (RFC 5652, content type application/cms) encrypted for the
// office's certificate — the content key under RSAES-OAEP (SHA-256), the bundle under
// AES-256-CBC, as gematik's notification-processing-service builds it. Opened here with
// pkijs on Node's WebCrypto; the stand-in (test/helpers/demis-stand-in.ts) seals with `sealFor`.
import { webcrypto } from 'node:crypto';
import * as pkijs from 'pkijs';

const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });

/** A copy in an ArrayBuffer of its own (a Buffer may be a view into a shared pool). */
const arrayBuffer = (b: Uint8Array): ArrayBuffer => {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return copy.buffer;
};

function certificateOf(pem: string): pkijs.Certificate {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return pkijs.Certificate.fromBER(arrayBuffer(der));
}

/** Opens an EnvelopedData for the office: its certificate (PEM) and private key (PKCS#8 DER). */
export async function openEnveloped(cms: Uint8Array, certificatePem: string, pkcs8: Uint8Array): Promise<Uint8Array> {
  const info = pkijs.ContentInfo.fromBER(arrayBuffer(cms));
  if (info.contentType !== pkijs.ContentInfo.ENVELOPED_DATA) throw new Error('not a CMS EnvelopedData');
  const enveloped = new pkijs.EnvelopedData({ schema: info.content });
  const plain = await enveloped.decrypt(
    0,
    { recipientCertificate: certificateOf(certificatePem), recipientPrivateKey: arrayBuffer(pkcs8) },
    engine,
  );
  return new Uint8Array(plain);
}

/** Seals bytes for a certificate the way DEMIS does (used by the test stand-in). */
export async function sealFor(plain: Uint8Array, certificatePem: string): Promise<Uint8Array> {
  const enveloped = new pkijs.EnvelopedData();
  enveloped.addRecipientByCertificate(certificateOf(certificatePem), { oaepHashAlgorithm: 'SHA-256' }, 1, engine);
  await enveloped.encrypt({ name: 'AES-CBC', length: 256 } as Algorithm, arrayBuffer(plain), engine);
  const info = new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.ENVELOPED_DATA, content: enveloped.toSchema() });
  return new Uint8Array(info.toSchema().toBER());
}
