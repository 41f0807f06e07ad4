import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { issueServingCertificate, loadTls, needsRenewal } from '../../src/server/tls.ts';
import { tempDir } from '../store/backends.ts';

const DAY = 86_400_000;

test('a self-managed CA signs serving certificates for the configured names, and its key stays private', async () => {
  const dir = tempDir('tether-tls-');
  const m = await issueServingCertificate(dir, ['tether.tether-system.svc', '127.0.0.1'], 30);
  const cert = new X509Certificate(m.cert);
  const ca = new X509Certificate(m.ca);
  assert.ok(cert.verify(ca.publicKey), 'signed by the CA');
  assert.ok(cert.checkHost('tether.tether-system.svc'));
  assert.ok(cert.checkIP('127.0.0.1'));
  assert.equal(cert.checkHost('evil.example'), undefined);
  assert.equal(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'tls.key')).mode & 0o777, 0o600);
});

test('renewal: well before expiry (a third of the lifetime left), with the same CA so webhook CA bundles stay valid', async () => {
  const dir = tempDir('tether-tls-');
  const first = await issueServingCertificate(dir, ['localhost'], 30);
  assert.equal(needsRenewal(first), false);
  assert.equal(needsRenewal(first, Date.now() + 19 * DAY), false);
  assert.equal(needsRenewal(first, Date.now() + 21 * DAY), true);
  const again = await loadTls({ kind: 'self-managed', dir, hosts: ['localhost'] });
  assert.equal(again.cert, first.cert, 'a valid certificate is reused on restart');
  const wider = await loadTls({ kind: 'self-managed', dir, hosts: ['localhost', 'tether.example'] });
  assert.notEqual(wider.cert, first.cert, 'a new name means a new certificate');
  assert.equal(wider.ca, first.ca, 'from the same CA');
  assert.ok(new X509Certificate(wider.cert).verify(new X509Certificate(first.ca).publicKey));
});

test('user-supplied certificate files (cert-manager) are read as they are, and their rotation is noticed', async () => {
  const { writeFileSync, utimesSync } = await import('node:fs');
  const { filesChangedSince } = await import('../../src/server/tls.ts');
  const dir = tempDir('tether-tls-files-');
  const issued = await issueServingCertificate(join(dir, 'issuer'), ['tether.example'], 30);
  const source = {
    kind: 'files' as const,
    certFile: join(dir, 'tls.crt'),
    keyFile: join(dir, 'tls.key'),
    caFile: join(dir, 'ca.crt'),
  };
  writeFileSync(source.certFile, issued.cert);
  writeFileSync(source.keyFile, issued.key);
  writeFileSync(source.caFile, issued.ca);
  const loaded = await loadTls(source);
  assert.equal(loaded.cert, issued.cert);
  assert.equal(loaded.ca, issued.ca);
  const loadedAt = Date.now();
  assert.equal(filesChangedSince(source, loadedAt), false);
  const later = new Date(loadedAt + 5_000);
  utimesSync(source.certFile, later, later);
  assert.equal(filesChangedSince(source, loadedAt), true, 'a rotated certificate is picked up by the renewal loop');
});
