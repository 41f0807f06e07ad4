// Per-agent effective access against the declared boundary: findings, witness paths, severities,
// the smallest change, and the agent edges (identities, gateway tools, invoked agents).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzeAccess, type AgentReport } from '../../../src/analysis/access/analyze.ts';
import { excessOf } from '../../../src/analysis/access/boundary.ts';
import type { Finding } from '../../../src/analysis/access/findings.ts';
import type { GrantedRule } from '../../../src/analysis/access/rbac-index.ts';
import { dotToSvg, renderDot } from '../../../src/analysis/access/render-dot.ts';
import { renderText } from '../../../src/analysis/access/render-text.ts';
import { formatPath } from '../../../src/analysis/access/witness.ts';
import type { Boundary } from '../../../src/policy/schema.ts';
import { modelFromYaml, shopModel } from './support/build.ts';

const gr = (rule: GrantedRule['rule'], namespace?: string): GrantedRule => ({
  id: 0,
  rule,
  namespace,
  ruleIndex: 0,
  triggers: -1,
  content: -1,
  nsNumber: namespace === undefined ? -1 : 0,
});

describe('boundary coverage (engine semantics)', () => {
  const b: Boundary = {
    namespaces: ['shop'],
    rules: [
      { apiGroups: [''], resources: ['pods', '*/log'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get'], clusterScope: true },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['cfg'] },
    ],
  };
  test('inside: nothing; partly inside: exactly the rest', () => {
    assert.deepEqual(excessOf(b, gr({ verbs: ['get'], apiGroups: [''], resources: ['pods', 'pods/log'] }, 'shop')), []);
    const parts = excessOf(b, gr({ verbs: ['get', 'delete'], apiGroups: [''], resources: ['pods'] }, 'shop'));
    assert.deepEqual(parts, [
      {
        where: { kind: 'namespace', namespace: 'shop', outside: false },
        permissions: [{ verbs: ['delete'], apiGroups: [''], resources: ['pods'] }],
      },
    ]);
  });
  test('a namespace outside the boundary: the whole rule', () => {
    const parts = excessOf(b, gr({ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, 'bank'));
    assert.deepEqual(parts[0]?.where, { kind: 'namespace', namespace: 'bank', outside: true });
  });
  test("a wildcard is covered only by a wildcard: '*' verbs or resources exceed a list", () => {
    const parts = excessOf(b, gr({ verbs: ['*'], apiGroups: [''], resources: ['pods'] }, 'shop'));
    assert.deepEqual(parts[0]?.permissions, [{ verbs: ['*'], apiGroups: [''], resources: ['pods'] }]);
  });
  test('resourceNames: a named grant is covered by an unnamed or same-named boundary rule, not the reverse', () => {
    assert.deepEqual(
      excessOf(b, gr({ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['cfg'] }, 'shop')),
      [],
    );
    assert.equal(excessOf(b, gr({ verbs: ['get'], apiGroups: [''], resources: ['configmaps'] }, 'shop')).length, 1);
  });
  test('a ClusterRoleBinding exceeds in other namespaces, and cluster-wide unless a clusterScope rule covers it', () => {
    const parts = excessOf(b, gr({ verbs: ['get'], apiGroups: [''], resources: ['pods', 'nodes'] }));
    assert.deepEqual(
      parts.map((p) => p.where.kind),
      ['other-namespaces'],
      'pods are covered in shop, nodes by the clusterScope rule; other namespaces are not',
    );
    const wide: Boundary = { namespaces: ['*'], rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };
    assert.deepEqual(
      excessOf(wide, gr({ verbs: ['get'], apiGroups: [''], resources: ['pods'] })),
      [],
      "'*' namespaces admit cluster-wide requests too (engine semantics)",
    );
  });
  test('cluster-scoped resources in a RoleBinding never apply, so never exceed', () => {
    assert.deepEqual(excessOf(b, gr({ verbs: ['delete'], apiGroups: [''], resources: ['nodes'] }, 'bank')), []);
  });
  test('self-inspection and non-resource reads are not findings; other non-resource verbs are', () => {
    assert.deepEqual(
      excessOf(
        b,
        gr({ verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'] }),
      ),
      [],
    );
    assert.deepEqual(excessOf(b, gr({ verbs: ['get'], nonResourceURLs: ['/healthz'] })), []);
    assert.equal(excessOf(b, gr({ verbs: ['*'], nonResourceURLs: ['*'] })).length, 1);
  });
  test('no boundary: everything exceeds', () => {
    assert.equal(excessOf(undefined, gr({ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, 'shop')).length, 1);
  });
});

describe('the shop scenario', async () => {
  const model = await shopModel();
  const report = analyzeAccess(model);
  const agent = (name: string) => report.agents.find((a) => a.name === name) as AgentReport;
  const finding = (a: AgentReport, summary: RegExp) => {
    const f = a.findings.find((x) => summary.test(x.summary));
    assert.ok(f, `${a.name}: no finding ${summary} in\n${a.findings.map((x) => x.summary).join('\n')}`);
    return f as Finding;
  };

  test('triage reaches beyond its read-only boundary through a tool, an escalation and an invoked agent', () => {
    const t = agent('triage');
    assert.deepEqual(t.identities, ['ServiceAccount agents/triage']);
    assert.deepEqual(t.invokes, ['scaler']);
    assert.deepEqual(
      t.tools.map((x) => `${x.server}/${x.tool} ${x.rbac} ${x.runsAs}`),
      [
        'k8s/pods_list bounded ServiceAccount mcp/kubernetes-mcp-server',
        'k8s/pods_run bounded ServiceAccount mcp/kubernetes-mcp-server',
      ],
    );
    assert.ok(
      t.reach.escalations.some((e) => e.from === 'tool k8s/pods_run' && e.to === 'any service account in shop'),
    );
    assert.equal(t.totalFindings, 7);
  });
  test('a tool-limited permission: the finding is what the tool can do, with the path through its runtime identity', () => {
    const f = finding(agent('triage'), /^create pods in shop$/);
    assert.equal(f.severity, 'high');
    assert.deepEqual(
      f.path.map((s) => s.kind),
      ['agent', 'tool', 'principal', 'binding', 'role', 'rule'],
    );
    assert.match(
      formatPath(f.path),
      /Agent triage —may call→ tool k8s\/pods_run —runs as→ ServiceAccount mcp\/kubernetes-mcp-server —bound as ServiceAccount mcp\/kubernetes-mcp-server→ RoleBinding shop\/mcp-edit —grants→ ClusterRole edit \(aggregated\)/,
    );
    assert.deepEqual(f.fix.changes, [{ kind: 'revoke-tool', agent: 'triage', server: 'k8s', tool: 'pods_run' }]);
    // pods_list is bounded to list pods: edit's other powers stay out of reach.
    assert.ok(!agent('triage').findings.some((x) => /delete|exec/.test(x.summary)));
  });
  test('escalation: create pods in shop → any account in shop → what they hold, cut at the tool grant', () => {
    const f = finding(agent('triage'), /get,list nodes cluster-wide/);
    assert.equal(f.escalated, true);
    assert.equal(f.severity, 'low');
    assert.ok(f.path.some((s) => s.ref === 'pool:sa:shop'));
    assert.equal(
      f.fix.changes[0]?.kind,
      'revoke-tool',
      'every route to shop/deployer goes through the tool, cycles included',
    );
  });
  test('chain: what an invoked agent reaches counts, cut at mayInvoke', () => {
    const f = finding(agent('triage'), /secrets in payments/);
    assert.equal(f.severity, 'high');
    assert.deepEqual(
      f.path.slice(0, 4).map((s) => s.ref),
      ['agent:triage', 'agent:scaler', 'sa:agents/scaler', 'sa:payments/processor'],
    );
    assert.deepEqual(f.fix.changes, [{ kind: 'remove-invoke', agent: 'triage', invokes: 'scaler' }]);
  });
  test("the smallest change prefers what only the agent's own identity feels over a third party's role", () => {
    const f = finding(agent('scaler'), /secrets in payments/);
    assert.equal(f.fix.changes[0]?.kind, 'narrow-rule');
    assert.match(f.fix.summary, /Role payments\/token-minter rule 0, drop create serviceaccounts\/token/);
  });
  test('findings are ordered most severe first and the counts add up', () => {
    for (const a of report.agents) {
      const ranks = a.findings.map((f) => ['critical', 'high', 'medium', 'low'].indexOf(f.severity));
      assert.deepEqual(
        ranks,
        [...ranks].sort((x, y) => x - y),
      );
      assert.equal(
        Object.values(a.counts).reduce((x, y) => x + y, 0),
        a.totalFindings,
      );
    }
    assert.equal(report.summary.findings, 9);
  });
  test('the cap keeps the most severe findings and still counts all', () => {
    const capped = analyzeAccess(model, { agents: ['triage'], maxFindingsPerAgent: 2 });
    assert.equal(capped.agents[0]?.findings.length, 2);
    assert.equal(capped.agents[0]?.totalFindings, 7);
  });
  test('problems and blind spots are part of the report', () => {
    assert.ok(report.problems.some((p) => p.code === 'missing-role' && p.object === 'RoleBinding shop/ghost'));
    assert.ok(report.blindSpots.some((b) => /ValidatingWebhookConfiguration/.test(b)));
  });
  test('table, DOT and SVG renderings', () => {
    const text = renderText(report);
    assert.match(text, /Agent triage \(advisory\) — boundary: namespaces shop; 1 rule\(s\)/);
    assert.match(text, /fix: revoke tool k8s\/pods_run from agent triage/);
    assert.match(text, /Could not see:/);
    const dot = renderDot(report);
    assert.match(dot, /^digraph access \{/);
    assert.match(dot, /"agent:triage" -> "tool:k8s\/pods_run"/);
    const svg = dotToSvg(dot);
    if ('svg' in svg) assert.match(svg.svg, /<svg/);
    else assert.match(svg.error, /not installed/);
  });
});

describe('tools, identities and chains', () => {
  const cluster = `---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: power }
rules:
- { apiGroups: [""], resources: [secrets, pods], verbs: [get, list, create] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: mcp-power, namespace: shop }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: power }
subjects: [{ kind: ServiceAccount, name: mcp, namespace: tools }]
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: a }
spec:
  owner: { id: o }
  identities: [{ kind: MCPClient, clientId: a-client }]
  boundary: { namespaces: [shop], rules: [{ apiGroups: [""], resources: [pods], verbs: [get, list] }] }
`;
  const gateway = (tool: string, runAs = 'runAs: { serviceAccount: { namespace: tools, name: mcp } }') => `
servers:
- name: s
  ${runAs}
  tools:
  - ${tool}
grants: [{ agent: a, server: s, tools: ["*"] }]
`;
  const findings = (gw: string) =>
    analyzeAccess(modelFromYaml(cluster, { gateway: gw })).agents[0]?.findings.map((f) => f.summary) ?? [];
  test('an undeclared tool reaches everything its identity can', () => {
    assert.deepEqual(findings(gateway('{ name: t }')), ['get,list,create secrets; create pods in shop']);
  });
  test('an unbounded tool likewise', () => {
    assert.equal(
      findings(
        gateway(
          '{ name: t, _meta: { io.kubernetes-mcp-server/rbac: { version: v1alpha1, unbounded: { reason: x } } } }',
        ),
      ).length,
      1,
    );
  });
  test('a tool declaring none reaches nothing', () => {
    assert.deepEqual(
      findings(gateway('{ name: t, _meta: { io.kubernetes-mcp-server/rbac: { version: v1alpha1, none: {} } } }')),
      [],
    );
  });
  test('a bounded tool reaches the intersection, namespace and name included', () => {
    const t = (req: string) =>
      `{ name: t, _meta: { io.kubernetes-mcp-server/rbac: { version: v1alpha1, bounded: { requirements: [${req}] } } } }`;
    assert.deepEqual(
      findings(
        gateway(t('{ verbs: [get], target: { resource: { resource: secrets } }, namespace: { argument: namespace } }')),
      ),
      ['get secrets in shop'],
    );
    assert.deepEqual(
      findings(gateway(t('{ verbs: [get], target: { resource: { resource: secrets } }, namespace: { name: bank } }'))),
      [],
      'no grant in bank',
    );
    assert.deepEqual(
      findings(gateway(t('{ verbs: [get], target: { resource: { resource: secrets } }, resourceName: { name: db } }'))),
      ['get secrets named db in shop'],
    );
    assert.deepEqual(
      findings(gateway(t('{ verbs: [delete], target: { gvk: { apiVersionArgument: v, kindArgument: k } } }'))),
      [],
      'the identity cannot delete',
    );
    assert.deepEqual(findings(gateway(t('{ verbs: [list], target: { manifest: { argument: m } } }'))), [
      'list secrets in shop',
    ]);
    assert.deepEqual(
      findings(gateway(t('{ verbs: [list], target: { resource: { resource: secrets } }, namespace: { all: true } }'))),
      [],
      'an all-namespaces list needs a ClusterRoleBinding',
    );
  });
  test('a tool forwarding the caller identity adds nothing', () => {
    assert.deepEqual(findings(gateway('{ name: t }', 'runAs: { callerIdentity: true }')), []);
  });
  test('an agent known only as an MCP client has no Kubernetes identity of its own', () => {
    const r = analyzeAccess(modelFromYaml(cluster));
    assert.deepEqual(r.agents[0]?.identities, []);
    assert.equal(r.agents[0]?.totalFindings, 0);
  });
  test('agents invoking each other in a cycle terminate', () => {
    const y = `---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: x }
spec: { owner: { id: o }, identities: [{ kind: User, name: x }], boundary: { chain: { mayInvoke: [y] } } }
---
apiVersion: tether.dev/v1alpha1
kind: Agent
metadata: { name: y }
spec: { owner: { id: o }, identities: [{ kind: User, name: y }], boundary: { chain: { mayInvoke: [x, ghost] } } }
`;
    const m = modelFromYaml(y);
    const r = analyzeAccess(m);
    assert.equal(r.agents.length, 2);
    assert.ok(m.problems.some((p) => p.code === 'unknown-agent' && /ghost/.test(p.message)));
  });
});
