import { mkdirSync, writeFileSync } from 'node:fs';
import { crdYaml } from '../src/policy/crd.ts';
import { KINDS, type KindName } from '../src/policy/schema.ts';

mkdirSync(new URL('../deploy/crds/', import.meta.url), { recursive: true });
for (const kind of Object.keys(KINDS) as KindName[]) {
  const file = new URL(`../deploy/crds/${KINDS[kind].plural}.tether.dev.yaml`, import.meta.url);
  writeFileSync(file, crdYaml(kind));
  console.log(`wrote ${file.pathname}`);
}
