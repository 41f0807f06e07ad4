// The SCIM service provider driven over real HTTPS with the request shapes Microsoft Entra ID and
// Okta document, on both store backends: owners deactivated in the identity provider stop their
// agents at once, are ledgered and announced; malformed and unauthorized requests get SCIM errors.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { BACKENDS } from '../store/backends.ts';
import { https } from '../support/https.ts';
import { SA, startTestServer, TOKENS } from './start.ts';

const SCIM_TOKEN = 'scim-token-0123456789abcdef0123456789abcdef';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const agent = (name: string, owner: string) => ({
  apiVersion: 'tether.dev/v1alpha1',
  kind: 'Agent',
  metadata: { name },
  spec: {
    owner: { id: owner },
    authorityClass: 'autonomous',
    identities: [{ kind: 'ServiceAccount', namespace: 'agents', name }],
    boundary: {
      namespaces: ['shop'],
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'update', 'patch'] }],
    },
    breaker: { maxViolations: 50, window: '5m' },
  },
});
const POLICY = [
  {
    apiVersion: 'tether.dev/v1alpha1',
    kind: 'GovernancePolicy',
    metadata: { name: 'default' },
    spec: {
      agentSelectors: { serviceAccountNamespaces: ['agents'] },
      requireIntent: false,
      approvals: { administrators: ['root@example.com'] },
    },
  },
  agent('scaler', 'alice@example.com'),
  agent('helper', 'bob@example.com'),
  agent('teamed', 'Platform Team'),
];

/** Entra ID's create-user request (Microsoft's SCIM endpoint guide). */
const entraUser = (userName: string, externalId: string) => ({
  schemas: [USER, ENTERPRISE],
  externalId,
  userName,
  active: true,
  emails: [{ primary: true, type: 'work', value: userName }],
  meta: { resourceType: 'User' },
  name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
  roles: [],
});

type Scim = {
  status: number;
  body: Record<string, unknown> & {
    id: string;
    detail?: string;
    scimType?: string;
    status?: string;
    schemas: string[];
  };
  text: string;
};

for (const backend of BACKENDS) {
  describe(`SCIM service provider on ${backend.name}`, { skip: backend.skip }, () => {
    let s: Awaited<ReturnType<typeof startTestServer>>;
    const notices: { event: string; detail: Record<string, unknown> }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        notices.push(JSON.parse(body));
        res.end();
      });
    });
    const scim = (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
      token: string | undefined = SCIM_TOKEN,
    ) =>
      https(`${s.url}/scim/v2${path}`, {
        ca: s.caPem,
        method,
        token,
        ...(body === undefined ? {} : { raw: typeof body === 'string' ? body : JSON.stringify(body) }),
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }), ...headers },
      }) as Promise<Scim>;
    const patch = (path: string, ...ops: unknown[]) => scim('PATCH', path, { schemas: [PATCH_OP], Operations: ops });
    const decide = async (agentName: string) => {
      const r = await https<{ outcome: string; reasons: { rule: string; message: string }[] }>(`${s.url}/v1/decide`, {
        ca: s.caPem,
        token: TOKENS.root,
        body: {
          subject: { username: SA(agentName), groups: [] },
          verb: 'patch',
          target: { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web' },
        },
      });
      return r.body;
    };
    const ids: Record<string, string> = {};

    before(async () => {
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      const port = (receiver.address() as { port: number }).port;
      s = await startTestServer(await backend.fresh(), {
        policy: POLICY,
        scim: { tokenSha256: createHash('sha256').update(SCIM_TOKEN).digest('hex') },
        notifications: [{ url: `http://127.0.0.1:${port}/hook`, format: 'json' }],
      });
    });
    after(async () => {
      await s?.close();
      receiver.close();
      await backend.cleanup();
    });

    test('no token, a human token, an agent token or a wrong token: 401 in SCIM error shape; the SCIM token opens nothing else', async () => {
      for (const token of ['', TOKENS.root, TOKENS.releaseAgent, `${SCIM_TOKEN}x`]) {
        const r = await scim('GET', '/Users', undefined, {}, token);
        assert.equal(r.status, 401);
        assert.deepEqual(r.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
        assert.equal(r.body.status, '401');
      }
      const api = await https(`${s.url}/v1/whoami`, { ca: s.caPem, token: SCIM_TOKEN });
      assert.equal(api.status, 401);
    });

    test('with a directory configured, an owner it does not know is not live', async () => {
      const d = await decide('scaler');
      assert.equal(d.outcome, 'deny');
      assert.match(d.reasons[0]?.message ?? '', /alice@example.com is not in the directory/);
    });

    test('discovery: ServiceProviderConfig, ResourceTypes, Schemas', async () => {
      const spc = await scim('GET', '/ServiceProviderConfig');
      assert.equal(spc.status, 200);
      assert.deepEqual((spc.body.patch as { supported: boolean }).supported, true);
      assert.deepEqual((spc.body.etag as { supported: boolean }).supported, true);
      const types = await scim('GET', '/ResourceTypes');
      assert.deepEqual(
        (types.body.Resources as { id: string }[]).map((t) => t.id),
        ['User', 'Group'],
      );
      const schemas = await scim('GET', '/Schemas');
      assert.equal(schemas.body.totalResults, 2);
      assert.equal((await scim('GET', `/Schemas/${USER}`)).status, 200);
      assert.equal((await scim('GET', '/Schemas/nope')).status, 404);
    });

    test('Entra: create users; 201 with ETag and Location; filter by userName in any case, by externalId; duplicates refused', async () => {
      for (const [name, ext] of [
        ['alice@example.com', 'ext-alice'],
        ['bob@example.com', 'ext-bob'],
        ['dave@example.com', 'ext-dave'],
      ] as const) {
        const r = await scim('POST', '/Users', entraUser(name, ext));
        assert.equal(r.status, 201, r.text);
        assert.match(r.text, /"version":"W\/\\"1\\""/);
        ids[name] = r.body.id;
      }
      const found = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "ALICE@example.com"')}`);
      assert.equal(found.body.totalResults, 1);
      assert.equal((found.body.Resources as { id: string }[])[0]?.id, ids['alice@example.com']);
      const byExt = await scim('GET', `/Users?filter=${encodeURIComponent('externalId eq "ext-bob"')}`);
      assert.equal((byExt.body.Resources as { id: string }[])[0]?.id, ids['bob@example.com']);
      const none = await scim('GET', `/Users?filter=${encodeURIComponent('externalId eq "EXT-BOB"')}`);
      assert.equal(none.body.totalResults, 0, 'externalId is caseExact');
      const dup = await scim('POST', '/Users', entraUser('Alice@Example.com', 'other'));
      assert.equal(dup.status, 409);
      assert.equal(dup.body.scimType, 'uniqueness');
      assert.equal((await decide('scaler')).outcome, 'allow');
    });

    test('Okta: create a group with a member; a group owner with an active member is live', async () => {
      const g = await scim('POST', '/Groups', {
        schemas: [GROUP],
        displayName: 'Platform Team',
        members: [{ value: ids['dave@example.com'], display: 'dave@example.com' }],
      });
      assert.equal(g.status, 201, g.text);
      ids.team = g.body.id;
      assert.equal((await decide('teamed')).outcome, 'allow');
      assert.equal((await decide('helper')).outcome, 'allow');
    });

    test('Entra: PATCH active "False" stops the owner’s agents at once, ledgered and announced, breakers untouched; others keep working; "True" restores', async () => {
      const breakerBefore = await s.store.breaker('agent', 'scaler');
      const r = await patch(`/Users/${ids['alice@example.com']}`, { op: 'Replace', path: 'active', value: 'False' });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.active, false);
      const refused = await decide('scaler');
      assert.equal(refused.outcome, 'deny');
      assert.equal(refused.reasons[0]?.rule, 'accountability/owner-inactive');
      assert.match(refused.reasons[0]?.message ?? '', /deactivated in the directory/);
      assert.equal((await decide('helper')).outcome, 'allow');
      const leaf = (await s.store.queryLedger({ kind: 'owner', agent: 'scaler' })).at(-1);
      assert.equal(leaf?.leaf.detail?.event, 'owner-inactive');
      assert.equal(leaf?.leaf.owner, 'alice@example.com');
      assert.deepEqual(await s.store.breaker('agent', 'scaler'), breakerBefore);
      // Notifications are best effort and asynchronous: wait for the one we expect.
      for (let i = 0; i < 50 && !notices.some((n) => n.event === 'owner.inactive'); i++)
        await new Promise((r) => setTimeout(r, 50));
      const notice = notices.find((n) => n.event === 'owner.inactive');
      assert.equal(notice?.detail.agent, 'scaler');
      assert.deepEqual(notice?.detail.notify, ['root@example.com']);
      const back = await patch(`/Users/${ids['alice@example.com']}`, { op: 'Replace', path: 'active', value: 'True' });
      assert.equal(back.body.active, true);
      assert.equal((await decide('scaler')).outcome, 'allow');
      const events = (await s.store.queryLedger({ kind: 'owner', agent: 'scaler' })).map((e) => e.leaf.detail?.event);
      // Created (live for the first time), deactivated, reactivated.
      assert.deepEqual(events, ['owner-restored', 'owner-inactive', 'owner-restored']);
    });

    test('Okta: PATCH {"op":"replace","value":{"active":false}} deactivates; a deactivated person may not approve', async () => {
      const r = await patch(`/Users/${ids['bob@example.com']}`, { op: 'replace', value: { active: false } });
      assert.equal(r.status, 200, r.text);
      assert.equal((await decide('helper')).outcome, 'deny');
      await patch(`/Users/${ids['bob@example.com']}`, { op: 'replace', value: { active: true } });
      assert.equal((await decide('helper')).outcome, 'allow');
    });

    test('group membership: Entra remove by value list, Okta add, Okta remove by members[value eq …]', async () => {
      const dave = ids['dave@example.com'] as string;
      const removed = await patch(`/Groups/${ids.team}`, {
        op: 'Remove',
        path: 'members',
        value: [{ $ref: null, value: dave }],
      });
      assert.equal(removed.status, 200, removed.text);
      assert.deepEqual(removed.body.members, []);
      const d = await decide('teamed');
      assert.equal(d.outcome, 'deny');
      assert.match(d.reasons[0]?.message ?? '', /group Platform Team has no active member/);
      const added = await patch(`/Groups/${ids.team}`, {
        op: 'add',
        path: 'members',
        value: [{ value: dave, display: 'dave@example.com' }],
      });
      assert.equal((added.body.members as unknown[]).length, 1);
      assert.equal((await decide('teamed')).outcome, 'allow');
      const again = await patch(`/Groups/${ids.team}`, {
        name: 'addMember',
        op: 'Add',
        path: 'members',
        value: [{ $ref: null, value: dave }],
      });
      assert.equal((again.body.members as unknown[]).length, 1, 'a member added twice is listed once');
      const okta = await patch(`/Groups/${ids.team}`, { op: 'remove', path: `members[value eq "${dave}"]` });
      assert.deepEqual(okta.body.members, []);
      assert.equal((await decide('teamed')).outcome, 'deny');
      await patch(`/Groups/${ids.team}`, { op: 'add', path: 'members', value: [{ value: dave }] });
      const excluded = await scim('GET', `/Groups/${ids.team}?excludedAttributes=members`);
      assert.equal(excluded.body.members, undefined);
      assert.equal(excluded.body.displayName, 'Platform Team');
    });

    test('pagination, ETags and conditional requests', async () => {
      const page = await scim('GET', '/Users?startIndex=2&count=1');
      assert.equal(page.body.totalResults, 3);
      assert.equal(page.body.startIndex, 2);
      assert.equal(page.body.itemsPerPage, 1);
      const one = await scim('GET', `/Users/${ids['dave@example.com']}`);
      const etag = one.body.meta && (one.body.meta as { version: string }).version;
      assert.equal(
        (await scim('GET', `/Users/${ids['dave@example.com']}`, undefined, { 'if-none-match': etag as string })).status,
        304,
      );
      const stale = await scim(
        'PUT',
        `/Users/${ids['dave@example.com']}`,
        { ...entraUser('dave@example.com', 'ext-dave'), displayName: 'Dave' },
        { 'if-match': 'W/"99"' },
      );
      assert.equal(stale.status, 412);
      const fresh = await scim(
        'PUT',
        `/Users/${ids['dave@example.com']}`,
        { ...entraUser('dave@example.com', 'ext-dave'), displayName: 'Dave' },
        { 'if-match': etag as string },
      );
      assert.equal(fresh.status, 200, fresh.text);
      assert.equal(fresh.body.displayName, 'Dave');
    });

    test('malformed requests: precise SCIM 4xx, nothing changed', async () => {
      const before = (await scim('GET', '/Users')).text;
      const cases: [string, string, unknown, number, string | undefined][] = [
        ['POST', '/Users', '{"userName": ', 400, 'invalidSyntax'],
        ['POST', '/Users', { schemas: [USER] }, 400, 'invalidValue'],
        ['POST', '/Users', { userName: 'x@example.com' }, 400, 'invalidValue'],
        ['POST', '/Users', { schemas: [USER], userName: 'y@example.com', active: 'maybe' }, 400, 'invalidValue'],
        [
          'POST',
          '/Users',
          JSON.parse(`{"schemas":["${USER}"],"userName":"z@example.com","__proto__":{"admin":true}}`),
          400,
          'invalidSyntax',
        ],
        [
          'POST',
          '/Users',
          { schemas: [USER], userName: 'deep@example.com', x: JSON.parse(`${'['.repeat(50)}${']'.repeat(50)}`) },
          400,
          'invalidSyntax',
        ],
        [
          'PATCH',
          `/Users/${ids['dave@example.com']}`,
          { Operations: [{ op: 'replace', path: 'active', value: false }] },
          400,
          undefined,
        ],
        [
          'PATCH',
          `/Users/${ids['dave@example.com']}`,
          { schemas: [PATCH_OP], Operations: [{ op: 'frobnicate', path: 'active' }] },
          400,
          undefined,
        ],
        [
          'PATCH',
          `/Groups/${ids.team}`,
          { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'no-such-id' }] }] },
          400,
          'invalidValue',
        ],
        [
          'PATCH',
          `/Users/${ids['dave@example.com']}`,
          { schemas: [PATCH_OP], Operations: [{ op: 'add', path: '__proto__.polluted', value: 'yes' }] },
          400,
          'invalidPath',
        ],
        [
          'PATCH',
          `/Users/${ids['dave@example.com']}`,
          { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { 'name.__proto__.polluted': 'yes' } }] },
          400,
          'invalidSyntax',
        ],
        ['PATCH', `/Users/${ids['dave@example.com']}`, { schemas: [PATCH_OP], Operations: [null] }, 400, undefined],
        [
          'PATCH',
          '/Users/no-such-id',
          { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] },
          404,
          undefined,
        ],
        ['GET', `/Users?filter=${encodeURIComponent('userName eq')}`, undefined, 400, 'invalidFilter'],
        ['GET', '/Users?count=lots', undefined, 400, 'invalidValue'],
        ['GET', '/Nope', undefined, 404, undefined],
      ];
      for (const [method, path, body, status, scimType] of cases) {
        const r = await scim(method, path, body);
        assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${r.text}`);
        assert.deepEqual(r.body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error'], r.text);
        assert.equal(r.body.status, String(status));
        if (scimType) assert.equal(r.body.scimType, scimType, r.text);
      }
      const big = await scim('POST', '/Users', {
        schemas: [USER],
        userName: 'big@example.com',
        pad: 'x'.repeat(300 * 1024),
      });
      assert.equal(big.status, 413);
      assert.equal(big.body.status, '413');
      assert.equal((await scim('GET', '/Users')).text, before, 'no refused request changed the directory');
      assert.equal(
        ({} as Record<string, unknown>).polluted,
        undefined,
        'no prototype was written (the server runs in this process)',
      );
    });

    test('deleting a user takes them out of every group: a group owner left with no one stops its agent', async () => {
      const r = await scim('DELETE', `/Users/${ids['dave@example.com']}`);
      assert.equal(r.status, 204);
      assert.equal((await scim('GET', `/Users/${ids['dave@example.com']}`)).status, 404);
      const team = await scim('GET', `/Groups/${ids.team}`);
      assert.deepEqual(team.body.members, []);
      assert.equal((await decide('teamed')).outcome, 'deny');
      assert.equal((await decide('scaler')).outcome, 'allow');
    });
  });
}
