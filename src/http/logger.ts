// Logs carry no personal data and no secrets: bodies are never logged, and
// credentials in headers are redacted.
import pino, { type DestinationStream } from 'pino';

/** `destination`: where the lines go (tests capture them); stdout by default. */
export function createLogger(level: string, destination?: DestinationStream) {
  return pino(
    {
      level,
      redact: {
        paths: [
          'req.headers.cookie',
          'req.headers.authorization',
          'req.headers["x-csrf-token"]',
          'res.headers["set-cookie"]',
          '*.password',
          '*.token',
          '*.code',
          // The DEMIS connection's secrets, should an object holding them ever reach a log line.
          '*.clientSecret',
          '*.client_secret',
          '*.privateKey',
          '*.keyPassphrase',
          '*.access_token',
        ],
        censor: '[redacted]',
      },
      serializers: {
        // The URL can hold a search term (a surname): log the route pattern instead.
        req: (req: { method: string; routeOptions?: { url?: string }; url: string; id: string }) => ({
          id: req.id,
          method: req.method,
          route: req.routeOptions?.url ?? '(unmatched)',
        }),
      },
    },
    destination,
  );
}
