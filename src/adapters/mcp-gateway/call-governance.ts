// One tools/call → Actions → the Governor's decisions → forward, or answer with the refusal or
// the approval to wait for. Translation only: every yes and no comes from the engine.
import { digestOf } from '../../common/digest.ts';
import { type Action, type ChainContext, type Intent, isMutation, type ToolCall } from '../../engine/action.ts';
import type { AgentRef, Outcome } from '../../engine/decision.ts';
import { actionDigest } from '../../engine/digest.ts';
import { resolveAgent } from '../../engine/rules/accountability.ts';
import type { CompiledPolicy } from '../../policy/compile.ts';
import type { GovernedDecision } from '../../service/governor.ts';
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import type { StoredApproval } from '../../store/store.ts';
import { APPROVAL_KEY, CHAIN_KEY } from '../shared/context-carriers.ts';
import { DecodeError } from '../shared/decode-error.ts';
import type { Caller } from './caller-identity.ts';
import { forwardedChainMeta, type IncomingChain, readIncomingChain } from './chain-propagation.ts';
import { takeIntent } from './intent-argument.ts';
import { manifestArguments, stampManifests } from './manifest-context.ts';
import type { KindResolver } from './kinds.ts';
import { type DecidedAction, invalidCallResult, pendingResult, refusedResult } from './refusal-results.ts';
import type { CallRecord } from './tool-call-record.ts';
import type { CatalogEntry } from './tool-catalog.ts';
import { type Operation, operationsFor } from './tool-actions.ts';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** What the gateway needs of the Governor (src/service/governor.ts) and its store. */
export interface GatewayGovernor {
  readonly policy: CompiledPolicy;
  decide(action: Action): Promise<GovernedDecision>;
  decideAll(actions: readonly Action[]): Promise<(GovernedDecision & { readonly position: number })[]>;
  readonly store: {
    append(leaf: LedgerLeaf, opts?: { readonly soon?: boolean }): Promise<number>;
    approval(id: string): Promise<StoredApproval | undefined>;
  };
}

export interface ToolCallInput {
  readonly caller: Caller;
  readonly entry: CatalogEntry;
  readonly args: Readonly<Record<string, unknown>>;
  readonly meta?: Readonly<Record<string, unknown>>;
  readonly requestId: string;
  readonly defaultNamespace?: string;
  readonly kinds: KindResolver;
}

export type Governed =
  | {
      readonly kind: 'forward';
      readonly args: Record<string, unknown>;
      readonly chainMeta: Record<string, unknown>;
      readonly decided: readonly DecidedAction[];
      readonly record: CallRecord;
    }
  | {
      readonly kind: 'answer';
      readonly result: CallToolResult;
      readonly status: 'refused' | 'pending' | 'invalid';
      readonly record: CallRecord;
    };

/** `_meta["tether.dev/approval"]`: one approval id, or several when one call needed several. */
function approvalIds(meta: Readonly<Record<string, unknown>> | undefined): string[] {
  const raw = meta?.[APPROVAL_KEY];
  if (raw === undefined || raw === null || raw === '') return [];
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.some((x) => typeof x !== 'string' || x === ''))
    throw new DecodeError(`_meta["${APPROVAL_KEY}"]`, 'must be an approval id or a list of them');
  return list as string[];
}

function describe(op: Operation): string {
  const t = op.target;
  return `${op.verb} ${t.resource}${t.subresource ? `/${t.subresource}` : ''}${t.group ? `.${t.group}` : ''}${t.name ? ` ${t.name}` : ''}${t.namespace ? ` in ${t.namespace}` : ''}`;
}

/**
 * Presented approvals go to the Action they approve (matched by action digest), so the engine
 * consumes each where it belongs; one that matches nothing goes to the first mutation, where the
 * engine says precisely why it does not apply.
 */
async function withApprovals(actions: Action[], ids: readonly string[], gov: GatewayGovernor): Promise<Action[]> {
  if (ids.length === 0) return actions;
  const out = [...actions];
  const digests = out.map((a) => (isMutation(a.verb) ? actionDigest(a) : undefined));
  const unmatched: string[] = [];
  for (const id of ids) {
    const stored = await gov.store.approval(id);
    const i = stored ? digests.findIndex((d, j) => d === stored.actionDigest && out[j]?.approvalId === undefined) : -1;
    if (i >= 0) out[i] = { ...(out[i] as Action), approvalId: id };
    else unmatched.push(id);
  }
  for (const id of unmatched) {
    const i = out.findIndex((a) => isMutation(a.verb) && a.approvalId === undefined);
    if (i >= 0) out[i] = { ...(out[i] as Action), approvalId: id };
  }
  return out;
}

function combinedOutcome(decided: readonly DecidedAction[]): Outcome {
  if (decided.some((d) => d.decision.outcome === 'deny')) return 'deny';
  return decided.some((d) => d.decision.outcome === 'pending') ? 'pending' : 'allow';
}

export async function governToolCall(input: ToolCallInput, gov: GatewayGovernor): Promise<Governed> {
  const { entry, caller } = input;
  const tool: ToolCall = { server: entry.server, name: entry.upstreamName };
  const baseRecord = {
    tool,
    exposedName: entry.exposedName,
    rules: [],
    decisionIndexes: [],
    approvals: [],
    requestId: input.requestId,
  };
  let intent: Intent | undefined;
  let args: Record<string, unknown>;
  let incoming: IncomingChain;
  let approvals: string[];
  let operations: Operation[];
  let argumentsDigest: string;
  try {
    ({ intent, args } = takeIntent(input.args, input.meta, entry.upstreamOwnsIntent));
    incoming = readIncomingChain(input.meta);
    approvals = approvalIds(input.meta);
    argumentsDigest = digestOf(args);
    operations = operationsFor(entry.effect, args, {
      server: entry.server,
      tool: entry.upstreamName,
      defaultNamespace: input.defaultNamespace,
      kinds: input.kinds,
    });
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    const who = resolveAgent(caller.subject, gov.policy);
    const agent =
      who.kind === 'agent'
        ? {
            name: who.agent.name,
            owner: who.agent.spec.owner.id,
            authorityClass: who.agent.authorityClass,
            mode: who.agent.mode,
          }
        : undefined;
    return {
      kind: 'answer',
      status: 'invalid',
      result: invalidCallResult(entry.exposedName, e.message),
      record: { ...baseRecord, governed: who.kind !== 'not-an-agent', agent },
    };
  }
  const toolCall: ToolCall = { ...tool, argumentsDigest };
  // Reads first: a call refused for what it would read never spends budget on what it would change.
  const ordered = [...operations.filter((o) => !isMutation(o.verb)), ...operations.filter((o) => isMutation(o.verb))];
  const unapproved: Action[] = ordered.map((op) => ({
    source: 'mcp',
    subject: caller.subject,
    verb: op.verb,
    target: op.target,
    ...(op.object === undefined ? {} : { object: op.object }),
    tool: toolCall,
    intent,
    chain: incoming.chain,
    requestId: input.requestId,
  }));
  const actions = await withApprovals(unapproved, approvals, gov);

  // All or nothing: a call refused for one operation spends no budget on the others.
  const decided: DecidedAction[] = (await gov.decideAll(actions)).map((g) => ({
    description: describe(ordered[g.position] as Operation),
    decision: g.decision,
    ledgerIndex: g.ledgerIndex,
    approvalId: g.approvalId,
  }));
  const outcome = combinedOutcome(decided);
  const agent = decided
    .map((d) => ('agent' in d.decision ? d.decision.agent : undefined))
    .find((a): a is AgentRef => a !== undefined);
  const record: CallRecord = {
    ...baseRecord,
    governed: decided.some((d) => d.decision.governed),
    tool: toolCall,
    agent,
    intent,
    chain: incoming.chain,
    outcome,
    rules: [...new Set(decided.flatMap((d) => d.decision.reasons.map((r) => r.rule)))],
    decisionIndexes: decided.flatMap((d) => (d.ledgerIndex === undefined ? [] : [d.ledgerIndex])),
    approvals: [...new Set([...approvals, ...decided.flatMap((d) => (d.approvalId ? [d.approvalId] : []))])],
    policyVersion: decided[0]?.decision.policyVersion,
  };
  if (outcome === 'deny')
    return {
      kind: 'answer',
      status: 'refused',
      result: refusedResult(entry.exposedName, decided, actions.length - decided.length),
      record,
    };
  if (outcome === 'pending')
    return { kind: 'answer', status: 'pending', result: pendingResult(entry.exposedName, decided), record };
  const chainMeta = forwardedChainMeta(incoming, agent?.name);
  const forwarded = stampManifests(args, manifestArguments(entry.effect), {
    intent,
    chain: chainMeta[CHAIN_KEY] as ChainContext,
  });
  return { kind: 'forward', args: forwarded, chainMeta, decided, record };
}
