import { createHash } from 'node:crypto';

/**
 * Reduces a stack trace (or, without one, a message) to what stays the same when the same fault
 * happens in another build, on another machine or for another user: line and column numbers,
 * memory addresses, ids, hashes in bundle names and query strings are stripped.
 */
export function normaliseForFingerprint(text: string): string {
  return text
    .replace(/\?[^\s):]*/g, '') // query strings of script URLs
    .replace(/:\d+(:\d+)?/g, '') // line and column
    .replace(/\b0x[0-9a-f]+\b/gi, '') // addresses
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/([.\-_])[0-9a-f]{6,}(?=\.)/gi, '$1<hash>') // main.3f9a2c1b.js
    .replace(/\b\d+\b/g, '<n>')
    .replace(/[ \t]+/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('\n');
}

/** A short stable hash grouping errors: the type plus the normalised stack trace or message. */
export function errorFingerprint(type: string, message: string | null, stackTrace: string | null): string {
  const basis = stackTrace?.trim() ? stackTrace : (message ?? '');
  return createHash('sha256')
    .update(`${type}\n${normaliseForFingerprint(basis)}`)
    .digest('hex')
    .slice(0, 16);
}
