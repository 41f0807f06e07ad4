// One suite, both backends: whatever SQLite promises, PostgreSQL promises too.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Action } from '../../src/engine/action.ts';
import type { ApprovalAsk, Effect } from '../../src/engine/decision.ts';
import type { LedgerLeaf } from '../../src/ledger/leaf.ts';
import { openStore } from '../../src/store/open.ts';
import type { AgentStateNeeds, Store } from '../../src/store/store.ts';
import { BACKENDS, behindTethersBack } from './backends.ts';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
const HOUR = 3_600_000;
const WINDOW = Math.floor(T0 / HOUR) * HOUR;
const OBJ = 'deployments.apps:shop/web';

const leaf = (extra: Partial<LedgerLeaf> = {}, at = T0): LedgerLeaf => ({
  v: 1,
  time: new Date(at).toISOString(),
  kind: 'decision',
  agent: 'scaler',
  owner: 'alice',
  ...extra,
});

const action = (extra: Partial<Action> = {}): Action => ({
  source: 'api',
  subject: { username: 'system:serviceaccount:agents:scaler', groups: [] },
  verb: 'update',
  target: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web' },
  ...extra,
});

const needs: AgentStateNeeds = {
  name: 'scaler',
  budgets: [{ id: 'scaler/1h', windowMs: HOUR }],
  breakerWindowMs: 300_000,
  rateWindowMs: 60_000,
  oscillation: { fields: ['spec.replicas'], windowMs: 600_000 },
};

const budget = (
  objectKey = OBJ,
  limits: { maxMutations?: number; maxDistinctObjects?: number } = { maxMutations: 10 },
): Effect => ({
  kind: 'budget.consume',
  agent: 'scaler',
  budgetId: 'scaler/1h',
  windowStart: WINDOW,
  windowMs: HOUR,
  objectKey,
  ...limits,
});

const ask = (extra: Partial<ApprovalAsk> = {}): ApprovalAsk => ({
  agent: 'scaler',
  actionDigest: 'sha256:abc',
  summary: 'scaler asks to update deployments web',
  rules: ['authority/supervised-approval'],
  approvers: ['alice', 'bob'],
  minApprovals: 1,
  ttlMs: HOUR,
  ...extra,
});

for (const backend of BACKENDS) {
  describe(`store on ${backend.name}`, { skip: backend.skip }, () => {
    const stores: Store[] = [];
    const open = async (url?: string) => {
      const s = await openStore(url ?? (await backend.fresh()));
      stores.push(s);
      return s;
    };
    after(async () => {
      for (const s of stores) await s.close().catch(() => undefined);
      await backend.cleanup();
    });

    test('migrations run on open and are safe to run again, also from several openers at once', async () => {
      const url = await backend.fresh();
      const [a, b, c] = await Promise.all([open(url), open(url), open(url)]);
      await (a as Store).append(leaf());
      const again = await open(url);
      assert.equal(await again.ledgerSize(), 1);
      assert.equal(await (b as Store).ledgerSize(), 1);
      assert.equal(await (c as Store).ledgerSize(), 1);
    });

    test('appends get consecutive indexes and each entry commits to its own position', async () => {
      const s = await open();
      const indexes = await Promise.all(Array.from({ length: 50 }, (_, i) => s.append(leaf({ detail: { i } }))));
      assert.deepEqual(
        indexes,
        Array.from({ length: 50 }, (_, i) => i),
      );
      assert.equal(await s.ledgerSize(), 50);
      const entries = await s.entries(10, 13);
      assert.deepEqual(
        entries.map((e) => e.index),
        [10, 11, 12],
      );
      for (const e of entries) {
        assert.equal(e.leaf.index, e.index);
        assert.equal(e.leafHash.length, 32);
        assert.equal(JSON.stringify(JSON.parse(e.data)), e.data, 'stored as compact canonical JSON');
      }
    });

    test('ledger queries by agent, owner, actor, object, kind, time range and index', async () => {
      const s = await open();
      const target = { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web' };
      await s.append(leaf({ agent: 'a', owner: 'o1', target }, T0));
      await s.append(leaf({ agent: 'b', owner: 'o2', kind: 'proposal' }, T0 + 1000));
      await s.append(leaf({ agent: 'a', owner: 'o1', kind: 'approval', actor: 'bob' }, T0 + 2000));
      const idx = async (q: Parameters<Store['queryLedger']>[0]) => (await s.queryLedger(q)).map((e) => e.index);
      assert.deepEqual(await idx({ agent: 'a' }), [0, 2]);
      assert.deepEqual(await idx({ owner: 'o2' }), [1]);
      assert.deepEqual(await idx({ actor: 'bob' }), [2]);
      assert.deepEqual(await idx({ object: OBJ }), [0]);
      assert.deepEqual(await idx({ kind: 'proposal' }), [1]);
      assert.deepEqual(await idx({ since: T0 + 500, until: T0 + 2000 }), [1]);
      assert.deepEqual(await idx({ agent: 'a', fromIndex: 1 }), [2]);
      assert.deepEqual(await idx({ limit: 2 }), [0, 1]);
    });

    test('stateFor on a fresh store: everything closed, empty and zero; unforeseen questions throw', async () => {
      const s = await open();
      const a = action({
        chain: { id: 'c1', depth: 1, path: ['planner'], parentActionId: 'p1' },
        approvalId: 'apr_missing',
      });
      const st = await s.stateFor(needs, a, T0);
      assert.deepEqual(st.killSwitch(), { engaged: false });
      assert.equal(st.breaker('agent', 'scaler').state, 'closed');
      assert.equal(st.breaker('chain', 'c1').state, 'closed');
      assert.deepEqual(st.budgetUsage('scaler/1h', WINDOW, OBJ), {
        mutations: 0,
        distinctObjects: 0,
        includesObject: false,
      });
      assert.equal(st.approval('apr_missing'), undefined);
      assert.equal(st.violationsSince('scaler', T0 - 300_000), 0);
      assert.equal(st.mutationsSince('scaler', T0 - 60_000), 0);
      assert.deepEqual(st.fieldHistory(OBJ, 'spec.replicas', T0 - 600_000), []);
      assert.deepEqual(st.chainCallees('c1', 'p1'), []);
      assert.throws(() => st.violationsSince('scaler', T0 - 1), /not prefetched/);
      assert.throws(() => st.breaker('agent', 'someone-else'), /not prefetched/);
      const unresolved = await s.stateFor(undefined, a, T0);
      assert.deepEqual(unresolved.killSwitch(), { engaged: false });
    });

    test('commit applies every effect with the leaf, and stateFor sees them', async () => {
      const s = await open();
      const a = action({ chain: { id: 'c1', depth: 1, path: ['planner'], parentActionId: 'p1' } });
      const r = await s.commit(
        leaf(),
        [
          budget(),
          { kind: 'mutation.record', agent: 'scaler' },
          { kind: 'violation.record', agent: 'scaler', rule: 'boundary/rule' },
          { kind: 'field.record', objectKey: OBJ, field: 'spec.replicas', value: '3', actor: 'scaler' },
          { kind: 'chain.record', chainId: 'c1', parent: 'p1', callee: 'scaler' },
          {
            kind: 'proposal.record',
            agent: 'scaler',
            actionDigest: 'sha256:p',
            rules: ['authority/advisory-proposal'],
          },
          { kind: 'breaker.trip', scope: 'chain', key: 'c1', reason: 'runaway chain', rule: 'chain/depth' },
        ],
        T0,
      );
      assert.deepEqual(r, { ok: true, index: 0, approvalId: undefined });
      const st = await s.stateFor(needs, a, T0 + 1);
      assert.deepEqual(st.budgetUsage('scaler/1h', WINDOW, OBJ), {
        mutations: 1,
        distinctObjects: 1,
        includesObject: true,
      });
      assert.equal(st.mutationsSince('scaler', T0 + 1 - 60_000), 1);
      assert.equal(st.violationsSince('scaler', T0 + 1 - 300_000), 1);
      assert.deepEqual(st.fieldHistory(OBJ, 'spec.replicas', T0 + 1 - 600_000), [
        { value: '3', at: T0, actor: 'scaler' },
      ]);
      assert.deepEqual(st.chainCallees('c1', 'p1'), ['scaler']);
      assert.equal(st.breaker('chain', 'c1').state, 'open');
      const [p] = await s.proposals({ agent: 'scaler' });
      assert.equal(p?.ledgerIndex, 0);
      assert.deepEqual(p?.rules, ['authority/advisory-proposal']);
      // The trip is a ledger entry of its own, after the decision that caused it.
      const entries = await s.entries(0, 10);
      assert.deepEqual(
        entries.map((e) => e.leaf.kind),
        ['decision', 'breaker'],
      );
      assert.deepEqual(entries[1]?.leaf.detail, { scope: 'chain', key: 'c1', from: 'closed', to: 'open', cause: 0 });
      const [t] = await s.breakerHistory('chain', 'c1');
      assert.equal(t?.ledgerIndex, 1);
      assert.equal(t?.by, 'tether');
    });

    test('a budget refuses the commit that would overflow it, and writes nothing for it', async () => {
      const s = await open();
      for (let i = 0; i < 3; i++)
        assert.equal((await s.commit(leaf(), [budget(`${OBJ}${i}`, { maxMutations: 3 })], T0)).ok, true);
      const r = await s.commit(
        leaf(),
        [budget('another', { maxMutations: 3 }), { kind: 'mutation.record', agent: 'scaler' }],
        T0,
      );
      assert.deepEqual(r, { ok: false, conflict: 'budget', id: 'scaler/1h' });
      assert.equal(await s.ledgerSize(), 3);
      const st = await s.stateFor(needs, action(), T0);
      assert.equal(st.budgetUsage('scaler/1h', WINDOW, OBJ).mutations, 3);
      assert.equal(st.mutationsSince('scaler', T0 - 60_000), 0);
    });

    test('distinct objects: the same object again fits, a new one past the limit does not', async () => {
      const s = await open();
      const lim = { maxDistinctObjects: 2 };
      assert.equal((await s.commit(leaf(), [budget('o1', lim)], T0)).ok, true);
      assert.equal((await s.commit(leaf(), [budget('o2', lim)], T0)).ok, true);
      assert.equal((await s.commit(leaf(), [budget('o1', lim)], T0)).ok, true);
      assert.equal((await s.commit(leaf(), [budget('o3', lim)], T0)).ok, false);
      const st = await s.stateFor(needs, action(), T0);
      assert.deepEqual(st.budgetUsage('scaler/1h', WINDOW, OBJ), {
        mutations: 3,
        distinctObjects: 2,
        includesObject: false,
      });
    });

    test('concurrent check-and-increment never passes the limit', async () => {
      const s = await open();
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => s.commit(leaf(), [budget(`o${i % 7}`, { maxMutations: 25 })], T0)),
      );
      assert.equal(results.filter((r) => r.ok).length, 25);
      assert.equal(await s.ledgerSize(), 25);
      assert.equal((await s.stateFor(needs, action(), T0)).budgetUsage('scaler/1h', WINDOW, OBJ).mutations, 25);
    });

    test('a commit that fails half-way leaves no trace, and does not take its batch-mates down', async () => {
      const s = await open();
      const broken = s.commit(
        leaf(),
        [budget(), { kind: 'chain.record', chainId: null as unknown as string, parent: 'p', callee: 'x' }],
        T0,
      );
      const fine = Promise.all([s.commit(leaf({ agent: 'x' }), [], T0), s.commit(leaf({ agent: 'y' }), [], T0)]);
      await assert.rejects(broken);
      assert.deepEqual(
        (await fine).map((r) => r.ok),
        [true, true],
      );
      assert.equal(await s.ledgerSize(), 2);
      assert.equal((await s.stateFor(needs, action(), T0)).budgetUsage('scaler/1h', WINDOW, OBJ).mutations, 0);
      const verdictOf = (await s.entries(0, 2)).map((e) => e.leaf.agent).sort();
      assert.deepEqual(verdictOf, ['x', 'y']);
    });

    test('a pending decision opens one approval request, reused while it is pending', async () => {
      const s = await open();
      const r1 = await s.commit(leaf({ decision: 'pending' }), [], T0, { approvalAsk: ask() });
      const r2 = await s.commit(leaf({ decision: 'pending' }), [], T0 + 10, { approvalAsk: ask() });
      assert.ok(r1.ok && r2.ok);
      assert.match(r1.approvalId ?? '', /^apr_/);
      assert.equal(r2.approvalId, r1.approvalId);
      const [e0] = await s.entries(0, 1);
      assert.equal(e0?.leaf.approvalRequest, r1.approvalId);
      const a = await s.approval(r1.approvalId as string);
      assert.equal(a?.status, 'pending');
      assert.equal(a?.requestIndex, 0);
      assert.equal(a?.expiresAt, T0 + HOUR);
      assert.equal((await s.approvals({ status: 'pending', agent: 'scaler' })).length, 1);
    });

    test('multi-approver: approved once enough distinct people agree; each verdict is ledgered', async () => {
      const s = await open();
      const r = await s.commit(leaf({ decision: 'pending' }), [], T0, { approvalAsk: ask({ minApprovals: 2 }) });
      assert.ok(r.ok);
      const id = r.approvalId as string;
      const v1 = await s.decideApproval(id, { by: 'alice', verdict: 'approved', reason: 'looks right' }, T0 + 1000);
      assert.ok(v1.ok);
      assert.equal(v1.approval.status, 'pending');
      const again = await s.decideApproval(id, { by: 'alice', verdict: 'approved', reason: 'me again' }, T0 + 2000);
      assert.equal(again.ok, false);
      const v2 = await s.decideApproval(id, { by: 'bob', verdict: 'approved', reason: 'agreed' }, T0 + 3000);
      assert.ok(v2.ok);
      assert.equal(v2.approval.status, 'approved');
      assert.deepEqual(v2.approval.approvedBy, ['alice', 'bob']);
      assert.equal(v2.approval.expiresAt, T0 + 3000 + HOUR, 'the TTL for using it starts at approval');
      const entries = await s.queryLedger({ kind: 'approval' });
      assert.deepEqual(
        entries.map((e) => e.leaf.actor),
        ['alice', 'bob'],
      );
      assert.deepEqual(
        entries.map((e) => e.leaf.approvals),
        [[id], [id]],
      );
      const st = await s.stateFor(needs, action({ approvalId: id }), T0 + 4000);
      assert.equal(st.approval(id)?.status, 'approved');
      assert.equal(st.approvalFor('scaler', 'sha256:abc')?.id, id);
      const late = await s.decideApproval(id, { by: 'carol', verdict: 'denied', reason: 'too late' }, T0 + 5000);
      assert.equal(late.ok, false);
    });

    test('one denial denies; an expired request takes no verdict', async () => {
      const s = await open();
      const r1 = await s.commit(leaf(), [], T0, { approvalAsk: ask({ minApprovals: 2 }) });
      const r2 = await s.commit(leaf(), [], T0, { approvalAsk: ask({ actionDigest: 'sha256:other', ttlMs: 1000 }) });
      assert.ok(r1.ok && r2.ok);
      const d = await s.decideApproval(r1.approvalId as string, { by: 'bob', verdict: 'denied', reason: 'no' }, T0 + 1);
      assert.ok(d.ok && d.approval.status === 'denied');
      const expired = await s.decideApproval(
        r2.approvalId as string,
        { by: 'bob', verdict: 'approved', reason: 'ok' },
        T0 + 5000,
      );
      assert.ok(!expired.ok && /expired/.test(expired.why));
      assert.equal(
        (await s.decideApproval('apr_nope', { by: 'bob', verdict: 'approved', reason: 'ok' }, T0)).ok,
        false,
      );
    });

    test('a single-use approval passes exactly one of several concurrent uses', async () => {
      const s = await open();
      const r = await s.commit(leaf(), [], T0, { approvalAsk: ask() });
      assert.ok(r.ok);
      const id = r.approvalId as string;
      assert.ok((await s.decideApproval(id, { by: 'alice', verdict: 'approved', reason: 'ok' }, T0)).ok);
      const uses = await Promise.all(
        Array.from({ length: 5 }, () =>
          s.commit(leaf({ approvals: [id] }), [{ kind: 'approval.consume', approvalId: id }], T0 + 10),
        ),
      );
      assert.equal(uses.filter((u) => u.ok).length, 1);
      assert.deepEqual(
        uses.find((u) => !u.ok),
        { ok: false, conflict: 'approval', id },
      );
      assert.equal((await s.approval(id))?.usesLeft, 0);
    });

    test('breakers: trip, reset to half-open by a person, closed by the next allowed mutation', async () => {
      const s = await open();
      await s.commit(
        leaf(),
        [{ kind: 'breaker.trip', scope: 'agent', key: 'scaler', reason: '3 refusals', rule: 'boundary/rule' }],
        T0,
      );
      assert.equal((await s.breaker('agent', 'scaler')).state, 'open');
      const closedReset = await s.resetBreaker('agent', 'nobody', { by: 'alice', reason: 'x' }, T0);
      assert.ok(!closedReset.ok && /closed/.test(closedReset.why));
      // A close that arrives for a breaker that is open (tripped meanwhile) changes nothing.
      await s.commit(leaf(), [{ kind: 'breaker.close', scope: 'agent', key: 'scaler' }], T0 + 1);
      assert.equal((await s.breaker('agent', 'scaler')).state, 'open');
      const reset = await s.resetBreaker('agent', 'scaler', { by: 'alice', reason: 'fixed the HPA fight' }, T0 + 2);
      assert.ok(reset.ok);
      assert.equal((await s.stateFor(needs, action(), T0 + 3)).breaker('agent', 'scaler').state, 'half-open');
      await s.commit(leaf(), [{ kind: 'breaker.close', scope: 'agent', key: 'scaler' }], T0 + 4);
      assert.equal((await s.breaker('agent', 'scaler')).state, 'closed');
      const history = await s.breakerHistory('agent', 'scaler');
      assert.deepEqual(
        history.map((h) => [h.from, h.to, h.by]),
        [
          ['closed', 'open', 'tether'],
          ['open', 'half-open', 'alice'],
          ['half-open', 'closed', 'tether'],
        ],
      );
      const resetEntry = (
        await s.entries(history[1]?.ledgerIndex as number, (history[1]?.ledgerIndex as number) + 1)
      )[0];
      assert.equal(resetEntry?.leaf.kind, 'breaker');
      assert.equal(resetEntry?.leaf.actor, 'alice');
      assert.equal(resetEntry?.leaf.message, 'fixed the HPA fight');
      assert.deepEqual(
        (await s.breakers()).map((b) => `${b.scope}:${b.key}:${b.state}`),
        ['agent:scaler:closed'],
      );
    });

    test('kill switch: set and released with who and why, ledgered, seen by every decision', async () => {
      const s = await open();
      assert.deepEqual(await s.killSwitch(), { engaged: false });
      const { index } = await s.setKillSwitch(true, { by: 'root@example.com', reason: 'incident 42' }, T0);
      assert.deepEqual(await s.killSwitch(), { engaged: true, reason: 'incident 42', by: 'root@example.com', at: T0 });
      assert.deepEqual((await s.stateFor(undefined, action(), T0)).killSwitch(), {
        engaged: true,
        reason: 'incident 42',
      });
      const [e] = await s.entries(index, index + 1);
      assert.deepEqual(e?.leaf.detail, { killSwitch: 'engaged' });
      await s.setKillSwitch(false, { by: 'root@example.com', reason: 'resolved' }, T0 + 1);
      assert.equal((await s.stateFor(needs, action(), T0 + 2)).killSwitch().engaged, false);
    });

    test('boundary expansions: pending until approved, superseded by a newer request; narrowing applies at once', async () => {
      const s = await open();
      assert.equal(await s.enforcedAgent('scaler'), undefined);
      const first = await s.requestExpansion(
        { agent: 'scaler', requestedSpec: { budgets: 40 }, diffDigest: 'sha256:d1', by: 'alice' },
        T0,
      );
      const second = await s.requestExpansion(
        { agent: 'scaler', requestedSpec: { budgets: 50 }, diffDigest: 'sha256:d2', by: 'alice', summary: 'more' },
        T0 + 1,
      );
      assert.equal((await s.expansion(first.id))?.status, 'superseded');
      assert.equal(
        (await s.decideExpansion(first.id, { by: 'bob', verdict: 'approved', reason: 'ok' }, T0 + 2)).ok,
        false,
      );
      assert.deepEqual(
        (await s.expansions({ status: 'pending' })).map((e) => e.id),
        [second.id],
      );
      const ok = await s.decideExpansion(second.id, { by: 'bob', verdict: 'approved', reason: 'traffic peak' }, T0 + 3);
      assert.ok(ok.ok);
      const enforced = await s.enforcedAgent('scaler');
      assert.deepEqual(enforced?.spec, { budgets: 50 });
      assert.equal(enforced?.by, 'bob');
      assert.equal(enforced?.ledgerIndex, ok.index);
      await s.enforceSpec('scaler', { budgets: 10 }, { by: 'alice', reason: 'narrowing' }, T0 + 4);
      assert.deepEqual((await s.enforcedAgent('scaler'))?.spec, { budgets: 10 });
      const kinds = (await s.queryLedger({ kind: 'boundary' })).map((e) => e.leaf.detail);
      assert.equal(kinds.length, 4);
    });

    test('field changes seen by audit feed the oscillation history', async () => {
      const s = await open();
      await s.recordFieldChange({
        objectKey: OBJ,
        field: 'spec.replicas',
        value: '5',
        actor: 'system:serviceaccount:kube-system:horizontal-pod-autoscaler',
        at: T0 - 1000,
      });
      await s.commit(
        leaf(),
        [{ kind: 'field.record', objectKey: OBJ, field: 'spec.replicas', value: '3', actor: 'scaler' }],
        T0,
      );
      const h = (await s.stateFor(needs, action(), T0 + 1)).fieldHistory(OBJ, 'spec.replicas', T0 + 1 - 600_000);
      assert.deepEqual(
        h.map((c) => c.value),
        ['5', '3'],
      );
    });

    test('checkpoints are stored once per size and key, oldest first', async () => {
      const s = await open();
      const c = { size: 3, root: Buffer.alloc(32, 7), time: T0, keyId: 'k1', signature: Buffer.alloc(64, 1) };
      await s.saveCheckpoint(c);
      await s.saveCheckpoint(c);
      await s.saveCheckpoint({ ...c, size: 1 });
      assert.deepEqual(
        (await s.checkpoints()).map((x) => x.size),
        [1, 3],
      );
      assert.deepEqual((await s.checkpoints())[1], c);
    });

    test('leaf hashes and raw rows show a gap as a missing index', async () => {
      const url = await backend.fresh();
      const s = await open(url);
      for (let i = 0; i < 5; i++) await s.append(leaf({ detail: { i } }));
      assert.equal((await s.leafHashes(0, 5)).length, 5);
      await behindTethersBack(url, 'DELETE FROM ledger WHERE idx = ?', [2]);
      assert.deepEqual(
        (await s.ledgerRows(0, 10)).map((r) => r.index),
        [0, 1, 3, 4],
      );
    });

    test('prune drops runtime rows no window reaches, never the ledger', async () => {
      const s = await open();
      await s.commit(
        leaf(),
        [
          budget(),
          { kind: 'mutation.record', agent: 'scaler' },
          { kind: 'violation.record', agent: 'scaler', rule: 'boundary/rule' },
        ],
        T0,
      );
      await s.prune(T0 + 2 * HOUR);
      const later = T0 + 2 * HOUR;
      const st = await s.stateFor({ ...needs, breakerWindowMs: 10 * HOUR, rateWindowMs: 10 * HOUR }, action(), later);
      assert.equal(st.violationsSince('scaler', later - 10 * HOUR), 0);
      assert.equal(st.mutationsSince('scaler', later - 10 * HOUR), 0);
      assert.equal(await s.ledgerSize(), 1);
    });
  });
}
