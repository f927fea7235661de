import { z } from 'zod';
import { DEFAULT_SECRET_NAMES } from './audit/redact.js';

/**
 * The only reader of process.env. Every variable is validated at start; all problems are reported
 * together so that one restart fixes them all.
 */
const intIn = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const envSchema = z.object({
  PORT: intIn(0, 65535, 4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_POOL_SIZE: intIn(1, 100, 10),
  MAX_BATCH_SIZE: intIn(1, 10_000, 1000),
  MAX_PAGE_SIZE: intIn(1, 10_000, 500),
  MAX_MESSAGE_LENGTH: intIn(1, 1_000_000, 10_000),
  MAX_STACK_TRACE_LENGTH: intIn(1, 1_000_000, 50_000),
  MAX_PARAMETERS: intIn(1, 10_000, 100),
  MAX_PARAMETER_VALUE_LENGTH: intIn(1, 1_000_000, 10_000),
  MAX_CLOCK_SKEW_SECONDS: intIn(0, 86_400, 300),
  SUBSCRIBER_BUFFER: intIn(1, 1_000_000, 1000),
  RETENTION_CHECK_MINUTES: intIn(1, 10_080, 60),
  SHUTDOWN_TIMEOUT_MS: intIn(100, 600_000, 10_000),
  MAX_DEPTH: intIn(1, 1000, 12),
  MAX_COST: intIn(1, 100_000_000, 50_000),
  MAX_ALIASES: intIn(0, 10_000, 15),
  MAX_TOKENS: intIn(1, 1_000_000, 2000),
  MAX_DIRECTIVES: intIn(0, 10_000, 10),
  MAX_BODY_BYTES: intIn(1024, 1_000_000_000, 5_000_000),
  MAX_SUBSCRIPTIONS_PER_SOCKET: intIn(1, 10_000, 20),
  WRITE_RATE_LIMIT: intIn(0, 10_000_000, 1000),
  WRITE_RATE_BURST: intIn(1, 10_000_000, 2000),
  REDACT_PARAMETER_NAMES: z.string().default(DEFAULT_SECRET_NAMES),
  AUDIT_BOOTSTRAP_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  AUDIT_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  AUDIT_JWKS_URL: z.url().optional(),
  AUDIT_JWT_ISSUER: z.string().optional(),
  AUDIT_VIEWER_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  AUDIT_JWT_AUDIENCE: z.string().optional(),
  EXPORT_POLL_MS: intIn(10, 3_600_000, 1000),
  EXPORT_RETRY_MAX_MS: intIn(10, 3_600_000, 60_000),
  EXPORT_FILE_DIR: z.string().min(1).default('./data/exports'),
  AUDIT_CHECKPOINT_KEY: z.string().includes('PRIVATE KEY', { message: 'must be a PEM private key (Ed25519, PKCS#8)' }).optional(),
  AUDIT_CHECKPOINT_KEY_FILE: z.string().min(1).optional(),
  AUDIT_CHECKPOINT_TRUSTED_KEYS_FILE: z.string().min(1).optional(),
  CHECKPOINT_INTERVAL_MINUTES: intIn(0, 10_080, 60),
}).superRefine((env, ctx) => {
  if (env.AUDIT_CHECKPOINT_KEY && env.AUDIT_CHECKPOINT_KEY_FILE) {
    ctx.addIssue({ code: 'custom', path: ['AUDIT_CHECKPOINT_KEY_FILE'], message: 'set AUDIT_CHECKPOINT_KEY or AUDIT_CHECKPOINT_KEY_FILE, not both' });
  }
});

export type Env = z.infer<typeof envSchema>;
export type Limits = Pick<
  Env,
  | 'MAX_BATCH_SIZE'
  | 'MAX_PAGE_SIZE'
  | 'MAX_MESSAGE_LENGTH'
  | 'MAX_STACK_TRACE_LENGTH'
  | 'MAX_PARAMETERS'
  | 'MAX_PARAMETER_VALUE_LENGTH'
  | 'MAX_CLOCK_SKEW_SECONDS'
  | 'SUBSCRIBER_BUFFER'
  | 'MAX_DEPTH'
  | 'MAX_COST'
  | 'MAX_ALIASES'
  | 'MAX_TOKENS'
  | 'MAX_DIRECTIVES'
  | 'MAX_BODY_BYTES'
  | 'MAX_SUBSCRIPTIONS_PER_SOCKET'
  | 'WRITE_RATE_LIMIT'
  | 'WRITE_RATE_BURST'
  | 'REDACT_PARAMETER_NAMES'
  | 'EXPORT_POLL_MS'
  | 'EXPORT_RETRY_MAX_MS'
  | 'EXPORT_FILE_DIR'
>;

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Parses the given variables (process.env by default); empty strings count as unset. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    throw new EnvError(
      result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  return result.data;
}
