// Renders deploy/manifests/tether.yaml from the Helm chart (test/deploy/helm.test.ts checks it is fresh).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureHelm, MANIFESTS, renderManifests } from './helm.ts';

ensureHelm();
mkdirSync(dirname(MANIFESTS), { recursive: true });
writeFileSync(MANIFESTS, renderManifests());
console.log(`wrote ${MANIFESTS}`);
