// Every RBAC rule family, allowing and refusing, as the API server's RBAC authorizer decides.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AccessQuestion, can } from '../../../src/analysis/access/can.ts';
import {
  groupPrincipal,
  type Principal,
  serviceAccountPrincipal,
  userPrincipal,
} from '../../../src/analysis/access/identity.ts';
import { ruleAllowsNonResource, ruleAllowsResource, subjectAppliesTo } from '../../../src/kube/rbac-match.ts';
import { modelFromYaml } from './support/build.ts';
import { seededRandom as prng } from '../../support/seeded.ts';

const clusterRole = (name: string, rules: string) => `---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: ${name} }
rules: ${rules}
`;
const crb = (name: string, role: string, subjects: string) => `---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: ${name} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${role} }
subjects: ${subjects}
`;
const rb = (ns: string, name: string, kind: 'Role' | 'ClusterRole', role: string, subjects: string) => `---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: ${name}, namespace: ${ns} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ${kind}, name: ${role} }
subjects: ${subjects}
`;
const alice = '[{ kind: User, name: alice }]';

function allowed(yaml: string, who: Principal, q: AccessQuestion): boolean {
  return can(modelFromYaml(yaml).index, who, q).allowed;
}
const A = userPrincipal('alice');

describe('verbs and API groups', () => {
  const y =
    clusterRole(
      'r',
      '[{ apiGroups: [""], resources: [pods], verbs: [get] }, { apiGroups: ["*"], resources: [widgets], verbs: ["*"] }]',
    ) + crb('b', 'r', alice);
  test('a listed verb allows; another verb is refused', () => {
    assert.equal(allowed(y, A, { verb: 'get', group: '', resource: 'pods', namespace: 'x' }), true);
    assert.equal(allowed(y, A, { verb: 'list', group: '', resource: 'pods', namespace: 'x' }), false);
  });
  test("the core group is '' and does not match another group", () => {
    assert.equal(allowed(y, A, { verb: 'get', group: 'apps', resource: 'pods', namespace: 'x' }), false);
  });
  test("'*' verbs and '*' groups match anything", () => {
    assert.equal(allowed(y, A, { verb: 'escalate', group: 'example.com', resource: 'widgets' }), true);
    assert.equal(allowed(y, A, { verb: 'delete', group: '', resource: 'widgets', namespace: 'x' }), true);
  });
});

describe('resources and subresources', () => {
  test("'*' covers every resource and subresource", () => {
    const y = clusterRole('r', '[{ apiGroups: [""], resources: ["*"], verbs: [get] }]') + crb('b', 'r', alice);
    assert.equal(allowed(y, A, { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'x' }), true);
    assert.equal(allowed(y, A, { verb: 'get', group: '', resource: 'secrets', namespace: 'x' }), true);
  });
  test('pods does not cover pods/log, and pods/log does not cover pods', () => {
    const y =
      clusterRole('r', '[{ apiGroups: [""], resources: [pods], verbs: [get] }]') +
      clusterRole('l', '[{ apiGroups: [""], resources: [pods/log], verbs: [get] }]') +
      crb('b', 'r', alice) +
      crb('c', 'l', '[{ kind: User, name: bob }]');
    assert.equal(
      allowed(y, A, { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'x' }),
      false,
    );
    assert.equal(
      allowed(y, userPrincipal('bob'), {
        verb: 'get',
        group: '',
        resource: 'pods',
        subresource: 'log',
        namespace: 'x',
      }),
      true,
    );
    assert.equal(allowed(y, userPrincipal('bob'), { verb: 'get', group: '', resource: 'pods', namespace: 'x' }), false);
  });
  test("'*/log' covers every resource's log and nothing else", () => {
    const y = clusterRole('r', '[{ apiGroups: [""], resources: ["*/log"], verbs: [get] }]') + crb('b', 'r', alice);
    assert.equal(allowed(y, A, { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'x' }), true);
    assert.equal(allowed(y, A, { verb: 'get', group: '', resource: 'jobs', subresource: 'log', namespace: 'x' }), true);
    assert.equal(
      allowed(y, A, { verb: 'get', group: '', resource: 'pods', subresource: 'exec', namespace: 'x' }),
      false,
    );
    assert.equal(allowed(y, A, { verb: 'get', group: '', resource: 'pods', namespace: 'x' }), false);
  });
  test("'pods/*' is not a wildcard", () => {
    const y = clusterRole('r', '[{ apiGroups: [""], resources: ["pods/*"], verbs: [get] }]') + crb('b', 'r', alice);
    assert.equal(
      allowed(y, A, { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'x' }),
      false,
    );
  });
});

describe('resourceNames', () => {
  const y =
    clusterRole(
      'r',
      '[{ apiGroups: [""], resources: [configmaps], verbs: [get, list, create, update], resourceNames: [cfg] }]',
    ) + crb('b', 'r', alice);
  test('allow the named object and refuse others', () => {
    assert.equal(allowed(y, A, { verb: 'get', group: '', resource: 'configmaps', namespace: 'x', name: 'cfg' }), true);
    assert.equal(
      allowed(y, A, { verb: 'update', group: '', resource: 'configmaps', namespace: 'x', name: 'other' }),
      false,
    );
  });
  test('never match list or create (requests without a name)', () => {
    assert.equal(allowed(y, A, { verb: 'list', group: '', resource: 'configmaps', namespace: 'x' }), false);
    assert.equal(allowed(y, A, { verb: 'create', group: '', resource: 'configmaps', namespace: 'x' }), false);
  });
  test('empty resourceNames allow any name and none', () => {
    const z =
      clusterRole('r', '[{ apiGroups: [""], resources: [configmaps], verbs: [list, get] }]') + crb('b', 'r', alice);
    assert.equal(allowed(z, A, { verb: 'list', group: '', resource: 'configmaps', namespace: 'x' }), true);
    assert.equal(
      allowed(z, A, { verb: 'get', group: '', resource: 'configmaps', namespace: 'x', name: 'anything' }),
      true,
    );
  });
  test('a listed empty name matches nameless requests, as the authorizer compares strings', () => {
    const z =
      clusterRole('r', '[{ apiGroups: [""], resources: [configmaps], verbs: [list], resourceNames: [""] }]') +
      crb('b', 'r', alice);
    assert.equal(allowed(z, A, { verb: 'list', group: '', resource: 'configmaps', namespace: 'x' }), true);
  });
});

describe('non-resource URLs', () => {
  const y =
    clusterRole('r', '[{ nonResourceURLs: [/healthz, "/apis/*", "/logs**"], verbs: [get] }]') + crb('b', 'r', alice);
  test('exact path and trailing-* prefix', () => {
    assert.equal(allowed(y, A, { verb: 'get', path: '/healthz' }), true);
    assert.equal(allowed(y, A, { verb: 'get', path: '/healthz/etcd' }), false);
    assert.equal(allowed(y, A, { verb: 'get', path: '/apis/apps/v1' }), true);
    assert.equal(allowed(y, A, { verb: 'get', path: '/apis' }), false);
    assert.equal(allowed(y, A, { verb: 'post', path: '/healthz' }), false);
  });
  test('every trailing * is trimmed', () => {
    assert.equal(allowed(y, A, { verb: 'get', path: '/logs' }), true);
    assert.equal(allowed(y, A, { verb: 'get', path: '/logsfoo' }), true);
  });
  test('non-resource rules in a RoleBinding grant nothing', () => {
    const z = clusterRole('r', '[{ nonResourceURLs: ["*"], verbs: ["*"] }]') + rb('x', 'b', 'ClusterRole', 'r', alice);
    assert.equal(allowed(z, A, { verb: 'get', path: '/healthz' }), false);
  });
});

describe('bindings', () => {
  test('a ClusterRole bound by a RoleBinding applies only in that namespace', () => {
    const y =
      clusterRole('r', '[{ apiGroups: [""], resources: [pods], verbs: [get, list] }]') +
      rb('shop', 'b', 'ClusterRole', 'r', alice);
    assert.equal(allowed(y, A, { verb: 'get', group: '', resource: 'pods', namespace: 'shop', name: 'p' }), true);
    assert.equal(allowed(y, A, { verb: 'get', group: '', resource: 'pods', namespace: 'other', name: 'p' }), false);
    assert.equal(
      allowed(y, A, { verb: 'list', group: '', resource: 'pods' }),
      false,
      'an all-namespaces list needs a ClusterRoleBinding',
    );
  });
  test('a Role applies in its own namespace only', () => {
    const y = `---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: r, namespace: shop }
rules: [{ apiGroups: [""], resources: [secrets], verbs: [get] }]
${rb('shop', 'b', 'Role', 'r', alice)}${rb('other', 'c', 'Role', 'r', '[{ kind: User, name: bob }]')}`;
    assert.equal(allowed(y, A, { verb: 'get', group: '', resource: 'secrets', namespace: 'shop', name: 's' }), true);
    assert.equal(
      allowed(y, userPrincipal('bob'), { verb: 'get', group: '', resource: 'secrets', namespace: 'other', name: 's' }),
      false,
      'other/r does not exist',
    );
  });
  test('a binding to a missing role grants nothing and is reported', () => {
    const m = modelFromYaml(rb('shop', 'ghost', 'Role', 'nope', alice));
    assert.equal(can(m.index, A, { verb: 'get', group: '', resource: 'pods', namespace: 'shop' }).allowed, false);
    const p = m.problems.find((x) => x.code === 'missing-role');
    assert.ok(p, JSON.stringify(m.problems));
    assert.equal(p.object, 'RoleBinding shop/ghost');
    assert.match(p.message, /Role shop\/nope/);
  });
});

describe('subjects and implicit groups', () => {
  const role = clusterRole('r', '[{ apiGroups: [""], resources: [pods], verbs: [get] }]');
  const q = { verb: 'get', group: '', resource: 'pods', namespace: 'shop', name: 'p' };
  test('a ServiceAccount subject without namespace takes the RoleBinding namespace', () => {
    const y = role + rb('shop', 'b', 'ClusterRole', 'r', '[{ kind: ServiceAccount, name: builder }]');
    assert.equal(allowed(y, serviceAccountPrincipal('shop', 'builder'), q), true);
    assert.equal(allowed(y, serviceAccountPrincipal('other', 'builder'), { ...q, namespace: 'shop' }), false);
  });
  test('a ServiceAccount subject without namespace never matches in a ClusterRoleBinding', () => {
    const m = modelFromYaml(role + crb('b', 'r', '[{ kind: ServiceAccount, name: builder }]'));
    assert.equal(can(m.index, serviceAccountPrincipal('shop', 'builder'), q).allowed, false);
    assert.ok(m.problems.some((p) => p.code === 'invalid-subject'));
  });
  test('system:serviceaccounts, system:serviceaccounts:<ns> and system:authenticated apply to service accounts', () => {
    for (const g of ['system:serviceaccounts', 'system:serviceaccounts:shop', 'system:authenticated']) {
      const y = role + crb('b', 'r', `[{ kind: Group, name: "${g}" }]`);
      assert.equal(allowed(y, serviceAccountPrincipal('shop', 'any'), q), true, g);
    }
    const y = role + crb('b', 'r', '[{ kind: Group, name: "system:serviceaccounts:other" }]');
    assert.equal(allowed(y, serviceAccountPrincipal('shop', 'any'), q), false);
    assert.equal(
      allowed(role + crb('b', 'r', '[{ kind: Group, name: "system:serviceaccounts" }]'), A, q),
      false,
      'users are not service accounts',
    );
  });
  test('users get system:authenticated, anonymous gets system:unauthenticated, unless implicit groups are off', () => {
    const y = role + crb('b', 'r', '[{ kind: Group, name: "system:authenticated" }]');
    assert.equal(allowed(y, A, q), true);
    assert.equal(allowed(y, userPrincipal('system:anonymous'), q), false);
    assert.equal(allowed(y, userPrincipal('alice', [], false), q), false);
  });
  test('a user with groups, and a group principal standing for any member', () => {
    const y = role + crb('b', 'r', '[{ kind: Group, name: sre }]');
    assert.equal(allowed(y, userPrincipal('carol', ['sre']), q), true);
    assert.equal(allowed(y, groupPrincipal('sre'), q), true);
    assert.equal(allowed(y, userPrincipal('carol', ['dev']), q), false);
  });
  test('system:masters is allowed everything, as the API server does before RBAC', () => {
    const a = can(modelFromYaml('').index, userPrincipal('root', ['system:masters']), {
      verb: 'delete',
      group: '',
      resource: 'nodes',
      name: 'n',
    });
    assert.equal(a.allowed, true);
    assert.equal(a.privilegedGroup, 'system:masters');
  });
  test('unknown subject kinds match nobody', () => {
    const m = modelFromYaml(role + crb('b', 'r', '[{ kind: Robot, name: alice }]'));
    assert.equal(can(m.index, A, q).allowed, false);
    assert.ok(m.problems.some((p) => p.code === 'invalid-subject' && /Robot/.test(p.message)));
  });
});

// The index must answer exactly what a naive authorizer (every binding, every subject, every rule) answers.
describe('indexed answers equal a naive authorizer on random policies', () => {
  test('3,000 random questions over 60 roles and 120 bindings', () => {
    const rnd = prng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const some = <T>(xs: readonly T[], max = 3): T[] => [
      ...new Set(Array.from({ length: 1 + Math.floor(rnd() * max) }, () => pick(xs))),
    ];
    const nss = ['a', 'b', 'c'];
    const verbs = ['get', 'list', 'create', 'update', 'delete', '*'];
    const groups = ['', 'apps', '*'];
    const resources = ['pods', 'pods/log', 'secrets', 'deployments', '*', '*/log', 'deployments/scale'];
    const names = ['n1', 'n2'];
    const users = ['u1', 'u2', 'system:serviceaccount:a:s1', 'system:serviceaccount:b:s2'];
    const grps = ['g1', 'g2', 'system:serviceaccounts', 'system:serviceaccounts:a', 'system:authenticated'];
    const rule = () =>
      rnd() < 0.1
        ? `{ nonResourceURLs: [${JSON.stringify(pick(['/healthz', '/api/*', '*', '/metrics']))}], verbs: [${some([
            'get',
            'post',
            '*',
          ])
            .map((v) => JSON.stringify(v))
            .join(',')}] }`
        : `{ apiGroups: ${JSON.stringify(some(groups, 2))}, resources: ${JSON.stringify(some(resources))}, verbs: ${JSON.stringify(some(verbs))}${rnd() < 0.3 ? `, resourceNames: ${JSON.stringify(some(names, 2))}` : ''} }`;
    const subject = () => {
      const r = rnd();
      if (r < 0.3) return `{ kind: User, name: "${pick(users)}" }`;
      if (r < 0.6) return `{ kind: Group, name: "${pick(grps)}" }`;
      return `{ kind: ServiceAccount, name: ${pick(['s1', 's2', 's3'])}${rnd() < 0.5 ? `, namespace: ${pick(nss)}` : ''} }`;
    };
    let y = '';
    for (let i = 0; i < 30; i++)
      y += clusterRole(`c${i}`, `[${Array.from({ length: 1 + Math.floor(rnd() * 3) }, rule).join(',')}]`);
    for (let i = 0; i < 30; i++) {
      y += `---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: r${i % 10}, namespace: ${nss[i % 3]} }\nrules: [${Array.from({ length: 1 + Math.floor(rnd() * 3) }, rule).join(',')}]\n`;
    }
    for (let i = 0; i < 40; i++)
      y += crb(
        `cb${i}`,
        `c${Math.floor(rnd() * 32)}`,
        `[${Array.from({ length: 1 + Math.floor(rnd() * 2) }, subject).join(',')}]`,
      );
    for (let i = 0; i < 80; i++) {
      const kind = rnd() < 0.5 ? 'Role' : 'ClusterRole';
      y += rb(
        pick(nss),
        `rb${i}`,
        kind,
        kind === 'Role' ? `r${Math.floor(rnd() * 11)}` : `c${Math.floor(rnd() * 32)}`,
        `[${Array.from({ length: 1 + Math.floor(rnd() * 2) }, subject).join(',')}]`,
      );
    }
    const m = modelFromYaml(y);
    const inv = m.inputs.inventory;
    const naive = (user: { username: string; groups: string[] }, q: AccessQuestion): boolean => {
      const ns = 'path' in q ? '' : (q.namespace ?? '');
      const bindings = [
        ...inv.clusterRoleBindings.values(),
        ...(ns ? [...inv.roleBindings.values()].filter((b) => b.namespace === ns) : []),
      ];
      for (const b of bindings) {
        if (!b.subjects.some((s) => subjectAppliesTo(s, b.namespace, user))) continue;
        const role =
          b.roleRef.kind === 'ClusterRole'
            ? inv.clusterRoles.get(b.roleRef.name)
            : inv.roles.get(`${b.namespace}/${b.roleRef.name}`);
        for (const r of role?.rules ?? []) {
          if ('path' in q ? ruleAllowsNonResource(r, q.verb, q.path) : ruleAllowsResource(r, q)) return true;
        }
      }
      return false;
    };
    let yes = 0;
    for (let i = 0; i < 3000; i++) {
      const username = pick(users);
      const sa = /^system:serviceaccount:([^:]+):/.exec(username);
      const groups = sa
        ? ['system:serviceaccounts', `system:serviceaccounts:${sa[1]}`, 'system:authenticated']
        : [...some(['g1', 'g2'], 2), 'system:authenticated'];
      const q: AccessQuestion =
        rnd() < 0.1
          ? { verb: pick(['get', 'post']), path: pick(['/healthz', '/api/v1', '/metrics', '/x']) }
          : (() => {
              const [resource, subresource] = pick([
                'pods',
                'pods/log',
                'secrets',
                'deployments',
                'deployments/scale',
                'jobs/log',
              ]).split('/') as [string, string | undefined];
              return {
                verb: pick(['get', 'list', 'create', 'update', 'delete']),
                group: pick(['', 'apps']),
                resource,
                subresource,
                namespace: pick(['', ...nss]),
                name: pick([undefined, 'n1', 'n3']),
              };
            })();
      const expected = naive({ username, groups }, q);
      const got = can(m.index, userPrincipal(username, groups, false), q).allowed;
      assert.equal(got, expected, `${username} ${JSON.stringify(q)}`);
      if (got) yes++;
    }
    assert.ok(yes > 300 && yes < 2700, `a useful mix of answers (${yes} allowed)`);
  });
});
