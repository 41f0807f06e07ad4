// Test helpers: models from YAML text, the Kubernetes bootstrap-policy fixture, the shop scenario.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseObjectDump, readObjectDump } from '../../../../src/kube/object-dump.ts';
import { inputsFromObjects, loadAccessInputs } from '../../../../src/analysis/access/load.ts';
import { type AccessModel, buildAccessModel, type ModelOptions } from '../../../../src/analysis/access/model.ts';
import { parseGatewayConfig } from '../../../../src/analysis/access/gateway-grants.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
/** The Kubernetes project's RBAC bootstrap policy test data, beside the repository (../shared). */
export const bootstrapDir = resolve(repoRoot, '..', 'shared', 'fixtures', 'kubernetes-rbac');
export const shopDir = join(repoRoot, 'test', 'analysis', 'access', 'fixtures', 'shop');

// cluster-roles.yaml and cluster-roles-featuregates.yaml are alternatives (the latter with every
// feature gate on); so are the two controller-roles files. One of each is a consistent policy.
export const BOOTSTRAP_FILES = [
  'cluster-roles.yaml',
  'cluster-role-bindings.yaml',
  'controller-roles.yaml',
  'controller-role-bindings.yaml',
  'namespace-roles.yaml',
  'namespace-role-bindings.yaml',
];

export function requireBootstrap(): string[] {
  if (!existsSync(bootstrapDir))
    throw new Error(`fixture missing: ${bootstrapDir} (the repository expects ../shared/fixtures beside it)`);
  return BOOTSTRAP_FILES.map((f) => join(bootstrapDir, f));
}

export function modelFromYaml(
  yaml: string,
  opts: ModelOptions & { gateway?: string; extraFiles?: string[] } = {},
): AccessModel {
  const parsed = parseObjectDump(yaml, 'test.yaml');
  const extra = opts.extraFiles ? readObjectDump(opts.extraFiles) : { objects: [], problems: [] };
  const gw = opts.gateway ? parseGatewayConfig(opts.gateway, 'gateway.yaml') : undefined;
  const inputs = inputsFromObjects([...extra.objects, ...parsed.objects], {
    gateway: gw?.config,
    problems: [...extra.problems, ...parsed.problems, ...(gw?.problems ?? [])],
  });
  return buildAccessModel(inputs, opts);
}

export function bootstrapModel(yaml = '', opts: ModelOptions & { gateway?: string } = {}): AccessModel {
  return modelFromYaml(yaml, { ...opts, extraFiles: requireBootstrap() });
}

export async function shopModel(): Promise<AccessModel> {
  const inputs = await loadAccessInputs({
    files: [join(shopDir, 'cluster.yaml'), join(bootstrapDir, 'cluster-roles.yaml')],
    policy: [join(shopDir, 'agents.yaml')],
    gateway: join(shopDir, 'gateway.yaml'),
  });
  return buildAccessModel(inputs);
}
