// The 'notify' response: a payload for chat or paging, grouped by the accountable human, so each
// owner learns what their agents changed outside Git. Sending it is the caller's job.
import type { Attribution, DriftReport, ObjectFinding } from './model.ts';
import { describeId } from './object-id.ts';

export interface NotifiedObject {
  readonly object: string;
  readonly state: ObjectFinding['state'];
  readonly paths: readonly string[];
  readonly intents: readonly string[];
}

export interface DriftNotification {
  readonly title: string;
  readonly text: string;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly revision?: string;
  /** Agent-caused drift, per accountable owner. */
  readonly owners: readonly {
    readonly owner: string;
    readonly agents: readonly string[];
    readonly objects: readonly NotifiedObject[];
  }[];
  /** Everything else: human, controller or unknown actors. */
  readonly others: readonly (NotifiedObject & { readonly actors: readonly string[] })[];
}

function attributions(f: ObjectFinding): Attribution[] {
  return f.state === 'drifted' ? f.fields.map((d) => d.attribution) : f.attribution ? [f.attribution] : [];
}

function paths(f: ObjectFinding, pick: (a: Attribution) => boolean): string[] {
  if (f.state !== 'drifted') return [`(object ${f.state})`];
  return f.fields.filter((d) => pick(d.attribution)).map((d) => d.display);
}

export function notificationPayload(report: DriftReport): DriftNotification {
  const owners = new Map<string, { agents: Set<string>; objects: NotifiedObject[] }>();
  const others: (NotifiedObject & { actors: string[] })[] = [];
  for (const f of report.findings) {
    const all = attributions(f);
    const byOwner = new Map<string, Attribution[]>();
    for (const a of all.filter((x) => x.actor.class === 'agent')) {
      const key = a.actor.owner ?? '(agent without a known owner)';
      byOwner.set(key, [...(byOwner.get(key) ?? []), a]);
    }
    for (const [owner, list] of byOwner) {
      const entry = owners.get(owner) ?? { agents: new Set<string>(), objects: [] };
      for (const a of list) entry.agents.add(a.actor.name ?? '?');
      entry.objects.push({
        object: describeId(f.id),
        state: f.state,
        paths: paths(f, (a) => list.includes(a)),
        intents: [...new Set(list.map((a) => a.actor.intent?.summary).filter((s): s is string => !!s))],
      });
      owners.set(owner, entry);
    }
    const rest = all.filter((a) => a.actor.class !== 'agent');
    if (rest.length > 0) {
      others.push({
        object: describeId(f.id),
        state: f.state,
        paths: paths(f, (a) => rest.includes(a)),
        intents: [],
        actors: [...new Set(rest.map((a) => `${a.actor.class}${a.actor.name ? ` ${a.actor.name}` : ''}`))],
      });
    }
  }
  const agentObjects = [...owners.values()].reduce((n, o) => n + o.objects.length, 0);
  const total = report.findings.length;
  const title =
    total === 0
      ? 'No GitOps drift'
      : `GitOps drift: ${total} object(s) differ from Git, ${agentObjects} changed by agents`;
  const lines = [...owners.entries()].map(
    ([owner, o]) =>
      `${owner}: agents ${[...o.agents].join(', ')} changed ${o.objects.map((x) => `${x.object} (${x.paths.join(', ')})`).join('; ')}`,
  );
  if (others.length)
    lines.push(`other changes: ${others.map((x) => `${x.object} by ${x.actors.join(', ')}`).join('; ')}`);
  return {
    title,
    text: lines.join('\n') || 'The cluster matches Git.',
    severity: agentObjects > 0 ? 'critical' : total > 0 ? 'warning' : 'info',
    ...(report.revision ? { revision: report.revision.commit } : {}),
    owners: [...owners.entries()].map(([owner, o]) => ({ owner, agents: [...o.agents], objects: o.objects })),
    others,
  };
}
