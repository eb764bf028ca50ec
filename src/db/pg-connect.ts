// How every PostgreSQL connection of Kartei is opened: the pools of the server and of the sealed
// objects (`pgPool` in connect.ts), and the clients of verify's workers, backup, restore and the
// doctor. A new connection that has not completed within PG_CONNECT_TIMEOUT_MS (a database that
// accepts and never answers, a network that drops packets) fails instead of waiting for good:
// `kartei` says the database is not reached, a request is answered 503 `service-unavailable`.
// No imports: verify's lean workers load it.

/** The most a new connection may take. */
export const PG_CONNECT_TIMEOUT_MS = 10_000;

/** A one-off pg.Client's options for `connectionString`, with the time limit (the pools: `pgPool` in connect.ts). */
export function pgOptions(connectionString: string | undefined): {
  connectionString: string | undefined;
  connectionTimeoutMillis: number;
} {
  return { connectionString, connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS };
}

/**
 * pg's own errors for a connection not made in time: the client's (its socket ended with 'timeout expired'), and
 * pg-pool's (were the pool's own limit set; Kartei's pools leave it unset, connect.ts `pgPool`).
 */
const TIMEOUT_MESSAGES = new Set([
  'timeout expired',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
]);

/** Whether `e` is pg's refusal of a connection not made within the time limit. */
export function isConnectTimeout(e: unknown): boolean {
  return e instanceof Error && TIMEOUT_MESSAGES.has(e.message);
}

/**
 * A client whose connection may end between (or under) its queries without ending the process: pg then emits
 * 'error' on the client, which without a listener is thrown. The query in flight still fails to its caller, and a
 * later one fails as not queryable.
 */
export function lossTolerated<T extends { on(event: 'error', listener: (e: Error) => void): unknown }>(client: T): T {
  client.on('error', () => undefined);
  return client;
}
