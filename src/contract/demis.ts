// Answers about the office's DEMIS connection (GET/PUT /api/admin/demis, POST /api/admin/demis/poll):
// endpoints, client id, the certificate's subject and expiry, where the fetching stands. Never
// the client secret, the password or the private key. zod schemas the server checks its answers
// against; the browser reads their types.
import { z } from 'zod';

export const demisSettings = z.strictObject({
  configured: z.boolean(),
  tokenUrl: z.string().optional(),
  clearingUrl: z.string().optional(),
  clientId: z.string().optional(),
  /** The office's user at DEMIS (its health office code, e.g. 1.01.0.53.). */
  username: z.string().optional(),
  hasClientSecret: z.boolean().optional(),
  hasPassword: z.boolean().optional(),
  /** The department the fetched notifications go to. */
  departmentId: z.string().optional(),
  pollIntervalMinutes: z.number().int().optional(),
  enabled: z.boolean().optional(),
  certificate: z.strictObject({ subject: z.string(), notAfter: z.string() }).optional(),
  lastPollAt: z.string().nullable().optional(),
  lastSuccessAt: z.string().nullable().optional(),
  /** Notifications handed to the import by the last poll that ended. */
  lastImported: z.number().int().optional(),
  /** What went wrong in the last poll, when it failed (never a secret). */
  lastError: z.string().nullable().optional(),
  /** Its kind: timeout, unauthorized, server, tls, network, protocol, decrypt, import. */
  lastFailure: z.string().nullable().optional(),
  /** Polls failed in a row. */
  failures: z.number().int().optional(),
  nextPollAt: z.string().nullable().optional(),
  updatedAt: z.string().optional(),
});

export type DemisSettings = z.infer<typeof demisSettings>;

/** One poll asked for by an admin: how it ended. */
export const demisPollResult = z.strictObject({
  ok: z.boolean(),
  /** Notifications handed to the import. */
  imported: z.number().int(),
  pages: z.number().int(),
  /** What kind of failure ended it: timeout, unauthorized, server, tls, network, protocol, decrypt, import. */
  failure: z.string().optional(),
  nextPollAt: z.string(),
});

export type DemisPollResult = z.infer<typeof demisPollResult>;
