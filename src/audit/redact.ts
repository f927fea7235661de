import type { PreparedEvent, PreparedParameter } from './validate.js';

export const REDACTED = '[REDACTED]';
/** The parameter that lists what was redacted in an event. */
export const REDACTED_PARAMETER = '_redacted';

/** Default REDACT_PARAMETER_NAMES: a parameter whose name contains one of these is stored redacted. */
export const DEFAULT_SECRET_NAMES =
  'password,passwd,pwd,passphrase,secret,token,apikey,accesskey,privatekey,authorization,cookie,credential,sessionkey,signature';

/** Credentials that look the same wherever they appear, found inside any text value. */
const CREDENTIAL_PATTERNS: Array<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED],
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9\-._~+/]{8,}=*/gi, `$1 ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [/\baudit_[A-Za-z0-9_-]{43}\b/g, REDACTED],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, REDACTED],
  [/\b(gh[pousr]_[A-Za-z0-9]{30,}|xox[abpr]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,})\b/g, REDACTED],
  // user:password@ in a URL
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${REDACTED}@`],
];
/**
 * Text that none of the patterns can match lacks all of these; one test of it spares the seven
 * replacements for almost every value (keep it in step with CREDENTIAL_PATTERNS).
 */
const MIGHT_HOLD_A_CREDENTIAL = /PRIVATE KEY|bearer|basic|token|eyJ|audit_|AKIA|ASIA|gh[pousr]_|xox[abpr]-|sk_live_|:\/\//i;

const normalise = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

const matchers = new Map<string, (name: string) => boolean>();
function secretName(list: string): (name: string) => boolean {
  let matcher = matchers.get(list);
  if (!matcher) {
    const words = list.split(',').map(normalise).filter((w) => w.length > 0);
    // Parameter names repeat from event to event: each is judged once (a bounded cache).
    const judged = new Map<string, boolean>();
    matcher = (name) => {
      let secret = judged.get(name);
      if (secret === undefined) {
        const n = normalise(name);
        secret = words.some((w) => n.includes(w));
        if (judged.size >= 10_000) judged.clear();
        judged.set(name, secret);
      }
      return secret;
    };
    matchers.set(list, matcher);
  }
  return matcher;
}

/** Replaces every credential-looking part of a text. */
export function redactCredentials(text: string): string {
  if (!MIGHT_HOLD_A_CREDENTIAL.test(text)) return text;
  let result = text;
  for (const [pattern, replacement] of CREDENTIAL_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

/**
 * Redacts an event before it is stored: values of parameters whose names look like secrets, and
 * credential-looking text in any parameter value and in the messages. The names of what was
 * redacted go into the `_redacted` parameter, so the event says so.
 */
export function redactEvent(event: PreparedEvent, secretNames: string): PreparedEvent {
  const isSecret = secretName(secretNames);
  const redacted: string[] = [];
  const parameters = event.parameters.map((p): PreparedParameter => {
    if (p.entity || p.value === null) return p;
    if (isSecret(p.name)) {
      redacted.push(`parameters.${p.name}`);
      return { ...p, value: REDACTED };
    }
    const value = redactCredentials(p.value);
    if (value === p.value) return p;
    redacted.push(`parameters.${p.name}`);
    return { ...p, value };
  });
  const text = (field: string, value: string | null) => {
    if (value === null) return null;
    const clean = redactCredentials(value);
    if (clean !== value) redacted.push(field);
    return clean;
  };
  const description = text('message', event.description);
  const errorMessage = text('errorMessage', event.errorMessage);
  const stackTrace = text('stackTrace', event.stackTrace);
  if (redacted.length === 0) return event;
  parameters.push({ name: REDACTED_PARAMETER, position: 0, value: JSON.stringify(redacted), entity: null });
  return { ...event, parameters, description, errorMessage, stackTrace };
}
