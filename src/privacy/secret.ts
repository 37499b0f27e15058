import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';

/**
 * PII_HASH_SECRET, or one generated on first use and kept under DATA_DIR (mode 0600). Losing it means new
 * pseudonyms no longer match old ones, so it is created exactly once, even by two processes starting together.
 */
export async function loadPiiSecret(config: Config): Promise<string> {
  if (config.piiHashSecret !== null) return config.piiHashSecret;
  const file = path.join(config.dataDir, 'pii_hash_secret');
  await fs.mkdir(config.dataDir, { recursive: true });
  try {
    await fs.writeFile(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create ${file}`, { cause: error });
  }
  const secret = (await fs.readFile(file, 'utf8')).trim();
  if (secret.length < 16)
    throw new Error(`${file} is damaged (shorter than 16 characters); restore it or set PII_HASH_SECRET`);
  return secret;
}
