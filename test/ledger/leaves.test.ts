// Issue 12, item 4: no value from a Secret's data or stringData reaches a message, a leaf, a log
// or a metric label. Leaves are built in one module (src/ledger/leaves.ts); this file checks the
// rule once for every kind (the Record below does not type-check when a kind is added without a
// case), and plays the attack through the real engine: a CEL condition that converts a
// Secret's PIN used to quote it in the decision message.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalJson } from '../../src/common/canonical-json.ts';
import type { Action } from '../../src/engine/action.ts';
import { decide } from '../../src/engine/decide.ts';
import { EMPTY_STATE } from '../../src/engine/state.ts';
import type { LeafKind, LedgerLeaf } from '../../src/ledger/leaf.ts';
import {
  approvalVerdictLeaf,
  auditLeaf,
  breakerLeaf,
  decisionLeaf,
  driftLeaf,
  expansionRequestLeaf,
  intentLeaf,
  killSwitchLeaf,
  ownerLeaf,
  secretValuesOf,
  specEnforcedLeaf,
  toolResultLeaf,
  expansionVerdictLeaf,
} from '../../src/ledger/leaves.ts';
import { NOW, agentDoc, governanceDoc, policyOf, sa } from '../support/policy.ts';

const PIN = 'S3CR3T-PIN-6';
const TOKEN = 'tok-9f8e7d6c5b4a';
const secretObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'pins', namespace: 'shop' },
  stringData: { pin: PIN },
  data: { token: Buffer.from(TOKEN).toString('base64') },
};
const SECRETS = secretValuesOf(secretObject);
const agentRef = {
  name: 'bot',
  owner: 'alice@example.com',
  authorityClass: 'autonomous' as const,
  mode: 'enforce' as const,
};
const secretTarget = { group: '', version: 'v1', resource: 'secrets', namespace: 'shop', name: 'pins' };
/** Text an attacker (or an error message) got a Secret value into. */
const quoting = `value ${PIN} and ${TOKEN} and ${Buffer.from(TOKEN).toString('base64')}`;

const secretAction: Action = {
  source: 'admission',
  subject: sa('bot'),
  verb: 'update',
  target: secretTarget,
  object: secretObject,
  oldObject: secretObject,
  intent: { summary: `rotate ${PIN}`, goal: quoting },
};

/** Every kind, built by its constructor with a Secret value in each piece of free text it takes. */
const BUILT: Record<LeafKind, () => LedgerLeaf> = {
  decision: () =>
    decisionLeaf(
      secretAction,
      {
        outcome: 'deny',
        governed: true,
        agent: agentRef,
        reasons: [{ rule: 'boundary/condition', message: quoting }],
        warnings: [],
        effects: [],
        policyVersion: 'v1',
      } as never,
      NOW,
    ),
  proposal: () =>
    decisionLeaf(
      secretAction,
      {
        outcome: 'deny',
        proposal: true,
        governed: true,
        agent: agentRef,
        reasons: [{ rule: 'authority/advisory', message: quoting }],
        warnings: [],
        effects: [],
        policyVersion: 'v1',
      } as never,
      NOW,
    ),
  approval: () =>
    approvalVerdictLeaf(
      {
        agent: 'bot',
        approvalId: 'apr_1',
        by: 'bob',
        verdict: 'approved',
        reason: quoting,
        status: 'approved',
        approvedBy: ['bob'],
        minApprovals: 1,
        requestIndex: 0,
      },
      NOW,
      SECRETS,
    ),
  breaker: () =>
    breakerLeaf(
      {
        scope: 'agent',
        key: 'bot',
        from: 'closed',
        to: 'open',
        by: 'tether',
        reason: quoting,
        rule: 'boundary/condition',
        cause: { index: 3 },
      },
      NOW,
      SECRETS,
    ),
  boundary: () =>
    expansionRequestLeaf(
      {
        agent: 'bot',
        expansionId: 'exp_1',
        by: 'policy',
        summary: quoting,
        specDigest: 'sha256:a',
        diffDigest: 'sha256:b',
      },
      NOW,
      SECRETS,
    ),
  drift: () =>
    driftLeaf(
      {
        time: new Date(NOW).toISOString(),
        agent: { name: 'bot', intent: { summary: quoting } },
        target: secretTarget,
        message: quoting,
        detail: { fields: [{ path: 'data.token', note: quoting }] },
      },
      SECRETS,
    ),
  audit: () =>
    auditLeaf(
      {
        agent: agentRef,
        username: sa('bot').username,
        verb: 'update',
        target: secretTarget,
        auditId: quoting,
        decidedByTether: false,
        undecided: true,
      },
      NOW,
      secretValuesOf(secretObject),
    ),
  'tool-result': () =>
    toolResultLeaf(
      {
        agent: agentRef,
        tool: { server: 'k8s', name: 'secrets_update' },
        exposedName: 'secrets_update',
        intent: { summary: quoting },
        rules: [],
        decisionIndexes: [1],
        approvals: [],
        requestId: 'r1',
        status: 'protocol-error',
        latencyMs: 1,
        error: `upstream said: ${quoting}`,
      },
      NOW,
      SECRETS,
    ),
  owner: () =>
    ownerLeaf(
      policyOf(governanceDoc(), agentDoc('bot')),
      'bot',
      { event: 'attested', by: 'alice@example.com', until: NOW + 86_400_000, reason: quoting },
      NOW,
      SECRETS,
    ),
  intent: () =>
    intentLeaf(
      {
        agent: agentRef,
        username: sa('bot').username,
        intent: { summary: quoting, goal: quoting, trigger: quoting },
        expiresAt: NOW + 60_000,
      },
      NOW,
      SECRETS,
    ),
};

const leaks = (leaf: LedgerLeaf) =>
  [PIN, TOKEN, Buffer.from(TOKEN).toString('base64')].filter((v) => canonicalJson(leaf).includes(v));

describe('no Secret value in any leaf', () => {
  for (const [kind, build] of Object.entries(BUILT)) {
    test(`${kind}: built with Secret values in every free-text input, the leaf holds none of them`, () => {
      const leaf = build();
      assert.equal(leaf.kind, kind);
      assert.deepEqual(leaks(leaf), []);
      assert.match(canonicalJson(leaf), /\[redacted\]/, 'the text is kept, the value is not');
    });
  }

  test('the other boundary constructors seal too', () => {
    for (const leaf of [
      expansionVerdictLeaf(
        {
          agent: 'bot',
          expansionId: 'e',
          by: 'root',
          verdict: 'denied',
          reason: quoting,
          specDigest: 'a',
          diffDigest: 'b',
          requestIndex: 1,
        },
        NOW,
        SECRETS,
      ),
      specEnforcedLeaf({ agent: 'bot', by: 'policy', reason: quoting, specDigest: 'a' }, NOW, SECRETS),
      killSwitchLeaf({ engaged: true, by: 'root', reason: quoting }, NOW, SECRETS),
    ])
      assert.deepEqual(leaks(leaf), []);
  });

  test("a ConfigMap's data is no secret: an intent that quotes it is kept as written", () => {
    const configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'shop-settings', namespace: 'shop' },
      data: { mode: 'fast' },
    };
    const target = { group: '', version: 'v1', resource: 'configmaps', namespace: 'shop', name: 'shop-settings' };
    const action: Action = {
      source: 'admission',
      subject: sa('bot'),
      verb: 'create',
      target,
      object: configMap,
      intent: { summary: 'switch the shop to fast mode' },
    };
    const d = {
      outcome: 'allow',
      governed: true,
      agent: agentRef,
      reasons: [],
      warnings: [],
      effects: [],
      policyVersion: 'v1',
    } as never;
    assert.equal(decisionLeaf(action, d, NOW).intent?.summary, 'switch the shop to fast mode');
    assert.deepEqual([...secretValuesOf(configMap)], []);
  });

  test('short values are not scrubbed (they would mangle ordinary text), everything from four characters is', () => {
    const s = secretValuesOf({ kind: 'Secret', stringData: { a: 'yes', b: '1234' } });
    assert.deepEqual([...s], ['1234']);
  });
});

describe("the issue's attack: int(object.stringData.pin) >= 0 on a Secret", () => {
  const policy = policyOf(
    governanceDoc(),
    agentDoc('bot', {
      boundary: {
        namespaces: ['shop'],
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['update'] }],
        conditions: [
          { name: 'pin-is-numeric', expression: 'int(object.stringData.pin) >= 0', match: { resources: ['secrets'] } },
        ],
      },
      reviewTriggers: [{ name: 'odd-pin', expression: 'uint(object.stringData.pin) > 5u' }],
    }),
  );
  const action: Action = {
    source: 'admission',
    subject: sa('bot'),
    verb: 'update',
    target: secretTarget,
    object: secretObject,
    oldObject: secretObject,
  };

  test('the decision names the condition and the error class, never the value', () => {
    const d = decide(action, policy, EMPTY_STATE, NOW);
    assert.equal(d.outcome, 'deny');
    const messages = d.reasons.map((r) => r.message).join('\n');
    assert.match(
      messages,
      /condition pin-is-numeric \(int\(object\.stringData\.pin\) >= 0\) could not be evaluated .*: type conversion failed/,
    );
    assert.doesNotMatch(messages, new RegExp(PIN));
    assert.doesNotMatch(
      JSON.stringify(d),
      new RegExp(PIN),
      'nor anywhere in the decision (effects such as a breaker reason included)',
    );
    assert.deepEqual(leaks(decisionLeaf(action, d, NOW)), []);
  });
});
