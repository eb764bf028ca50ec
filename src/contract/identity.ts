// Answers about accounts, sessions and sign-in: who am I, the login steps, sessions,
// passkeys, API tokens, staff accounts, approvals, enrolment links, single sign-on.
// zod schemas the server checks its answers against; the browser reads their types.
import { z } from 'zod';
import { department, membership, tenantRole } from './common.ts';
import { webauthnCreationOptions, webauthnRequestOptions } from './webauthn.ts';

export const setupDone = z.strictObject({ tenantId: z.string(), adminId: z.string() });

export const me = z.strictObject({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  tenantRoles: z.array(tenantRole),
  memberships: z.array(membership),
  departments: z.array(department),
});

/** The answer of the password step: which second factor comes next. */
export const loginStep = z.discriminatedUnion('mfa', [
  // `webauthn`: the user has passkeys; an assertion goes to /api/auth/webauthn, a TOTP or recovery code still to /api/auth/mfa.
  z.strictObject({ mfa: z.literal('totp'), challenge: z.string(), webauthn: webauthnRequestOptions.optional() }),
  // An account whose second factors are passkeys only: an assertion, or a recovery code at /api/auth/mfa.
  z.strictObject({ mfa: z.literal('webauthn'), challenge: z.string(), webauthn: webauthnRequestOptions }),
  z.strictObject({
    mfa: z.literal('enroll'),
    challenge: z.string(),
    totp: z.strictObject({ secret: z.string(), uri: z.string() }),
  }),
]);

/** Signed in: the session's CSRF token (the cookie carries the session). */
export const loggedIn = z.strictObject({
  user: z.strictObject({ id: z.string(), username: z.string(), displayName: z.string() }),
  csrfToken: z.string(),
  /** Shown once, when the second factor has just been enrolled. */
  recoveryCodes: z.array(z.string()).optional(),
  /** Set at the first login after the credentials were replaced through a reset link. */
  credentialsReset: z.strictObject({ at: z.string() }).optional(),
});

export const ownSession = z.strictObject({
  id: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  current: z.boolean(),
});

export const passkey = z.strictObject({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
export const passkeyOptions = webauthnCreationOptions;

export const apiToken = z.strictObject({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  lastUsedAt: z.string().nullable(),
  /** What the token may be used for (`TOKEN_SCOPES`). */
  scopes: z.array(z.string()),
  /** Minted before scopes existed: DICOMweb only, to be replaced. */
  legacy: z.boolean(),
});
/** A new token: its secret is shown this once. */
export const createdApiToken = z.strictObject({
  id: z.string(),
  token: z.string(),
  expiresAt: z.string(),
  scopes: z.array(z.string()),
});

export const userView = z.strictObject({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  active: z.boolean(),
  mfaEnrolled: z.boolean(),
  /** Who chose the password: the person, an administrator (before enrolment links), or nobody yet. */
  passwordOrigin: z.enum(['self', 'admin', 'none']),
  tenantRoles: z.array(tenantRole),
  /** Memberships waiting for a second account's approval have `state: 'pending'` and grant nothing. */
  memberships: z.array(z.strictObject({ ...membership.shape, state: z.enum(['active', 'pending']) })),
  pendingRoles: z.array(z.strictObject({ role: tenantRole, state: z.literal('pending') })),
});

/** A one-time enrolment link, shown once (`POST /api/admin/users`, `GET /api/admin/users/:id/enrolment`). */
export const enrolmentLink = z.strictObject({ token: z.string(), url: z.string(), expiresAt: z.string() });

/** A grant or reset link waiting for the caller's approval (`GET /api/approvals`). */
export const approvalView = z.strictObject({
  id: z.string(),
  /** A membership in a department, a tenant role, or a reset link for lost credentials. */
  kind: z.enum(['membership', 'role', 'enrolment']),
  userId: z.string(),
  departmentId: z.string().optional(),
  role: z.string().nullable(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  /** `pending`, or `exempt`: the office's first DPO, granted without approval and shown to the DPOs after it. */
  state: z.enum(['pending', 'exempt']),
  /** Display names of the account and of whoever asked, so the approver knows whom it concerns. */
  userName: z.string(),
  requestedByName: z.string(),
});

export const ssoAvailable = z.strictObject({ available: z.boolean() });
export const ssoLink = z.strictObject({ linked: z.boolean(), linkedAt: z.string().optional(), available: z.boolean() });
export const ssoSettings = z.strictObject({
  configured: z.boolean(),
  /** What the office registers at its provider as the redirect URI. */
  redirectUri: z.string(),
  issuer: z.string().optional(),
  clientId: z.string().optional(),
  hasClientSecret: z.boolean().optional(),
  subjectClaim: z.string().optional(),
  acrValues: z.array(z.string()).optional(),
  amrValues: z.array(z.string()).optional(),
  enabled: z.boolean().optional(),
  updatedAt: z.string().optional(),
});

export type Me = z.infer<typeof me>;
export type LoginStep = z.infer<typeof loginStep>;
export type Passkey = z.infer<typeof passkey>;
export type ApiToken = z.infer<typeof apiToken>;
export type UserView = z.infer<typeof userView>;
export type EnrolmentLink = z.infer<typeof enrolmentLink>;
export type ApprovalView = z.infer<typeof approvalView>;

/** A staff account created: its one-time enrolment link, and the grants waiting for a second account's approval. */
export const userCreated = z.strictObject({
  id: z.string(),
  enrolment: enrolmentLink,
  pendingApprovals: z.array(z.string()),
});
/** An approval decided: the grant or reset link it concerned, and where it stands now. */
export const approvalDecided = z.strictObject({
  id: z.string(),
  kind: z.enum(['membership', 'role', 'enrolment']),
  userId: z.string(),
  state: z.string(),
});
