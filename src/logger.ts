import { pino, type Logger } from 'pino';

export type { Logger };

/** The one logger; modules take a child (`logger.child({ module: 'ingest' })`). */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'audit-service' },
    redact: { paths: ['req.headers.authorization', '*.authorization', '*.apiKey', '*.password'], censor: '[redacted]' },
  });
}
