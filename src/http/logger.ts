// Logs carry no personal data and no secrets: bodies are never logged, and
// credentials in headers are redacted.
import pino from 'pino';

export function createLogger(level: string) {
  return pino({
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
  });
}
