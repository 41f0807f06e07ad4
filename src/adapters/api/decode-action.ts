// A JSON Action (decision API, SDK, `tether decide --action`) → Action, with precise errors.
import type { Action, ActionSource, Target } from '../../engine/action.ts';
import { parseChain, parseIntent } from '../shared/context-carriers.ts';
import { DecodeError, optionalString, requireObject, requireString, stringArray } from '../shared/decode-error.ts';

const SOURCES: readonly ActionSource[] = ['admission', 'authorization', 'audit', 'mcp', 'api'];

export function decodeAction(body: unknown, path = 'action'): Action {
  const o = requireObject(body, path);
  const subject = requireObject(o.subject, `${path}.subject`);
  const t = requireObject(o.target, `${path}.target`);
  const target: Target = {
    group: requireString(t.group ?? '', `${path}.target.group`, { allowEmpty: true }),
    version: requireString(t.version ?? 'v1', `${path}.target.version`),
    resource: requireString(t.resource, `${path}.target.resource`),
    subresource: optionalString(t.subresource, `${path}.target.subresource`) || undefined,
    namespace: optionalString(t.namespace, `${path}.target.namespace`) || undefined,
    name: optionalString(t.name, `${path}.target.name`) || undefined,
  };
  const source = (o.source ?? 'api') as ActionSource;
  if (!SOURCES.includes(source)) throw new DecodeError(`${path}.source`, `must be one of ${SOURCES.join(', ')}`);
  if (o.dryRun !== undefined && typeof o.dryRun !== 'boolean')
    throw new DecodeError(`${path}.dryRun`, 'must be a boolean');
  const oidc = subject.oidc === undefined ? undefined : requireObject(subject.oidc, `${path}.subject.oidc`);
  return {
    source,
    subject: {
      username: requireString(subject.username, `${path}.subject.username`),
      groups: stringArray(subject.groups, `${path}.subject.groups`),
      uid: optionalString(subject.uid, `${path}.subject.uid`),
      oidc: oidc
        ? {
            issuer: requireString(oidc.issuer, `${path}.subject.oidc.issuer`),
            subject: requireString(oidc.subject, `${path}.subject.oidc.subject`),
          }
        : undefined,
      mcpClientId: optionalString(subject.mcpClientId, `${path}.subject.mcpClientId`),
    },
    verb: requireString(o.verb, `${path}.verb`),
    target,
    object: o.object === null ? undefined : o.object,
    oldObject: o.oldObject === null ? undefined : o.oldObject,
    intent: parseIntent(o.intent, `${path}.intent`),
    chain: parseChain(o.chain, `${path}.chain`),
    dryRun: o.dryRun as boolean | undefined,
    approvalId: optionalString(o.approvalId, `${path}.approvalId`),
    requestId: optionalString(o.requestId, `${path}.requestId`),
  };
}
