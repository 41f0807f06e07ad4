// What the access analysis needs from the gateway (src/analysis/access/gateway-grants.ts): each
// upstream's tools with their RBAC metadata (the config's mappings written in the same form), the
// identity each server runs as, and which agent could ever call which tool. The tools are asked
// of the live upstreams; "could ever call" is the same reading tools/list uses.
import type {
  GatewayConfig as AccessGatewayConfig,
  GatewayGrant,
  GatewayServer,
} from '../../analysis/access/gateway-grants.ts';
import type { CompiledPolicy } from '../../policy/compile.ts';
import type { GatewayLog } from './call-recorder.ts';
import type { GatewayConfig } from './config.ts';
import { GATEWAY_INFO } from './gateway-session.ts';
import { KindResolver } from './kinds.ts';
import { RBAC_META_KEY } from './rbac-declaration.ts';
import { buildCatalog } from './tool-catalog.ts';
import { visibleTo } from './tool-visibility.ts';
import { UpstreamLink } from './upstream-link.ts';

export async function exportForAccessAnalysis(
  config: GatewayConfig,
  policy: CompiledPolicy,
  log: GatewayLog,
): Promise<AccessGatewayConfig> {
  const links = config.servers.map(
    (c) =>
      new UpstreamLink(c, {
        clientInfo: { ...GATEWAY_INFO, title: 'Tether gateway (access export)' },
        capabilities: {},
        connectTimeoutMs: config.limits.callTimeoutMs,
        log: (m) => log.warn(m),
        events: { onRequest: async () => ({}), onNotification: () => undefined, onClosed: () => undefined },
      }),
  );
  try {
    await Promise.all(
      links.map((l) => l.client().catch((e: unknown) => log.warn(`${(e as Error).message}; its tools are left out`))),
    );
    const servers: GatewayServer[] = links.map((l) => ({
      name: l.name,
      ...(l.config.runAs ? { runAs: l.config.runAs as GatewayServer['runAs'] } : {}),
      tools: l.tools.map((t) => {
        const mapping = l.config.tools.get(t.name);
        if (!mapping) return { name: t.name, annotations: t.annotations, _meta: t._meta };
        const declared = mapping.requirements?.length
          ? { version: 'v1alpha1', bounded: { requirements: mapping.requirements } }
          : { version: 'v1alpha1', none: { reason: 'mapped by the gateway config to no Kubernetes resource' } };
        return { name: t.name, annotations: t.annotations, _meta: { ...(t._meta ?? {}), [RBAC_META_KEY]: declared } };
      }),
    }));
    const catalog = buildCatalog(
      links.map((l) => ({ config: l.config, tools: l.tools })),
      (m) => log.warn(m),
    );
    const kinds = new KindResolver(config.kinds);
    const grants: GatewayGrant[] = [];
    for (const agent of policy.agents.values()) {
      const byServer = new Map<string, string[]>();
      for (const e of catalog.entries) {
        if (!visibleTo({ kind: 'agent', agent }, e.effect, e.server, e.upstreamName, kinds)) continue;
        byServer.set(e.server, [...(byServer.get(e.server) ?? []), e.upstreamName]);
      }
      for (const [server, tools] of byServer) grants.push({ agent: agent.name, server, tools });
    }
    return { servers, grants };
  } finally {
    await Promise.all(links.map((l) => l.close()));
  }
}
