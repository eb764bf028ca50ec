// Passkeys (WebAuthn, issue 13): a second factor beside TOTP, and the one the
// login offers first. A signed-in person adds them under "Mein Konto" (several,
// each named), sees when each was last used, and removes them; the login's
// second step accepts an assertion of one of them (login.ts, `passkey`).
//
// - The relying party is the office's public address: origin =
//   KARTEI_PUBLIC_URL's origin, RP ID = its host name — with the office's own
//   host in place of the installation's where it has one (issue 19: offices),
//   decided by the address the request came to, never by the client otherwise.
//   An assertion made for another origin or RP ID fails (so a passkey of one
//   office's address signs in at no other's); so does one without user
//   verification (the authenticator's PIN or biometric stands for "something
//   you know/are").
// - Adding one needs the session *and* the current password, checked before the
//   ceremony starts and throttled like a login's password: a session left open
//   on a shared screen is not enough to plant a credential of one's own. The
//   ceremony's challenge is bound to that user and session, lives 5 minutes and
//   is used once (a conditional update).
// - Removing one needs the session (the web application asks for confirmation)
//   and never takes the last second factor: the delete is conditional on TOTP
//   or another passkey remaining, after the user's row is locked, so two
//   parallel removals cannot both succeed.
// - A reset link (enrolment.ts) deletes them with the other credentials.
// - Names are sealed with the office's key; public keys and credential ids are
//   not secrets and stay plain, so that a login finds its credential.
import { randomUUID } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransportFuture,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  VerifiedAuthenticationResponse,
  VerifiedRegistrationResponse,
} from '@simplewebauthn/server';
import { inTenantTransaction, type Store, type Tx } from '../db/connect.ts';
import type { PasskeysTable } from '../db/schema.ts';
import { KarteiError, fieldRefused } from '../errors.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Keyring } from '../vault/keyring.ts';
import { openField, sealField } from '../vault/keyring.ts';
import { verifyPassword } from './passwords.ts';
import { credit, reserveOwnAttempt } from './throttle.ts';
import { IdentityUseCase } from './identity-use-case.ts';
import { tokenHash } from './tokens.ts';
import { userBinding } from './users.ts';
import { addressUrl, hostAt, type OfficeAddress } from './office-address.ts';

/**
 * @simplewebauthn/server, loaded at the first passkey ceremony of the process (issue 18: idle memory —
 * a server whose users sign in without passkeys never pays for it).
 */
let webauthnLibrary: Promise<typeof import('@simplewebauthn/server')> | undefined;
const webauthn = () => (webauthnLibrary ??= import('@simplewebauthn/server'));

const REGISTRATION_MS = 5 * 60_000;
/** Enough for a few keys and devices; more is more to lose track of. */
const MAX_PASSKEYS = 10;
const TIMEOUT_MS = 120_000;

export interface RelyingParty {
  id: string;
  origin: string;
  name: string;
}

/**
 * The relying party of this installation, from its public address; of an office with an address
 * of its own (`host`), the same address at that host.
 */
export function relyingParty(publicUrl: string, host: string | null = null): RelyingParty {
  const url = new URL(addressUrl(publicUrl, host));
  return { id: url.hostname, origin: url.origin, name: 'Kartei' };
}

export interface PasskeyInfo {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

const nameBinding = (tenantId: string, id: string) => ({ tenantId, table: 'passkeys', rowId: id, field: 'name' });
const transportsOf = (row: Pick<PasskeysTable, 'transports'>) =>
  JSON.parse(row.transports) as AuthenticatorTransportFuture[];

/** The authentication options offered with a login challenge, or null when the user has no passkey. */
export async function loginOptions(
  tx: Tx,
  userId: string,
  rp: RelyingParty,
): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
  const rows = await tx
    .selectFrom('passkeys')
    .select(['credential_id', 'transports'])
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute();
  if (rows.length === 0) return null;
  return (await webauthn()).generateAuthenticationOptions({
    rpID: rp.id,
    userVerification: 'required',
    timeout: TIMEOUT_MS,
    allowCredentials: rows.map((r) => ({ id: r.credential_id, transports: transportsOf(r) })),
  });
}

export interface CheckedAssertion {
  passkeyId: string;
  /** The counter stored before, which the update is conditional on. */
  counter: number;
  newCounter: number;
}

/** The user's own credential an assertion names, or undefined (another user's, or none). */
export async function findCredential(tx: Tx, userId: string, credentialId: string) {
  return tx
    .selectFrom('passkeys')
    .select(['id', 'credential_id', 'public_key', 'counter', 'transports'])
    .where('credential_id', '=', credentialId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

/**
 * Verifies a login assertion against that credential: signature, challenge,
 * origin, RP ID, user presence and verification, counter. Null when anything
 * fails (the caller answers one 401 for all of it). Outside any transaction:
 * the signature check is asynchronous, and SQLite's committer runs
 * transactions one after the other.
 */
export async function checkAssertion(
  row: NonNullable<Awaited<ReturnType<typeof findCredential>>>,
  expectedChallenge: string,
  response: AuthenticationResponseJSON,
  rp: RelyingParty,
): Promise<CheckedAssertion | null> {
  let verified: VerifiedAuthenticationResponse;
  try {
    verified = await (await webauthn()).verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
      credential: {
        id: row.credential_id,
        publicKey: new Uint8Array(row.public_key),
        counter: Number(row.counter),
        transports: transportsOf(row),
      },
    });
  } catch {
    return null;
  }
  if (!verified.verified || !verified.authenticationInfo.userVerified) return null;
  return { passkeyId: row.id, counter: Number(row.counter), newCounter: verified.authenticationInfo.newCounter };
}

/** Moves the counter forward and notes the use; false when another login moved it first. */
export async function recordAssertion(tx: Tx, a: CheckedAssertion, at: string): Promise<boolean> {
  const r = await tx
    .updateTable('passkeys')
    .set({ counter: a.newCounter, last_used_at: at })
    .where('id', '=', a.passkeyId)
    .where('counter', '=', a.counter)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Ends every passkey and ceremony of a user (a reset link). */
export async function deleteUserPasskeys(tx: Tx, userId: string): Promise<void> {
  await tx.deleteFrom('passkey_registrations').where('user_id', '=', userId).execute();
  await tx.deleteFrom('passkeys').where('user_id', '=', userId).execute();
}

export class Passkeys extends IdentityUseCase {
  private readonly publicUrl: string;
  constructor(store: Store, keyring: Keyring, audit: AuditLog, publicUrl: string, clock: () => number = Date.now) {
    super(store, keyring, audit, clock);
    this.publicUrl = publicUrl;
  }

  /** The relying party at the address a request came to (the caller's own office's: access.ts admits no other). */
  rp(at: OfficeAddress = { kind: 'unaddressed' }): RelyingParty {
    return relyingParty(this.publicUrl, hostAt(at));
  }

  async list(tenantId: string, userId: string): Promise<PasskeyInfo[]> {
    return inTenantTransaction(this.store, tenantId, async (tx) => {
      const rows = await tx
        .selectFrom('passkeys')
        .select(['id', 'name_enc', 'created_at', 'last_used_at'])
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .execute();
      if (rows.length === 0) return [];
      const key = await this.keyring.tenantKey(tx, tenantId);
      return rows.map((r) => ({
        id: r.id,
        name: openField<string>(key, nameBinding(tenantId, r.id), r.name_enc),
        createdAt: r.created_at,
        lastUsedAt: r.last_used_at,
      }));
    });
  }

  /**
   * Starts a registration ceremony after checking the current password
   * (counted before it is checked, against the account like a login's).
   */
  async start(
    tenantId: string,
    userId: string,
    sessionHash: string,
    currentPassword: string,
    address: string,
    officeAddress?: OfficeAddress,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const rp = this.rp(officeAddress);
    const user = await this.store.db
      .selectFrom('users')
      .select(['username_index', 'username_enc', 'display_name_enc', 'password_hash'])
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    const now = this.clock();
    const { counters } = await reserveOwnAttempt(this.store.db, this.keyring, user.username_index, address, now);
    const ok = user.password_hash !== '' && (await verifyPassword(user.password_hash, currentPassword));
    if (!ok) {
      await this.refuseOwn(tenantId, userId, 'auth.passkey.add', { stage: 'password' });
      throw fieldRefused(
        'validation-failed',
        'currentPassword',
        'current-password-wrong',
        'the current password is wrong',
      );
    }
    // The right password gives its reservation back; it proves nothing beyond the session's second factor.
    await credit(this.store.db, counters);
    return inTenantTransaction(this.store, tenantId, async (tx) => {
      const key = await this.keyring.tenantKey(tx, tenantId);
      const existing = await tx
        .selectFrom('passkeys')
        .select(['credential_id', 'transports'])
        .where('user_id', '=', userId)
        .execute();
      if (existing.length >= MAX_PASSKEYS) throw tooManyPasskeys();
      const options = await (await webauthn()).generateRegistrationOptions({
        rpName: rp.name,
        rpID: rp.id,
        userID: new TextEncoder().encode(userId),
        userName: openField<string>(key, userBinding(tenantId, userId, 'username'), user.username_enc),
        userDisplayName: openField<string>(key, userBinding(tenantId, userId, 'display_name'), user.display_name_enc),
        attestationType: 'none',
        timeout: TIMEOUT_MS,
        excludeCredentials: existing.map((r) => ({ id: r.credential_id, transports: transportsOf(r) })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
        supportedAlgorithmIDs: [-7, -257, -8],
      });
      // One ceremony at a time per session: an earlier one that was not finished is void.
      await tx.deleteFrom('passkey_registrations').where('user_id', '=', userId).where('used_at', 'is', null).execute();
      await tx
        .insertInto('passkey_registrations')
        .values({
          challenge_hash: tokenHash(options.challenge),
          tenant_id: tenantId,
          user_id: userId,
          session_hash: sessionHash,
          challenge: options.challenge,
          expires_at: new Date(now + REGISTRATION_MS).toISOString(),
          used_at: null,
        })
        .execute();
      return options;
    });
  }

  /** Finishes the ceremony this session started: verifies the attestation and stores the credential. */
  async finish(
    tenantId: string,
    userId: string,
    sessionHash: string,
    name: string,
    response: RegistrationResponseJSON,
    address?: OfficeAddress,
  ): Promise<PasskeyInfo> {
    const rp = this.rp(address);
    const challenge = clientChallenge(response.response.clientDataJSON);
    const invalid = () =>
      fieldRefused(
        'validation-failed',
        'response',
        'passkey-unverified',
        'the passkey could not be verified; start again',
      );
    if (!challenge) throw invalid();
    const hash = tokenHash(challenge);
    const row = await inTenantTransaction(this.store, tenantId, (tx) =>
      tx
        .selectFrom('passkey_registrations')
        .selectAll()
        .where('challenge_hash', '=', hash)
        .where('user_id', '=', userId)
        .where('session_hash', '=', sessionHash)
        .executeTakeFirst(),
    );
    if (!row || row.used_at || Date.parse(row.expires_at) <= this.clock()) throw invalid();
    let info: (VerifiedRegistrationResponse & { verified: true })['registrationInfo'];
    try {
      const verified = await (await webauthn()).verifyRegistrationResponse({
        response,
        expectedChallenge: row.challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        requireUserVerification: true,
      });
      if (!verified.verified) throw invalid();
      info = verified.registrationInfo;
    } catch {
      throw invalid();
    }
    const id = randomUUID();
    const at = new Date(this.clock()).toISOString();
    await inTenantTransaction(this.store, tenantId, async (tx) => {
      const used = await tx
        .updateTable('passkey_registrations')
        .set({ used_at: at })
        .where('challenge_hash', '=', hash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1) throw invalid();
      // A registration makes a new credential, so its id is new; one the office knows already is refused.
      const taken = await tx
        .selectFrom('passkeys')
        .select('id')
        .where('credential_id', '=', info.credential.id)
        .executeTakeFirst();
      if (taken) throw fieldRefused('conflict', 'response', 'passkey-registered', 'This passkey is registered already');
      const count = await tx
        .selectFrom('passkeys')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= MAX_PASSKEYS) throw tooManyPasskeys();
      const key = await this.keyring.tenantKey(tx, tenantId);
      await tx
        .insertInto('passkeys')
        .values({
          id,
          tenant_id: tenantId,
          user_id: userId,
          credential_id: info.credential.id,
          public_key: Buffer.from(info.credential.publicKey),
          counter: info.credential.counter,
          name_enc: sealField(key, nameBinding(tenantId, id), name),
          transports: JSON.stringify(info.credential.transports ?? []),
          device_type: info.credentialDeviceType,
          backed_up: info.credentialBackedUp ? 1 : 0,
          created_at: at,
          last_used_at: null,
        })
        .execute();
      await this.audit.append(tx, {
        tenantId,
        actorId: userId,
        action: 'auth.passkey.add',
        resourceType: 'passkey',
        resourceId: id,
        outcome: 'allowed',
        detail: { deviceType: info.credentialDeviceType, backedUp: info.credentialBackedUp },
      });
    });
    return { id, name, createdAt: at, lastUsedAt: null };
  }

  /** Removes one of the user's passkeys, unless it is their last second factor (409). */
  async remove(tenantId: string, userId: string, passkeyId: string): Promise<void> {
    await inTenantTransaction(this.store, tenantId, async (tx) => {
      const at = new Date(this.clock()).toISOString();
      // Locks the user's row (PostgreSQL), so parallel removals are decided one after the other.
      await tx.updateTable('users').set({ updated_at: at }).where('id', '=', userId).execute();
      const own = await tx
        .selectFrom('passkeys')
        .select('id')
        .where('id', '=', passkeyId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (!own) throw new KarteiError('not-found');
      const removed = await tx
        .deleteFrom('passkeys')
        .where('id', '=', passkeyId)
        .where('user_id', '=', userId)
        .where((eb) =>
          eb.or([
            eb.exists(
              eb
                .selectFrom('users')
                .select('users.id')
                .where('users.id', '=', userId)
                .where('users.totp_secret_enc', 'is not', null),
            ),
            eb.exists(
              eb
                .selectFrom('passkeys as other')
                .select('other.id')
                .where('other.user_id', '=', userId)
                .where('other.id', '!=', passkeyId),
            ),
          ]),
        )
        .executeTakeFirst();
      if (Number(removed.numDeletedRows) !== 1) {
        throw fieldRefused(
          'conflict',
          'passkey',
          'last-second-factor',
          "This is the account's last second factor; add another passkey or keep the authenticator app first",
        );
      }
      await this.audit.append(tx, {
        tenantId,
        actorId: userId,
        action: 'auth.passkey.remove',
        resourceType: 'passkey',
        resourceId: passkeyId,
        outcome: 'allowed',
      });
    });
  }
}

/** The challenge the browser signed, read from clientDataJSON (verified against the stored one afterwards). */
function clientChallenge(clientDataJSON: string): string | null {
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' && data.challenge.length > 0 && data.challenge.length <= 200
      ? data.challenge
      : null;
  } catch {
    return null;
  }
}

const tooManyPasskeys = () =>
  fieldRefused(
    'conflict',
    'passkey',
    'too-many-passkeys',
    `At most ${MAX_PASSKEYS} passkeys per account; remove one first`,
    { max: MAX_PASSKEYS },
  );
