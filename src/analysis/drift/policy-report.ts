// Findings as wgpolicyk8s.io/v1alpha2 PolicyReport (one per namespace) and ClusterPolicyReport
// objects, so the report UIs people already run (Policy Reporter, Kyverno's, Headlamp) show them.
import type { DriftReport, ObjectFinding, ObjectId } from './model.ts';
import { apiVersionOf } from './object-id.ts';
import { describeActor } from './format-table.ts';

export const POLICY = 'tether-gitops-drift';
const SOURCE = 'tether';

type Result = 'pass' | 'fail' | 'warn' | 'error' | 'skip';

export interface PolicyReportResult {
  source: string;
  policy: string;
  rule: string;
  category: string;
  severity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
  timestamp: { seconds: number; nanos: number };
  result: Result;
  scored: boolean;
  resources: { apiVersion: string; kind: string; name: string; namespace?: string }[];
  message: string;
  /** Values must be strings (map[string]string in the schema). */
  properties: Record<string, string>;
}

export interface PolicyReportObject {
  apiVersion: 'wgpolicyk8s.io/v1alpha2';
  kind: 'PolicyReport' | 'ClusterPolicyReport';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  summary: { pass: number; fail: number; warn: number; error: number; skip: number };
  results: PolicyReportResult[];
}

function resourceRef(id: ObjectId): PolicyReportResult['resources'][number] {
  return {
    apiVersion: apiVersionOf(id),
    kind: id.kind,
    name: id.name,
    ...(id.namespace ? { namespace: id.namespace } : {}),
  };
}

function message(f: ObjectFinding): string {
  if (f.state === 'missing') return 'declared in Git but absent from the cluster';
  if (f.state === 'extra') return `carries GitOps ownership (${f.gitopsOwner ?? '?'}) but is absent from Git`;
  return `differs from Git at ${f.fields.map((d) => d.display).join(', ')}`;
}

function properties(f: ObjectFinding, report: DriftReport): Record<string, string> {
  const attributions =
    f.state === 'drifted' ? f.fields.map((d) => d.attribution) : f.attribution ? [f.attribution] : [];
  const actors = [...new Set(attributions.map(describeActor))];
  const p: Record<string, string> = { state: f.state, actors: actors.join('; ') };
  if (f.state === 'drifted') p.paths = f.fields.map((d) => d.display).join(', ');
  const intents = [...new Set(attributions.map((a) => a.actor.intent?.summary).filter((s): s is string => !!s))];
  if (intents.length) p.intent = intents.join('; ');
  p.confidence = [...new Set(attributions.map((a) => a.confidence))].join(', ');
  if (report.revision) p.revision = report.revision.commit;
  if (f.source) p.source = f.source.file;
  return p;
}

/** Agent-caused drift is the one Tether exists to catch: it ranks above the rest. */
function severity(f: ObjectFinding): PolicyReportResult['severity'] {
  const classes = f.state === 'drifted' ? f.fields.map((d) => d.attribution.actor.class) : [f.attribution?.actor.class];
  if (classes.includes('agent')) return 'high';
  if (f.state === 'missing') return 'high';
  return 'medium';
}

export function toPolicyReports(
  report: DriftReport,
  inSync: readonly ObjectId[] = report.inSyncObjects ?? [],
): PolicyReportObject[] {
  const seconds = Math.floor(Date.parse(report.generatedAt) / 1000);
  const byScope = new Map<string, PolicyReportResult[]>();
  const push = (ns: string | undefined, r: PolicyReportResult) => {
    const list = byScope.get(ns ?? '') ?? [];
    list.push(r);
    byScope.set(ns ?? '', list);
  };
  for (const f of report.findings) {
    push(f.id.namespace, {
      source: SOURCE,
      policy: POLICY,
      rule: f.state === 'drifted' ? 'matches-git' : f.state === 'missing' ? 'exists' : 'declared-in-git',
      category: 'GitOps drift',
      severity: severity(f),
      timestamp: { seconds, nanos: 0 },
      result: 'fail',
      scored: true,
      resources: [resourceRef(f.id)],
      message: message(f),
      properties: properties(f, report),
    });
  }
  for (const id of inSync) {
    push(id.namespace, {
      source: SOURCE,
      policy: POLICY,
      rule: 'matches-git',
      category: 'GitOps drift',
      timestamp: { seconds, nanos: 0 },
      result: 'pass',
      scored: true,
      resources: [resourceRef(id)],
      message: 'matches Git',
      properties: report.revision ? { revision: report.revision.commit } : {},
    });
  }
  return [...byScope.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ns, results]) => {
      const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
      for (const r of results) summary[r.result]++;
      return {
        apiVersion: 'wgpolicyk8s.io/v1alpha2' as const,
        kind: ns ? ('PolicyReport' as const) : ('ClusterPolicyReport' as const),
        metadata: {
          name: POLICY,
          ...(ns ? { namespace: ns } : {}),
          labels: { 'app.kubernetes.io/managed-by': 'tether' },
        },
        summary,
        results,
      };
    });
}
