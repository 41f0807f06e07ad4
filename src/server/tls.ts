// Serving certificates: a self-managed CA in the data directory, or files the user supplies
// (cert-manager). Renewal swaps the secure context of the running server: no restart, no downtime.
import { webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type KeyUsage = webcrypto.KeyUsage;
type CryptoKey = webcrypto.CryptoKey;
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly notAfter: Date;
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return `-----BEGIN PRIVATE KEY-----\n${Buffer.from(der)
    .toString('base64')
    .match(/.{1,64}/g)
    ?.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

async function importKey(pem: string, usage: KeyUsage[]): Promise<CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return webcrypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), ALG, true, usage);
}

function writeSecret(path: string, data: string): void {
  writeFileSync(path, data, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

/** Creates the CA on first use (10 years) and keeps it: the CA bundle in webhook configs stays valid across renewals. */
async function loadOrCreateCa(dir: string): Promise<{ cert: x509.X509Certificate; key: CryptoKey; pem: string }> {
  const certPath = join(dir, 'ca.crt');
  const keyPath = join(dir, 'ca.key');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const pem = readFileSync(certPath, 'utf8');
    return { cert: new x509.X509Certificate(pem), key: await importKey(readFileSync(keyPath, 'utf8'), ['sign']), pem };
  }
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Tether CA',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3650 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pem = cert.toString('pem');
  writeSecret(keyPath, await exportKey(keys.privateKey));
  writeFileSync(certPath, pem);
  return { cert, key: keys.privateKey, pem };
}

/** A leaf certificate signed by the CA in `dir`: for serving (names as SANs) or for a client (the API server). */
async function issueLeaf(
  dir: string,
  opts: { cn: string; hosts: readonly string[]; usage: 'server' | 'client'; validityDays: number },
): Promise<TlsMaterial> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await loadOrCreateCa(dir);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const notAfter = new Date(now + opts.validityDays * DAY);
  const names = opts.hosts.map((h) => ({ type: /^[0-9.]+$|:/.test(h) ? ('ip' as const) : ('dns' as const), value: h }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.cn}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 60_000),
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([
        opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
      ]),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey), ca: ca.pem, notAfter };
}

export async function issueServingCertificate(
  dir: string,
  hosts: readonly string[],
  validityDays = 90,
): Promise<TlsMaterial> {
  const material = await issueLeaf(dir, { cn: hosts[0] ?? 'tether', hosts, usage: 'server', validityDays });
  writeFileSync(join(dir, 'tls.crt'), material.cert);
  writeSecret(join(dir, 'tls.key'), material.key);
  return material;
}

/** The certificate the API server presents to Tether's webhooks, so nobody else can post reviews or audit events. */
export async function issueWebhookClientCertificate(dir: string, validityDays = 365): Promise<TlsMaterial> {
  return issueLeaf(dir, { cn: 'kube-apiserver', hosts: [], usage: 'client', validityDays });
}

export type TlsSource =
  | { readonly kind: 'self-managed'; readonly dir: string; readonly hosts: readonly string[] }
  | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string; readonly caFile?: string };

export async function loadTls(source: TlsSource): Promise<TlsMaterial> {
  if (source.kind === 'files') {
    const cert = readFileSync(source.certFile, 'utf8');
    return {
      cert,
      key: readFileSync(source.keyFile, 'utf8'),
      ca: source.caFile ? readFileSync(source.caFile, 'utf8') : cert,
      notAfter: new Date(new x509.X509Certificate(cert).notAfter),
    };
  }
  const certPath = join(source.dir, 'tls.crt');
  const keyPath = join(source.dir, 'tls.key');
  if (existsSync(certPath) && existsSync(keyPath) && existsSync(join(source.dir, 'ca.crt'))) {
    const cert = readFileSync(certPath, 'utf8');
    const parsed = new x509.X509Certificate(cert);
    const san = parsed.getExtension(x509.SubjectAlternativeNameExtension);
    const covered = source.hosts.every((h) => san?.names.items.some((n) => n.value === h));
    if (covered && parsed.notAfter.getTime() - Date.now() > renewBeforeMs(parsed)) {
      return {
        cert,
        key: readFileSync(keyPath, 'utf8'),
        ca: readFileSync(join(source.dir, 'ca.crt'), 'utf8'),
        notAfter: parsed.notAfter,
      };
    }
  }
  return issueServingCertificate(source.dir, source.hosts);
}

/** Renew once a third of the lifetime is left: well before expiry, whatever the validity. */
function renewBeforeMs(cert: x509.X509Certificate): number {
  return (cert.notAfter.getTime() - cert.notBefore.getTime()) / 3;
}

export function needsRenewal(material: TlsMaterial, now = Date.now()): boolean {
  const c = new x509.X509Certificate(material.cert);
  return c.notAfter.getTime() - now <= renewBeforeMs(c);
}

/** For user-supplied files: has cert-manager rotated them since we loaded? */
export function filesChangedSince(source: TlsSource, since: number): boolean {
  return (
    source.kind === 'files' && (statSync(source.certFile).mtimeMs > since || statSync(source.keyFile).mtimeMs > since)
  );
}
