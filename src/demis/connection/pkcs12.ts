// The office's DEMIS certificate as a PKCS#12 file (.p12/.pfx, how the Bundesdruckerei hands it
// out) with its password: its integrity checked (the MAC), the certificate bag and the shrouded
// key bag taken out, the key opened by Node (an EncryptedPrivateKeyInfo is exactly that bag). The
// bags' password encryption is PBES2 (OpenSSL 3's default); a file with legacy RC2/3DES bags is
// refused with a hint to convert it. What comes out goes through credentials.ts like PEM input.
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import * as pkijs from 'pkijs';

const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });

const CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const KEY_BAG = '1.2.840.113549.1.12.10.1.1';

function ownBuffer(b: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return copy.buffer;
}

/** The certificate (PEM) and key (PKCS#8 PEM) of a PKCS#12 file, or why not. */
export async function openPkcs12(
  file: Uint8Array,
  password: string,
): Promise<{ certificate: string; privateKey: string } | { problem: 'unreadable' | 'password' }> {
  const secret = ownBuffer(new TextEncoder().encode(password));
  let pfx: pkijs.PFX;
  try {
    pfx = pkijs.PFX.fromBER(ownBuffer(file));
  } catch {
    return { problem: 'unreadable' };
  }
  try {
    await pfx.parseInternalValues({ password: secret, checkIntegrity: true }, engine);
  } catch {
    return { problem: 'password' };
  }
  const safe = pfx.parsedValue?.authenticatedSafe;
  if (!safe) return { problem: 'unreadable' };
  try {
    await safe.parseInternalValues({ safeContents: safe.safeContents.map(() => ({ password: secret })) }, engine);
  } catch {
    return { problem: 'unreadable' };
  }
  const certificates: string[] = [];
  const keys: string[] = [];
  for (const contents of safe.parsedValue.safeContents as { value: pkijs.SafeContents }[]) {
    for (const bag of contents.value.safeBags) {
      if (bag.bagId === CERT_BAG) {
        const der = (bag.bagValue as pkijs.CertBag).parsedValue?.toSchema().toBER();
        if (der) certificates.push(new X509Certificate(Buffer.from(der)).toString());
      } else if (bag.bagId === SHROUDED_KEY_BAG || bag.bagId === KEY_BAG) {
        const der = Buffer.from((bag.bagValue as pkijs.PKCS8ShroudedKeyBag).toSchema().toBER());
        try {
          const key =
            bag.bagId === KEY_BAG
              ? createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
              : createPrivateKey({ key: der, format: 'der', type: 'pkcs8', passphrase: password });
          keys.push(key.export({ type: 'pkcs8', format: 'pem' }).toString());
        } catch {
          return { problem: 'password' };
        }
      }
    }
  }
  // The office's own certificate is the one its key belongs to (a file may carry the CA chain too).
  const key = keys[0];
  if (!key) return { problem: 'unreadable' };
  const own = certificates.find((c) => new X509Certificate(c).checkPrivateKey(createPrivateKey(key)));
  if (!own) return { problem: 'unreadable' };
  return { certificate: own, privateKey: key };
}
