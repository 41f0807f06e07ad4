// kustomize's error chains, as kubectl 1.32 (kustomize v5.5.0) prints them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseKustomizeError } from '../../../src/analysis/drift/kustomize-errors.ts';

const malformed = `E1125 20:08:58.683919   15015 run.go:72] "command failed" err="accumulating resources: accumulation err='accumulating resources from 'base': '/tmp/kexp/kustomize/base' must resolve to a file': recursed accumulation of path '/tmp/kexp/kustomize/base': accumulating resources: accumulating resources from 'adservice.yaml': MalformedYAMLError: yaml: line 4: did not find expected ',' or ']' in File: adservice.yaml"`;
const missing = `E1125 20:08:58.732804   15021 run.go:72] "command failed" err="accumulating resources: accumulation err='accumulating resources from 'base': '/tmp/kexp/kustomize/base' must resolve to a file': recursed accumulation of path '/tmp/kexp/kustomize/base': accumulating resources: accumulation err='accumulating resources from 'nothere.yaml': evalsymlink failure on '/tmp/kexp/kustomize/base/nothere.yaml' : lstat /tmp/kexp/kustomize/base/nothere.yaml: no such file or directory': must build at directory: not a valid directory: evalsymlink failure on '/tmp/kexp/kustomize/base/nothere.yaml' : lstat /tmp/kexp/kustomize/base/nothere.yaml: no such file or directory"`;
const noName = `E1125 20:08:58.780584   15027 run.go:72] "command failed" err="accumulating resources: accumulation err='accumulating resources from 'base': '/tmp/kexp/kustomize/base' must resolve to a file': recursed accumulation of path '/tmp/kexp/kustomize/base': accumulating resources: accumulation err='accumulating resources from 'adservice.yaml': missing metadata.name in object {{v1 ConfigMap} {{ } map[] map[]}}': must build at directory: '/tmp/kexp/kustomize/base/adservice.yaml': file is not directory"`;

test('the innermost failing entry and the kustomization listing it are found', () => {
  assert.deepEqual(parseKustomizeError(malformed), {
    dir: '/tmp/kexp/kustomize/base',
    entry: 'adservice.yaml',
    detail: "invalid YAML: yaml: line 4: did not find expected ',' or ']' in File: adservice.yaml",
  });
  assert.deepEqual(parseKustomizeError(missing), {
    dir: '/tmp/kexp/kustomize/base',
    entry: 'nothere.yaml',
    detail: "'/tmp/kexp/kustomize/base/nothere.yaml' does not exist",
  });
  assert.deepEqual(parseKustomizeError(noName), {
    dir: '/tmp/kexp/kustomize/base',
    entry: 'adservice.yaml',
    detail: 'missing metadata.name in object {{v1 ConfigMap} {{ } map[] map[]}}',
  });
});

test('errors without an entry keep their message', () => {
  const r = parseKustomizeError(
    'Error: no resource matches strategic merge patch "Deployment.v1.apps/loadgenerator.[noNs]": no matches for Id Deployment.v1.apps/loadgenerator.[noNs]; failed to find unique target for patch Deployment.v1.apps/loadgenerator.[noNs]\n',
  );
  assert.equal(r.entry, undefined);
  assert.match(r.detail, /^no resource matches strategic merge patch/);
});
