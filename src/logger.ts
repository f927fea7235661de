import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one logger; modules take a child (`logger.child({ module: 'ingest' })`). The CLI logs to
 * stderr (`destination` 2): its stdout may be the data it exports.
 */
export function createLogger(level: string, destination: 1 | 2 = 1): Logger {
  const options = {
    level,
    base: { service: 'audit-service' },
    redact: { paths: ['req.headers.authorization', '*.authorization', '*.apiKey', '*.password'], censor: '[redacted]' },
  };
  return destination === 1 ? pino(options) : pino(options, pino.destination(2));
}
