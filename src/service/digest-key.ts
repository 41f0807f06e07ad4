// The server secret that keys every digest Tether shows outside itself. A plain sha256 of a
// Secret with a 4-digit PIN is inverted by trying 10,000 candidates; an HMAC under a key the
// caller never sees cannot be tried at all. The engine's own binding digest stays internal.
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DIGEST_KEY_FILE = 'digest-key';

export interface DigestKey {
  /** The digest as callers see it: `hmac-sha256:<hex>` of an internal `sha256:<hex>`. */
  present(internal: string): string;
  present(internal: string | undefined): string | undefined;
}

export function digestKey(secret: Buffer): DigestKey {
  if (secret.length < 32) throw new Error('the digest key must hold at least 32 bytes');
  return {
    present: ((internal: string | undefined) =>
      internal === undefined
        ? undefined
        : `hmac-sha256:${createHmac('sha256', secret).update(internal).digest('hex')}`) as DigestKey['present'],
  };
}

/**
 * The key from `file` (shared by every replica, e.g. a mounted Kubernetes Secret), else from
 * <dataDir>/digest-key, created (mode 0600) on first start.
 */
export function loadDigestKey(dataDir: string, file?: string): DigestKey {
  const path = file ?? join(dataDir, DIGEST_KEY_FILE);
  if (!file && !existsSync(path)) {
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  const text = readFileSync(path, 'utf8').trim();
  return digestKey(/^[0-9a-f]{64,}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'utf8'));
}
