// The helm CLI that scripts/build-helm.sh builds into .cache/bin/helm, and the value sets the repository
// renders with it: the plain manifests in deploy/manifests (scripts/gen-manifests.ts) and the tests.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../', import.meta.url).pathname;
export const CHART = join(ROOT, 'deploy/helm/tether');
export const HELM = join(ROOT, '.cache/bin/helm');
export const MANIFESTS = join(ROOT, 'deploy/manifests/tether.yaml');

/** Builds helm when it is missing or of another version (cached: a no-op once built). Throws without Go. */
export function ensureHelm(): string {
  const r = spawnSync('bash', [join(ROOT, 'scripts/build-helm.sh')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0 || !existsSync(HELM)) throw new Error(`scripts/build-helm.sh failed:\n${r.stderr}`);
  return HELM;
}

/** Runs helm; its symlink notice (crds/ links to deploy/crds) is dropped from stderr. */
export function helm(args: readonly string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(HELM, args, { cwd: ROOT, input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !/found symbolic link in path/.test(l))
    .join('\n');
  return { code: r.status ?? -1, stdout: r.stdout, stderr };
}

/** `helm template` arguments as --set pairs. */
export const setArgs = (values: Record<string, string>): string[] =>
  Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);

/**
 * The plain manifests for `kubectl apply`: release `tether` in `tether-system`, the default values
 * (PostgreSQL, two replicas) with the namespace and a cert-manager certificate (a self-signed CA chain
 * the chart makes), so the file is the same at every render and holds no private key.
 */
export const MANIFEST_VALUES = { createNamespace: 'true', 'tls.mode': 'cert-manager' };

export function renderManifests(): string {
  // The CRDs stay in deploy/crds (their one source, regenerated from the schema): apply them first.
  const r = helm(['template', 'tether', CHART, '--namespace', 'tether-system', ...setArgs(MANIFEST_VALUES)]);
  if (r.code !== 0) throw new Error(`helm template: ${r.stderr}`);
  const header = [
    '# Tether for kubectl — generated from deploy/helm/tether by `npm run gen:manifests`; do not edit.',
    '#   kubectl apply --server-side -f deploy/crds -f deploy/manifests/tether.yaml',
    '# Needs: cert-manager (serving certificate and the webhook CA bundle) and, in tether-system, the Secrets',
    '# tether-postgres (key `url`: postgres://…) and tether-keys (`ledger-signing-key.pem`: an Ed25519 PKCS#8',
    '# key; `digest-key`: 32+ random bytes, hex). See README "Install in a cluster".',
    '',
  ].join('\n');
  return header + r.stdout.replace(/^# Source: .*\n/gm, '');
}

export function helmVersion(): string {
  return execFileSync(HELM, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' });
}
