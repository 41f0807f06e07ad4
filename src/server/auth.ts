// Bearer tokens → who is speaking: a human (may approve, reset, inspect) or an agent identity
// (may only ask for decisions about itself). Tokens are compared by SHA-256 digest in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from './config.ts';

export type Caller =
  | { readonly kind: 'human'; readonly id: string }
  | { readonly kind: 'agent'; readonly username: string };

const digest = (t: string) => createHash('sha256').update(t).digest();

export class TokenAuthenticator {
  readonly #entries: { hash: Buffer; caller: Caller }[] = [];

  add(token: string | Buffer, caller: Caller): void {
    this.#entries.push({ hash: typeof token === 'string' ? digest(token) : token, caller });
  }

  /** The caller for an Authorization header, or undefined. */
  authenticate(header: string | undefined): Caller | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m) return undefined;
    const h = digest(m[1] as string);
    let found: Caller | undefined;
    for (const e of this.#entries) if (timingSafeEqual(e.hash, h)) found = e.caller;
    return found;
  }

  get size(): number {
    return this.#entries.length;
  }
}

export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * Tokens from the config; with none configured, one administrator token is created in the
 * data directory (mode 0600) so a fresh `tether serve` is usable by the CLI at once.
 */
export function authenticatorFor(
  config: ResolvedConfig,
  administrators: readonly string[],
): { auth: TokenAuthenticator; createdAdminToken?: string; adminTokenFile?: string } {
  const auth = new TokenAuthenticator();
  for (const t of config.tokens ?? []) {
    const caller: Caller = t.human
      ? { kind: 'human', id: t.human }
      : { kind: 'agent', username: t.agentUsername as string };
    if (t.sha256) auth.add(Buffer.from(t.sha256, 'hex'), caller);
    else auth.add(t.token ?? readFileSync(t.tokenFile as string, 'utf8').trim(), caller);
  }
  if (auth.size > 0) return { auth };
  const file = join(config.dataDir, ADMIN_TOKEN_FILE);
  let created: string | undefined;
  if (!existsSync(file)) {
    created = randomBytes(24).toString('base64url');
    writeFileSync(file, `${created}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const admin = administrators[0] ?? 'admin';
  auth.add(readFileSync(file, 'utf8').trim(), { kind: 'human', id: admin });
  return { auth, createdAdminToken: created, adminTokenFile: file };
}
