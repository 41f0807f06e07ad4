// The reach graph: agents → identities, gateway tools and invoked agents; identities → the
// identities their permissions let them become (escalation catalogue); pools → their members.
// Nodes, edges and rules are computed on first use and cached, so one graph serves every agent.
import { labelSelectorMatches } from '../../kube/label-selector.ts';
import type { ObjectSource } from '../../kube/object-dump.ts';
import type { RuleLike } from '../../kube/rbac-match.ts';
import type { AgentSpec, Identity } from '../../policy/schema.ts';
import {
  CODE_EXECUTION,
  describeTarget,
  type EscalationContext,
  type EscalationEdge,
  escalationsOf,
} from './escalation.ts';
import {
  type GatewayConfig,
  type GatewayServer,
  type GatewayTool,
  type ToolReach,
  toolReach,
} from './gateway-grants.ts';
import {
  describePrincipal,
  groupPrincipal,
  type Principal,
  serviceAccountPrincipal,
  subjectKeys,
  userPrincipal,
} from './identity.ts';
import type { AccessInventory } from './inventory.ts';
import { type GrantedRule, grantsFor, namespaceNumber, newGrantedRule, type RbacIndex } from './rbac-index.ts';
import { restrictRules } from './tool-reach.ts';

export interface AgentInput {
  readonly name: string;
  readonly spec: AgentSpec;
  readonly source: ObjectSource;
}

export type NodeKind = 'agent' | 'tool' | 'principal' | 'pool' | 'synthetic' | 'webhook' | 'capability';

export interface GraphNode {
  readonly id: string;
  readonly kind: NodeKind;
  readonly label: string;
  readonly principal?: Principal;
  readonly agent?: AgentInput;
  readonly tool?: { readonly server: GatewayServer; readonly tool: GatewayTool; readonly reach: ToolReach };
}

export type EdgeKind = 'identity' | 'tool' | 'invoke' | 'runs-as' | 'escalation' | 'member';

export interface GraphEdge {
  readonly to: string;
  /** The target's node number (see AccessGraph.indexOf), for walks over flat arrays. */
  readonly toIndex: number;
  readonly kind: EdgeKind;
  readonly label: string;
  readonly escalation?: EscalationEdge;
}

type EdgeSpec = Omit<GraphEdge, 'toIndex'>;

const EVERYTHING: RuleLike = { verbs: ['*'], apiGroups: ['*'], resources: ['*'] };
const EVERY_URL: RuleLike = { verbs: ['*'], nonResourceURLs: ['*'] };

function identityPrincipal(id: Identity): Principal | undefined {
  switch (id.kind) {
    case 'ServiceAccount':
      return serviceAccountPrincipal(id.namespace, id.name);
    case 'User':
      return userPrincipal(id.name);
    case 'Group':
      return groupPrincipal(id.name);
    case 'OIDC':
      return userPrincipal(`${id.usernamePrefix ?? ''}${id.subject}`);
    case 'MCPClient':
      return undefined;
  }
}

const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
};

export class AccessGraph {
  readonly index: RbacIndex;
  readonly inventory: AccessInventory;
  readonly agents: ReadonlyMap<string, AgentInput>;
  readonly gateway: GatewayConfig;
  readonly #nodes: (GraphNode | undefined)[] = [];
  // Node numbers: every id seen gets one, so walks can use flat arrays.
  readonly #ids: string[] = [];
  readonly #numbers = new Map<string, number>();
  readonly #edges: (readonly GraphEdge[] | undefined)[] = [];
  readonly #rules: (readonly GrantedRule[] | undefined)[] = [];
  readonly #servers = new Map<string, GatewayServer>();
  readonly #grantsByAgent = new Map<string, { server: string; tool: string }[]>();
  // Pool members, from the inventory.
  readonly #saByNs = new Map<string, Set<string>>();
  readonly #saNamespacesByName = new Map<string, Set<string>>();
  readonly #runningByNs = new Map<string, Set<string>>();
  readonly #runningByNode = new Map<string, Set<string>>();
  readonly #tokensByNs = new Map<string, Set<string>>();
  readonly #tokenOwners = new Map<string, { namespace: string; name: string }[]>();
  readonly #users = new Set<string>();
  readonly #namespaces = new Set<string>();
  readonly #webhooksByNs = new Map<string, string[]>();
  readonly #ctx: EscalationContext;

  constructor(index: RbacIndex, inventory: AccessInventory, agents: readonly AgentInput[], gateway: GatewayConfig) {
    this.index = index;
    this.inventory = inventory;
    this.agents = new Map(agents.map((a) => [a.name, a]));
    this.gateway = gateway;
    for (const s of gateway.servers) this.#servers.set(s.name, s);
    for (const g of gateway.grants) {
      const server = this.#servers.get(g.server);
      if (!server) continue;
      const tools = g.tools.includes('*')
        ? server.tools.map((t) => t.name)
        : g.tools.filter((t) => server.tools.some((x) => x.name === t));
      for (const tool of tools) {
        const list = this.#grantsByAgent.get(g.agent) ?? [];
        if (!list.some((x) => x.server === g.server && x.tool === tool)) list.push({ server: g.server, tool });
        this.#grantsByAgent.set(g.agent, list);
      }
    }
    this.#indexPools();
    this.#ctx = {
      tokenSecretOwners: (ns, secret) =>
        (this.#tokenOwners.get(secret) ?? []).filter((o) => ns === undefined || o.namespace === ns),
      serviceAccountsNamed: (ns, name) => {
        if (ns !== undefined) return [{ namespace: ns, name }];
        return [...(this.#saNamespacesByName.get(name) ?? [])].map((namespace) => ({ namespace, name }));
      },
    };
  }

  #indexPools(): void {
    const inv = this.inventory;
    const addSa = (ns: string, name: string) => {
      let s = this.#saByNs.get(ns);
      if (!s) this.#saByNs.set(ns, (s = new Set()));
      s.add(name);
      let n = this.#saNamespacesByName.get(name);
      if (!n) this.#saNamespacesByName.set(name, (n = new Set()));
      n.add(ns);
      this.#namespaces.add(ns);
    };
    for (const sa of inv.serviceAccounts.values()) addSa(sa.namespace, sa.name);
    const saKnown = (inv.seen.get('ServiceAccount') ?? 0) > 0;
    for (const ns of inv.namespaces.keys()) this.#namespaces.add(ns);
    for (const r of inv.roles.values()) this.#namespaces.add(r.namespace);
    for (const b of [...inv.clusterRoleBindings.values(), ...inv.roleBindings.values()]) {
      if (b.namespace) this.#namespaces.add(b.namespace);
      for (const s of b.subjects) {
        if (s.kind === 'User' && !s.name.startsWith('system:serviceaccount:')) this.#users.add(s.name);
        // Without ServiceAccount objects, the accounts bindings name are the best evidence of who exists.
        if (!saKnown && s.kind === 'ServiceAccount' && (s.namespace || b.namespace))
          addSa(s.namespace || b.namespace, s.name);
      }
    }
    if (!saKnown) for (const ns of this.#namespaces) addSa(ns, 'default');
    for (const p of inv.pods.values()) {
      addSa(p.namespace, p.serviceAccountName);
      if (!p.live) continue;
      const saAutomount = inv.serviceAccounts.get(`${p.namespace}/${p.serviceAccountName}`)?.automountToken;
      const hasToken = p.projectedToken || (p.automountToken ?? saAutomount ?? true);
      if (!hasToken) continue;
      let r = this.#runningByNs.get(p.namespace);
      if (!r) this.#runningByNs.set(p.namespace, (r = new Set()));
      r.add(p.serviceAccountName);
      if (p.nodeName) {
        let n = this.#runningByNode.get(p.nodeName);
        if (!n) this.#runningByNode.set(p.nodeName, (n = new Set()));
        n.add(`${p.namespace}/${p.serviceAccountName}`);
      }
    }
    for (const s of inv.tokenSecrets.values()) {
      let t = this.#tokensByNs.get(s.namespace);
      if (!t) this.#tokensByNs.set(s.namespace, (t = new Set()));
      t.add(s.serviceAccountName);
      push(this.#tokenOwners, s.name, { namespace: s.namespace, name: s.serviceAccountName });
    }
    for (const hooks of inv.webhooks.values()) {
      for (const w of hooks) {
        if (w.kind !== 'MutatingWebhookConfiguration' || !w.service) continue;
        const pods = w.rules.some(
          (r) =>
            (r.apiGroups.includes('') || r.apiGroups.includes('*')) &&
            (r.resources.includes('pods') || r.resources.includes('*')) &&
            (r.operations.includes('CREATE') || r.operations.includes('*')),
        );
        if (pods) push(this.#webhooksByNs, w.service.namespace, `webhook:${w.configuration}/${w.webhook}`);
      }
    }
  }

  get namespaces(): ReadonlySet<string> {
    return this.#namespaces;
  }

  serviceAccountsIn(ns: string): readonly string[] {
    return [...(this.#saByNs.get(ns) ?? [])].sort();
  }

  toolsOf(agent: string): readonly { server: string; tool: string }[] {
    return this.#grantsByAgent.get(agent) ?? [];
  }

  indexOf(id: string): number {
    let i = this.#numbers.get(id);
    if (i === undefined) {
      i = this.#ids.length;
      this.#ids.push(id);
      this.#numbers.set(id, i);
      this.#identity.push(id.startsWith('sa:') ? 2 : id.startsWith('user:') || id.startsWith('group:') ? 1 : 0);
    }
    return i;
  }

  /** 2: a service account, 1: another Kubernetes identity (user, group), 0: anything else. Cheap for counting. */
  identityKind(i: number): number {
    return this.#identity[i] as number;
  }
  readonly #identity: number[] = [];

  /** A number per namespace name, for flat-array bookkeeping (the numbers GrantedRules carry). */
  namespaceNumber(ns: string): number {
    return namespaceNumber(this.index.ruleIds, ns);
  }

  idAt(i: number): string {
    return this.#ids[i] as string;
  }

  /** Node numbers handed out so far (grows as the graph is explored). */
  get size(): number {
    return this.#ids.length;
  }

  node(id: string): GraphNode {
    return this.nodeAt(this.indexOf(id));
  }

  nodeAt(i: number): GraphNode {
    let n = this.#nodes[i];
    if (!n) {
      n = this.#makeNode(this.idAt(i));
      this.#nodes[i] = n;
    }
    return n;
  }

  #makeNode(id: string): GraphNode {
    const colon = id.indexOf(':');
    const head = id.slice(0, colon);
    const tail = id.slice(colon + 1);
    switch (head) {
      case 'agent':
        return { id, kind: 'agent', label: `Agent ${tail}`, agent: this.agents.get(tail) };
      case 'tool': {
        const slash = tail.indexOf('/');
        const server = this.#servers.get(tail.slice(0, slash));
        const tool = server?.tools.find((t) => t.name === tail.slice(slash + 1));
        return {
          id,
          kind: 'tool',
          label: `tool ${tail}`,
          tool: server && tool ? { server, tool, reach: toolReach(tool) } : undefined,
        };
      }
      case 'sa': {
        const slash = tail.indexOf('/');
        const p = serviceAccountPrincipal(tail.slice(0, slash), tail.slice(slash + 1));
        return { id, kind: 'principal', label: describePrincipal(p), principal: p };
      }
      case 'user': {
        const p = userPrincipal(tail);
        return { id, kind: 'principal', label: describePrincipal(p), principal: p };
      }
      case 'group': {
        const p = groupPrincipal(tail);
        return { id, kind: 'principal', label: describePrincipal(p), principal: p };
      }
      case 'pool':
        return { id, kind: 'pool', label: describeTarget(id) };
      case 'webhook':
        return { id, kind: 'webhook', label: describeTarget(id) };
      case 'capability':
        return { id, kind: 'capability', label: describeTarget(id) };
      default:
        return { id, kind: 'synthetic', label: describeTarget(id) };
    }
  }

  /** A principal given with extra groups (a tool running as a user with groups) gets its own node. */
  principalNode(p: Principal): string {
    const i = this.indexOf(p.id);
    if (!this.#nodes[i]) this.#nodes[i] = { id: p.id, kind: 'principal', label: describePrincipal(p), principal: p };
    return p.id;
  }

  rules(id: string): readonly GrantedRule[] {
    return this.rulesAt(this.indexOf(id));
  }

  rulesAt(i: number): readonly GrantedRule[] {
    let r = this.#rules[i];
    if (!r) {
      r = this.#makeRules(this.idAt(i));
      this.#rules[i] = r;
    }
    return r;
  }

  #makeRules(id: string): readonly GrantedRule[] {
    const n = this.node(id);
    const ids = this.index.ruleIds;
    if (n.principal) {
      const out: GrantedRule[] = [];
      for (const g of grantsFor(this.index, subjectKeys(n.principal))) for (const r of g.rules) out.push(r);
      return out;
    }
    if (n.kind === 'tool') {
      const t = n.tool;
      if (t?.reach.kind !== 'bounded') return [];
      const runtime = this.runtimeNode(t.server);
      if (!runtime) return [];
      return restrictRules(this.rules(runtime), t.reach.requirements, ids, {
        server: t.server.name,
        tool: t.tool.name,
      });
    }
    if (id === 'any-identity') {
      return [
        newGrantedRule(ids, {
          rule: EVERYTHING,
          namespace: undefined,
          ruleIndex: 0,
          synthetic: 'system:masters (impersonated or certified): every permission',
        }),
        newGrantedRule(ids, {
          rule: EVERY_URL,
          namespace: undefined,
          ruleIndex: 1,
          synthetic: 'system:masters: every non-resource URL',
        }),
      ];
    }
    if (id.startsWith('rbac:full:')) {
      const ns = id.slice('rbac:full:'.length);
      return [
        newGrantedRule(ids, {
          rule: EVERYTHING,
          namespace: ns === '*' ? undefined : ns,
          ruleIndex: 0,
          synthetic: `self-granted ${describeTarget(id)}`,
        }),
      ];
    }
    if (id.startsWith('rbac:roles:')) {
      const [ns, ref] = id.slice('rbac:roles:'.length).split(/:(.*)/s) as [string, string];
      const [kind, name] = ref.split(/\/(.*)/s) as [string, string];
      const role = kind === 'ClusterRole' ? this.index.clusterRoles.get(name) : this.index.roles.get(`${ns}/${name}`);
      return (role?.rules ?? []).map((rule, ruleIndex) =>
        newGrantedRule(ids, {
          rule,
          namespace: ns === '*' ? undefined : ns,
          ruleIndex,
          synthetic: `self-bound ${kind} ${name} ${ns === '*' ? 'cluster-wide' : `in ${ns}`}`,
        }),
      );
    }
    return [];
  }

  /** The node of the identity a tool server runs as (undefined: caller identity, or none declared). */
  runtimeNode(server: GatewayServer): string | undefined {
    const runAs = server.runAs;
    if (runAs?.serviceAccount)
      return this.principalNode(serviceAccountPrincipal(runAs.serviceAccount.namespace, runAs.serviceAccount.name));
    if (runAs?.user) return this.principalNode(userPrincipal(runAs.user.name, runAs.user.groups ?? []));
    return undefined;
  }

  edges(id: string): readonly GraphEdge[] {
    return this.edgesAt(this.indexOf(id));
  }

  edgesAt(i: number): readonly GraphEdge[] {
    let e = this.#edges[i];
    if (!e) {
      e = this.#makeEdges(this.idAt(i)).map((x) => ({ ...x, toIndex: this.indexOf(x.to) }));
      this.#edges[i] = e;
      this.#escalations[i] = e.filter((x) => x.kind === 'escalation').length;
    }
    return e;
  }

  /** How many escalation edges leave a node (after its edges were computed). */
  escalationCount(i: number): number {
    if (this.#edges[i] === undefined) this.edgesAt(i);
    return this.#escalations[i] as number;
  }
  readonly #escalations: number[] = [];

  #makeEdges(id: string): readonly EdgeSpec[] {
    const n = this.node(id);
    const out: EdgeSpec[] = [];
    switch (n.kind) {
      case 'agent': {
        const a = n.agent;
        if (!a) return [];
        for (const ident of a.spec.identities) {
          const p = identityPrincipal(ident);
          if (p) out.push({ to: this.principalNode(p), kind: 'identity', label: 'acts as' });
        }
        for (const { server, tool } of this.toolsOf(a.name))
          out.push({ to: `tool:${server}/${tool}`, kind: 'tool', label: 'may call' });
        for (const other of a.spec.boundary?.chain?.mayInvoke ?? []) {
          if (other !== a.name && this.agents.has(other))
            out.push({ to: `agent:${other}`, kind: 'invoke', label: 'may invoke' });
        }
        return out;
      }
      case 'tool': {
        const t = n.tool;
        if (!t) return [];
        if (t.reach.kind === 'unbounded' || t.reach.kind === 'undeclared') {
          const runtime = this.runtimeNode(t.server);
          if (runtime)
            out.push({
              to: runtime,
              kind: 'runs-as',
              label: `runs as (${t.reach.kind === 'unbounded' ? 'tool declares unbounded RBAC' : 'tool declares no RBAC metadata'})`,
            });
          return out;
        }
        if (t.reach.kind === 'bounded') return this.#escalationEdges(this.rules(id));
        return [];
      }
      case 'principal':
      case 'synthetic':
        return this.#escalationEdges(this.rules(id));
      case 'pool':
        return this.#poolEdges(id);
      case 'webhook': {
        const [cfg, hook] = id.slice('webhook:'.length).split(/\/(.*)/s) as [string, string];
        const w = this.inventory.webhooks.get(`MutatingWebhookConfiguration/${cfg}`)?.find((x) => x.webhook === hook);
        const nsKnown = this.inventory.namespaces.size > 0;
        if (!w?.namespaceSelector || !nsKnown) return [{ to: 'pool:sa:*', kind: 'member', label: 'mutates pods in' }];
        const sel = w.namespaceSelector;
        for (const ns of this.inventory.namespaces.values()) {
          if (labelSelectorMatches(sel, ns.labels))
            out.push({ to: `pool:sa:${ns.name}`, kind: 'member', label: 'mutates pods in' });
        }
        return out;
      }
      default:
        return [];
    }
  }

  #escalationEdges(rules: readonly GrantedRule[]): EdgeSpec[] {
    const out: EdgeSpec[] = [];
    const esc = escalationsOf(rules, this.#ctx);
    const hooks = new Set<string>();
    for (const e of esc) {
      out.push({ to: e.target, kind: 'escalation', label: e.label, escalation: e });
      if (CODE_EXECUTION.includes(e.kind) && this.#webhooksByNs.size > 0) {
        const nss = e.namespace === undefined ? [...this.#webhooksByNs.keys()] : [e.namespace];
        for (const ns of nss) {
          for (const w of this.#webhooksByNs.get(ns) ?? []) {
            if (hooks.has(w)) continue;
            hooks.add(w);
            out.push({
              to: w,
              kind: 'escalation',
              label: `${e.label}, where the backend of ${w.slice('webhook:'.length)} runs`,
              escalation: { ...e, target: w },
            });
          }
        }
      }
    }
    return out;
  }

  #poolEdges(id: string): EdgeSpec[] {
    const out: EdgeSpec[] = [];
    const member = (to: string) => out.push({ to, kind: 'member', label: 'includes' });
    const [, kind, ...rest] = id.split(':');
    const arg = rest.join(':');
    const perNs = (m: Map<string, Set<string>>, pool: string) => {
      if (arg === '*') for (const ns of [...m.keys()].sort()) member(`pool:${pool}:${ns}`);
      else for (const sa of [...(m.get(arg) ?? [])].sort()) member(`sa:${arg}/${sa}`);
    };
    switch (kind) {
      case 'sa':
        perNs(this.#saByNs, 'sa');
        break;
      case 'running':
        perNs(this.#runningByNs, 'running');
        break;
      case 'tokens':
        perNs(this.#tokensByNs, 'tokens');
        break;
      case 'node':
        if (arg === '*') for (const node of [...this.#runningByNode.keys()].sort()) member(`pool:node:${node}`);
        else for (const sa of [...(this.#runningByNode.get(arg) ?? [])].sort()) member(`sa:${sa}`);
        break;
      case 'users':
        for (const u of [...this.#users].sort()) member(`user:${u}`);
        break;
    }
    return out;
  }
}
