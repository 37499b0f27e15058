import { createHmac } from 'node:crypto';

/**
 * An email is never stored: only HMAC-SHA256(secret, normalised email), hex. The same person gets the same
 * pseudonym under one secret (so analytics can count distinct raters), and without the secret it cannot be reversed
 * by hashing a list of known addresses. Example: `pseudonymiseEmail(' Ann@Example.com', s) === pseudonymiseEmail('ann@example.com', s)`.
 */
export function pseudonymiseEmail(email: string, secret: string): string {
  return createHmac('sha256', secret).update(email.trim().toLowerCase(), 'utf8').digest('hex');
}
