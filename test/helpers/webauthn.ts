// A software authenticator for tests: real WebAuthn structures, built with
// node:crypto, that @simplewebauthn/server verifies like a browser's. ES256 key
// pairs, `none` attestation, authenticator data with UP|UV|AT, the COSE public
// key in a small CBOR encoder (the few types WebAuthn needs). Every field can be
// bent for an attack test: origin, RP ID, user verification, counter.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

type Cbor = number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor> | { [k: string]: Cbor };

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/** CBOR (RFC 8949) for unsigned and negative integers, byte and text strings, arrays and maps. */
export function cbor(v: Cbor): Buffer {
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([head(3, b.length), b]);
  }
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), v]);
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cbor)]);
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, x]) => [cbor(k), cbor(x)])]);
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();
const b64url = (b: Buffer) => b.toString('base64url');

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

export interface Bend {
  origin?: string;
  rpId?: string;
  /** false: the user was present but not verified (no PIN, no biometric). */
  userVerified?: boolean;
  /** The signature counter to report instead of the next one. */
  counter?: number;
  /** Sign with this credential even if the options do not allow it. */
  credentialId?: string;
}

interface Credential {
  id: Buffer;
  privateKey: KeyObject;
  counter: number;
  rpId: string;
  userHandle: string;
}

export class SoftAuthenticator {
  readonly credentials = new Map<string, Credential>();

  readonly origin: string;
  constructor(origin: string) {
    this.origin = origin;
  }

  /** The registration ceremony: a new ES256 credential for the options' RP and user. */
  create(options: PublicKeyCredentialCreationOptionsJSON, bend: Bend = {}): RegistrationResponseJSON {
    if (!options.pubKeyCredParams.some((p) => p.alg === -7)) throw new Error('ES256 not offered');
    const rpId = bend.rpId ?? options.rp.id ?? new URL(this.origin).hostname;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = cbor(
      new Map<Cbor, Cbor>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
    const id = randomBytes(32);
    const flags = FLAG_UP | FLAG_AT | (bend.userVerified === false ? 0 : FLAG_UV);
    const counter = bend.counter ?? 0;
    const credLen = Buffer.alloc(2);
    credLen.writeUInt16BE(id.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([flags]),
      u32(counter),
      Buffer.alloc(16),
      credLen,
      id,
      cose,
    ]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: 'webauthn.create',
        challenge: options.challenge,
        origin: bend.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const attestationObject = cbor({ fmt: 'none', attStmt: {}, authData });
    this.credentials.set(b64url(id), { id, privateKey, counter, rpId, userHandle: options.user.id });
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** The authentication ceremony: an assertion by the first allowed credential this authenticator holds. */
  get(options: PublicKeyCredentialRequestOptionsJSON, bend: Bend = {}): AuthenticationResponseJSON {
    const allowed = (options.allowCredentials ?? []).map((c) => c.id);
    const id =
      bend.credentialId ??
      allowed.find((a) => this.credentials.has(a)) ??
      (allowed.length === 0 ? [...this.credentials.keys()][0] : undefined);
    const cred = id ? this.credentials.get(id) : undefined;
    if (!cred) throw new Error('no allowed credential on this authenticator');
    cred.counter = bend.counter ?? cred.counter + 1;
    const flags = FLAG_UP | (bend.userVerified === false ? 0 : FLAG_UV);
    const authData = Buffer.concat([
      sha256(bend.rpId ?? options.rpId ?? cred.rpId),
      Buffer.from([flags]),
      u32(cred.counter),
    ]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: 'webauthn.get',
        challenge: options.challenge,
        origin: bend.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), cred.privateKey);
    return {
      id: b64url(cred.id),
      rawId: b64url(cred.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: cred.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
