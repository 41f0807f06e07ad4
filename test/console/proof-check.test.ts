// The console's in-browser proof check (console/proof.js), run here in Node against the server's
// own Merkle tree and signer: every index of every tree size up to 40 verifies, and each kind of
// tampering is caught. Node and Chromium share WebCrypto's SHA-256 and Ed25519.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
// @ts-expect-error: the console is plain JavaScript, served as is; no types to import.
import { rootFromInclusionProof, verifyBundle } from '../../console/proof.js';
import { CheckpointSigner } from '../../src/ledger/checkpoint.ts';
import { leafHash } from '../../src/ledger/hash.ts';
import { leafData } from '../../src/ledger/leaf.ts';
import { MerkleTree } from '../../src/ledger/tree.ts';
import { published } from '../../src/ledger/witness.ts';

const signer = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);

function log(size: number) {
  const tree = new MerkleTree();
  const data = Array.from({ length: size }, (_, i) =>
    leafData(i, { v: 1, time: '2026-01-01T00:00:00.000Z', kind: 'decision', agent: `a${i % 3}`, decision: 'allow' }),
  );
  for (const d of data) tree.append(leafHash(d));
  return { tree, data };
}

function bundle(tree: MerkleTree, data: string[], index: number) {
  const c = signer.sign(tree.size, tree.root(), 1_767_225_600_000);
  return {
    index,
    data: data[index],
    size: tree.size,
    proof: tree.inclusionProof(index).map((b) => b.toString('hex')),
    leafHash: '',
    root: '',
    // A copy the cases below may edit, as a man in the middle would.
    checkpoint: { ...published(c) } as {
      -readonly [K in keyof ReturnType<typeof published>]: ReturnType<typeof published>[K];
    },
    publicKey: { keyId: signer.keyId, pem: signer.publicKeyPem },
  };
}

test('the path walk agrees with the server’s tree for every index of every size up to 40', async () => {
  for (let size = 1; size <= 40; size++) {
    const { tree, data } = log(size);
    for (let i = 0; i < size; i++) {
      const root: Uint8Array | undefined = await rootFromInclusionProof(
        i,
        size,
        leafHash(data[i] as string),
        tree.inclusionProof(i),
      );
      assert.ok(root && Buffer.from(root).equals(tree.root()), `size ${size} index ${i}`);
    }
    // The same path claimed for a neighbour, or a tree one larger, leads nowhere or elsewhere.
    if (size > 1) {
      const other: Uint8Array | undefined = await rootFromInclusionProof(
        1,
        size,
        leafHash(data[0] as string),
        tree.inclusionProof(0),
      );
      assert.ok(
        !other || !Buffer.from(other).equals(tree.root()),
        `size ${size}: index 0's path does not prove index 1`,
      );
    }
  }
});

test('a bundle verifies; each tampering fails at the step that catches it', async () => {
  const { tree, data } = log(13);
  const ok = await verifyBundle(bundle(tree, data, 6));
  assert.equal(ok.ok, true, JSON.stringify(ok.steps));
  assert.equal(ok.keyId, signer.keyId);

  const cases: [string, (b: ReturnType<typeof bundle>) => void, RegExp][] = [
    [
      'entry edited',
      (b) => void (b.data = (b.data as string).replace('"allow"', '"deny"')),
      /Merkle path does not lead/,
    ],
    ['entry moved', (b) => void (b.index = 7), /says it sits at index 6, not 7/],
    [
      'path hash flipped',
      (b) =>
        void (b.proof[1] = `${(b.proof[1] as string).slice(0, -1)}${(b.proof[1] as string).endsWith('0') ? '1' : '0'}`),
      /Merkle path does not lead/,
    ],
    ['path shortened', (b) => void b.proof.pop(), /Merkle path does not lead/],
    [
      'root swapped',
      (b) => void (b.checkpoint.root = Buffer.alloc(32, 7).toString('hex')),
      /Merkle path does not lead/,
    ],
    ['time changed', (b) => void (b.checkpoint.time += 1), /signature does not verify/],
    [
      'another key served',
      (b) =>
        void (b.publicKey.pem = generateKeyPairSync('ed25519')
          .publicKey.export({ type: 'spki', format: 'pem' })
          .toString()),
      /signed by key [0-9a-f]{16}, not by the served key/,
    ],
    [
      'no checkpoint',
      (b) => void ((b as { checkpoint?: unknown }).checkpoint = undefined),
      /No signed checkpoint covers entry 6/,
    ],
    ['not JSON', (b) => void (b.data = '{'), /not JSON/],
  ];
  for (const [label, edit, why] of cases) {
    const b = bundle(tree, data, 6);
    edit(b);
    const r = await verifyBundle(b);
    assert.equal(r.ok, false, label);
    assert.match(r.steps.at(-1).label, why, label);
  }
  const pinned = await verifyBundle(bundle(tree, data, 6), '0000000000000000');
  assert.equal(pinned.ok, false);
  assert.match(pinned.steps.at(-1).label, /is not the one you trust/);
});
