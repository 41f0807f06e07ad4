// Issue 12, item 3 through a real `tether serve` over HTTPS: the signing key kept outside the data
// directory, checkpoints published to a witness directory, and the routes a witness polls.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ledgerVerify } from '../../src/cli/commands/ledger.ts';
import { KEY_ENV, locateSigningKey, newSigningKeyPem, SIGNING_KEY_FILE } from '../../src/ledger/checkpoint.ts';
import { verifyConsistency } from '../../src/ledger/proof.ts';
import { fromPublished } from '../../src/ledger/witness.ts';
import { loadConfig } from '../../src/server/config.ts';
import { openLedger, witnessLedger } from '../../src/server/ledger-setup.ts';
import { openStore } from '../../src/store/open.ts';
import { witnessOnce } from '../../src/cli/commands/ledger-witness.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { https } from '../support/https.ts';
import { rewriteAndRelink } from '../support/ledger-attacker.ts';
import { BACKENDS, behindTethersBack, tempDir } from '../store/backends.ts';
import { startTestServer, TOKENS } from './start.ts';

const leaf = (i: number) => ({
  v: 1 as const,
  time: new Date().toISOString(),
  kind: 'decision' as const,
  agent: 'scaler',
  decision: 'allow' as const,
  detail: { i },
});

describe('where the ledger signing key lives', () => {
  test('a key file outside the data directory (a mounted Secret) is used, and nothing is created beside the database', () => {
    const dataDir = tempDir();
    const secretDir = tempDir();
    const keyFile = join(secretDir, 'ledger-signing-key.pem');
    writeFileSync(keyFile, newSigningKeyPem(), { mode: 0o600 });
    const found = locateSigningKey({ dataDir, keyFile, databaseFile: join(dataDir, 'tether.db'), env: {} });
    assert.equal(found.besideDatabase, false);
    assert.match(found.where, /ledger-signing-key\.pem/);
    assert.equal(existsSync(join(dataDir, SIGNING_KEY_FILE)), false);
  });

  test('the key from the environment; a named file that is missing stops rather than minting a new key', () => {
    const dataDir = tempDir();
    const env = { [KEY_ENV]: newSigningKeyPem() };
    assert.match(locateSigningKey({ dataDir, env }).where, /TETHER_LEDGER_KEY/);
    assert.throws(
      () => locateSigningKey({ dataDir, keyFile: join(dataDir, 'nope.pem'), env: {} }),
      /cannot read the ledger signing key/,
    );
    assert.equal(existsSync(join(dataDir, SIGNING_KEY_FILE)), false);
  });

  test('serve says at start-up where the key is, and warns when it sits beside the database', async () => {
    const said = async (config: ReturnType<typeof loadConfig>) => {
      const lines: string[] = [];
      const store = await openStore(config.storeUrl);
      try {
        const ledger = await openLedger(store, config);
        await witnessLedger(ledger, config, {
          info: (_o, m) => lines.push(`info: ${m}`),
          warn: (_o, m) => lines.push(`warn: ${m}`),
        });
      } finally {
        await store.close();
      }
      return lines.join('\n');
    };
    const zeroConfig = await said(loadConfig(undefined, { dataDir: tempDir() }));
    assert.match(zeroConfig, /warn: the ledger signing key .* sits beside the database/);
    const keyFile = join(tempDir(), 'key.pem');
    writeFileSync(keyFile, newSigningKeyPem(), { mode: 0o600 });
    const apart = await said(loadConfig(undefined, { dataDir: tempDir(), ledger: { signingKeyFile: keyFile } }));
    assert.doesNotMatch(apart, /warn:/);
    assert.match(apart, /info: ledger signing key loaded/);
  });

  test("the CLI never mints a key of its own: it verifies with the server's key, or the public key alone", async () => {
    const dataDir = tempDir();
    const db = join(dataDir, 'tether.db');
    const store = await openStore(`sqlite:${db}`);
    try {
      const { Ledger } = await import('../../src/ledger/ledger.ts');
      const server = Ledger.withKey(store, { dataDir: tempDir(), env: {} });
      await store.append(leaf(0));
      await server.checkpoint();
      const cli = Ledger.withKey(store, { dataDir, databaseFile: db, env: {}, mint: false });
      await assert.rejects(ledgerVerify({ ledger: cli }), /no ledger signing key/);
      assert.equal(existsSync(join(dataDir, SIGNING_KEY_FILE)), false);
      const r = await ledgerVerify({ ledger: cli, trustedKeys: [server.signer.publicKeyPem] });
      assert.equal(r.exitCode, 0, r.text);
      assert.equal(r.data.checkpoints, 1);
    } finally {
      await store.close();
    }
  });

  test("a gateway sharing serve's store signs nothing with a key of its own; serve and a standalone gateway do", async () => {
    const shared = join(tempDir(), 'tether.db');
    const gatewayDir = tempDir();
    const store = await openStore(`sqlite:${shared}`);
    try {
      const asGateway = await openLedger(
        store,
        loadConfig(undefined, { dataDir: gatewayDir, store: `sqlite:${shared}` }),
        'gateway',
      );
      assert.equal(asGateway.canSign, false);
      assert.equal(existsSync(join(gatewayDir, SIGNING_KEY_FILE)), false, 'no key minted for a store it does not own');
      const lines: string[] = [];
      await witnessLedger(asGateway, loadConfig(undefined, { dataDir: gatewayDir }), {
        info: (_o, m) => lines.push(m),
        warn: (_o, m) => lines.push(m),
      });
      assert.match(lines.join('\n'), /leaves signing to tether serve/);
      assert.equal(
        (await openLedger(store, loadConfig(undefined, { dataDir: tempDir(), store: `sqlite:${shared}` }), 'serve'))
          .canSign,
        true,
      );
    } finally {
      await store.close();
    }
    const own = tempDir();
    const ownStore = await openStore(`sqlite:${join(own, 'tether.db')}`);
    try {
      assert.equal(
        (await openLedger(ownStore, loadConfig(undefined, { dataDir: own }), 'gateway')).canSign,
        true,
        'a standalone gateway on its own SQLite signs',
      );
    } finally {
      await ownStore.close();
    }
  });

  test('the zero-config default sits beside the SQLite database, and verify says so', async () => {
    const dataDir = tempDir();
    const found = locateSigningKey({ dataDir, databaseFile: join(dataDir, 'tether.db'), env: {} });
    assert.equal(found.besideDatabase, true);
    const store = await openStore(`sqlite:${join(dataDir, 'tether.db')}`);
    try {
      const { Ledger } = await import('../../src/ledger/ledger.ts');
      const ledger = Ledger.withKey(store, { dataDir, databaseFile: join(dataDir, 'tether.db'), env: {} });
      const r = await ledgerVerify({ ledger });
      assert.equal(r.exitCode, 0);
      assert.match(r.text, /warning: the ledger signing key .* sits beside the database/);
    } finally {
      await store.close();
    }
  });
});

for (const backend of BACKENDS) {
  describe(`witnessed checkpoints over HTTPS on ${backend.name}`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());

    test('a key from a Secret file, checkpoints in the witness directory and at /v1/ledger/checkpoints/latest, consistency proofs for a witness', async () => {
      const keyFile = join(tempDir(), 'ledger-signing-key.pem');
      writeFileSync(keyFile, newSigningKeyPem(), { mode: 0o600 });
      const witnessDir = join(tempDir(), 'witness');
      const server = await startTestServer(await backend.fresh(), { ledger: { signingKeyFile: keyFile, witnessDir } });
      try {
        assert.equal(server.ledger.keyLocation?.besideDatabase, false);
        assert.equal(existsSync(join(server.dataDir, SIGNING_KEY_FILE)), false);
        const get = (path: string, token?: string) =>
          https<Record<string, unknown>>(`${server.url}${path}`, { ca: server.caPem, token });

        for (let i = 0; i < 5; i++) await server.store.append(leaf(i));
        assert.equal(
          (
            await https(`${server.url}/v1/ledger/checkpoint`, {
              ca: server.caPem,
              method: 'POST',
              token: TOKENS.alice,
              body: {},
            })
          ).status,
          200,
        );
        const first = await get('/v1/ledger/checkpoints/latest');
        assert.equal(first.status, 200, first.text);
        const c1 = fromPublished(first.body, 'latest');
        const size1 = c1.size;
        assert.deepEqual(JSON.parse(readFileSync(join(witnessDir, 'latest.json'), 'utf8')), first.body);

        for (let i = 5; i < 12; i++) await server.store.append(leaf(i));
        await https(`${server.url}/v1/ledger/checkpoint`, {
          ca: server.caPem,
          method: 'POST',
          token: TOKENS.alice,
          body: {},
        });
        const c2 = fromPublished((await get('/v1/ledger/checkpoints/latest')).body, 'latest');
        assert.ok(c2.size > size1);

        // The witness's check, without a token: the new checkpoint extends the one it kept.
        const proof = await get(`/v1/ledger/consistency?from=${size1}&to=${c2.size}`);
        assert.equal(proof.status, 200, proof.text);
        const hashes = (proof.body.proof as string[]).map((h) => Buffer.from(h, 'hex'));
        assert.ok(verifyConsistency(size1, c2.size, c1.root, c2.root, hashes));
        assert.equal(verifyConsistency(size1, c2.size, c2.root, c1.root, hashes), false);

        for (const [q, why] of [
          ['from=1.5', /non-negative integer/],
          ['from=-1', /non-negative integer/],
          [`from=${c2.size}&to=1`, /must not exceed/],
          ['from=0&to=999999', /beyond the log/],
          ['to=3', /from is required/],
        ] as const) {
          const r = await get(`/v1/ledger/consistency?${q}`);
          assert.equal(r.status, 400, q);
          assert.match(String(r.body.message), why);
        }
        const verified = await ledgerVerify({ ledger: server.ledger, against: [witnessDir] });
        assert.equal(verified.exitCode, 0, verified.text);
        assert.equal(verified.data.witnessed?.length, 2);
      } finally {
        await server.close();
      }
    });

    test('tether ledger witness keeps consistent checkpoints over HTTPS and raises the alarm when a key holder rewrites history', async () => {
      const url = await backend.fresh();
      const server = await startTestServer(url);
      try {
        const dir = join(tempDir(), 'kept');
        const witness = () =>
          witnessOnce({ server: server.url, ca: server.caPem, publicKeyPem: server.ledger.signer.publicKeyPem, dir });
        const sign = () =>
          https(`${server.url}/v1/ledger/checkpoint`, {
            ca: server.caPem,
            method: 'POST',
            token: TOKENS.alice,
            body: {},
          });
        assert.equal((await witness()).text, 'no checkpoint signed yet');
        for (let i = 0; i < 6; i++) await server.store.append(leaf(i));
        await sign();
        const first = await witness();
        assert.equal(first.exitCode, 0, first.text);
        for (let i = 6; i < 9; i++) await server.store.append(leaf(i));
        await sign();
        const second = await witness();
        assert.equal(second.exitCode, 0, second.text);
        assert.match(second.text, /consistent with the one of size \d+/);

        // The attacker can write the database and holds the key: rewrite entry 2, re-link the rest,
        // delete the checkpoints and sign afresh over the rewritten log, one entry longer.
        await rewriteAndRelink(url, server.store, 2, (l) => ({ ...l, decision: 'deny' }));
        await behindTethersBack(url, 'DELETE FROM checkpoints');
        await server.store.append(leaf(9));
        await new Ledger(server.store, () => server.ledger.signer).checkpoint();
        const alarm = await witness();
        assert.equal(alarm.exitCode, 2, alarm.text);
        assert.match(alarm.text, /ALARM: the log of \d+ entries is not an extension of the one of \d+ kept/);

        // Cutting the log back below what was kept, validly signed, is an alarm too.
        await behindTethersBack(url, 'DELETE FROM ledger WHERE idx >= ?', [3]);
        await behindTethersBack(url, 'UPDATE ledger_head SET size = ? WHERE id = 1', [3]);
        await behindTethersBack(url, 'DELETE FROM checkpoints');
        await new Ledger(server.store, () => server.ledger.signer).checkpoint();
        const shrunk = await witness();
        assert.equal(shrunk.exitCode, 2, shrunk.text);
        assert.match(shrunk.text, /ALARM: the log shrank: a checkpoint of size \d+ was kept, the server now signs 3/);
      } finally {
        await server.close();
      }
    });

    test('no checkpoint yet: latest is a 404, and a missing key file stops start-up', async () => {
      const url = await backend.fresh();
      const server = await startTestServer(url);
      try {
        const r = await https(`${server.url}/v1/ledger/checkpoints/latest`, { ca: server.caPem });
        assert.equal(r.status, 404);
      } finally {
        await server.close();
      }
      await assert.rejects(
        startTestServer(await backend.fresh(), { ledger: { signingKeyFile: join(tempDir(), 'missing.pem') } }),
        /cannot read the ledger signing key/,
      );
    });
  });
}
