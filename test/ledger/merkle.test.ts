// Test vectors from the Certificate Transparency Go implementation, github.com/transparency-dev/merkle
// (formerly part of google/certificate-transparency-go): rfc6962/rfc6962_test.go (hasher vectors) and
// proof/verify_test.go (the eight leaves, the roots of trees of size 1..8, inclusion and consistency
// proofs). Their inclusion vectors name leaves 1-based; here they are converted to 0-based indexes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EMPTY_ROOT, leafHash, nodeHash } from '../../src/ledger/hash.ts';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from '../../src/ledger/proof.ts';
import { MerkleTree } from '../../src/ledger/tree.ts';

const hex = (h: string) => Buffer.from(h, 'hex');
const toHex = (hs: readonly Uint8Array[]) => hs.map((h) => Buffer.from(h).toString('hex'));

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  hex,
);

const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const INCLUSION = [
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  { index: 0, size: 1, proof: [] },
];

const CONSISTENCY = [
  { from: 1, to: 1, proof: [] },
  {
    from: 1,
    to: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    from: 6,
    to: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    from: 2,
    to: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    from: 6,
    to: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

function treeOf(n: number): MerkleTree {
  const t = new MerkleTree();
  for (const l of LEAVES.slice(0, n)) t.append(leafHash(l));
  return t;
}

describe('RFC 6962 hashing', () => {
  test('empty tree, empty leaf, leaf and node vectors', () => {
    assert.equal(EMPTY_ROOT.toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(
      leafHash(Buffer.alloc(0)).toString('hex'),
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    assert.equal(
      leafHash('L123456').toString('hex'),
      '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
    );
    assert.equal(
      nodeHash(Buffer.from('N123'), Buffer.from('N456')).toString('hex'),
      'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb',
    );
  });

  test('roots of trees of size 0..8', () => {
    assert.deepEqual(new MerkleTree().root(), EMPTY_ROOT);
    const full = treeOf(8);
    ROOTS.forEach((root, i) => {
      assert.equal(
        treeOf(i + 1)
          .root()
          .toString('hex'),
        root,
        `size ${i + 1}`,
      );
      assert.equal(full.root(i + 1).toString('hex'), root, `size ${i + 1} read from the size-8 tree`);
    });
  });
});

describe('inclusion proofs', () => {
  for (const v of INCLUSION) {
    test(`leaf ${v.index} in a tree of ${v.size}: generated as published and verified`, () => {
      const t = treeOf(8);
      assert.deepEqual(toHex(t.inclusionProof(v.index, v.size)), v.proof);
      const leaf = leafHash(LEAVES[v.index] as Buffer);
      assert.ok(verifyInclusion(v.index, v.size, leaf, v.proof.map(hex), hex(ROOTS[v.size - 1] as string)));
    });
  }

  test('tampered proofs are refused (the CT verifier test probes)', () => {
    for (const v of INCLUSION.filter((x) => x.proof.length > 0)) {
      const leaf = leafHash(LEAVES[v.index] as Buffer);
      const root = hex(ROOTS[v.size - 1] as string);
      const proof = v.proof.map(hex);
      const probes: [number, number, Uint8Array, Uint8Array[], Uint8Array][] = [
        [v.index - 1, v.size, leaf, proof, root],
        [v.index + 1, v.size, leaf, proof, root],
        [v.index ^ 2, v.size, leaf, proof, root],
        [v.index, v.size * 2, leaf, proof, root],
        [v.index, Math.floor(v.size / 2), leaf, proof, root],
        [v.index, v.size, Buffer.from('WrongLeaf'), proof, root],
        [v.index, v.size, leaf, proof, EMPTY_ROOT],
        [v.index, v.size, leaf, [...proof, Buffer.alloc(0)], root],
        [v.index, v.size, leaf, [...proof, root], root],
        [v.index, v.size, leaf, [root, ...proof], root],
        [v.index, v.size, leaf, proof.slice(0, -1), root],
        ...proof.map((_, i): [number, number, Uint8Array, Uint8Array[], Uint8Array] => {
          const flipped = proof.map((p, j) => (j === i ? Buffer.from(p).map((b, k) => (k === 0 ? b ^ 8 : b)) : p));
          return [v.index, v.size, leaf, flipped, root];
        }),
      ];
      for (const [i, s, l, p, r] of probes) assert.equal(verifyInclusion(i, s, l, p, r), false, `index ${i} size ${s}`);
    }
  });

  test('a single-leaf tree: the root is the leaf hash and the proof is empty', () => {
    const h = leafHash('data');
    assert.ok(verifyInclusion(0, 1, h, [], h));
    assert.equal(verifyInclusion(0, 1, Buffer.alloc(0), [], h), false);
    assert.equal(rootFromInclusionProof(1, 1, h, []), undefined);
  });
});

describe('consistency proofs', () => {
  for (const v of CONSISTENCY) {
    test(`${v.from} → ${v.to}: generated as published and verified`, () => {
      const t = treeOf(8);
      assert.deepEqual(toHex(t.consistencyProof(v.from, v.to)), v.proof);
      assert.ok(
        verifyConsistency(
          v.from,
          v.to,
          hex(ROOTS[v.from - 1] as string),
          hex(ROOTS[v.to - 1] as string),
          v.proof.map(hex),
        ),
      );
    });
  }

  test('edge cases from the CT verifier tests', () => {
    const r1 = Buffer.from("don't care 1");
    const r2 = Buffer.from("don't care 2");
    assert.equal(verifyConsistency(0, 0, r1, r2, []), false);
    assert.equal(verifyConsistency(1, 1, r1, r2, []), false);
    assert.equal(verifyConsistency(0, 0, r1, r1, []), true);
    assert.equal(verifyConsistency(0, 1, r1, r2, []), true);
    assert.equal(verifyConsistency(1, 1, r2, r2, []), true);
    assert.equal(verifyConsistency(1, 0, r1, r2, []), false);
    assert.equal(verifyConsistency(2, 1, r1, r2, []), false);
    assert.equal(verifyConsistency(1, 2, r1, r2, []), false);
    assert.equal(verifyConsistency(0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]), false);
    assert.equal(verifyConsistency(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]), false);
  });

  test('tampered proofs are refused', () => {
    for (const v of CONSISTENCY.filter((x) => x.proof.length > 0)) {
      const a = hex(ROOTS[v.from - 1] as string);
      const b = hex(ROOTS[v.to - 1] as string);
      const proof = v.proof.map(hex);
      const probes: [number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
        [v.from - 1, v.to, a, b, proof],
        [v.from + 1, v.to, a, b, proof],
        [v.from ^ 2, v.to, a, b, proof],
        [v.from, v.to * 2, a, b, proof],
        [v.from, Math.floor(v.to / 2), a, b, proof],
        [v.from, v.to, Buffer.from('WrongRoot'), b, proof],
        [v.from, v.to, a, Buffer.from('WrongRoot'), proof],
        [v.from, v.to, b, a, proof],
        [v.from, v.to, a, b, []],
        [v.from, v.to, a, b, [...proof, a]],
        [v.from, v.to, a, b, [...proof, b]],
        [v.from, v.to, a, b, [a, ...proof]],
        [v.from, v.to, a, b, [proof[0] as Buffer, ...proof]],
        [v.from, v.to, a, b, proof.slice(0, -1)],
      ];
      for (const [f, s, x, y, p] of probes) assert.equal(verifyConsistency(f, s, x, y, p), false, `${f} → ${s}`);
    }
  });
});

describe('proofs round-trip on larger trees', () => {
  test('every inclusion and consistency proof up to 70 leaves verifies against the recomputed roots', () => {
    const t = new MerkleTree();
    const roots: Buffer[] = [];
    for (let i = 0; i < 70; i++) {
      t.append(leafHash(`entry ${i}`));
      roots.push(t.root());
    }
    for (let size = 1; size <= 70; size++) {
      const root = roots[size - 1] as Buffer;
      assert.deepEqual(t.root(size), root);
      for (let i = 0; i < size; i++)
        assert.ok(verifyInclusion(i, size, t.leafHash(i), t.inclusionProof(i, size), root), `${i} in ${size}`);
      for (let from = 1; from <= size; from++) {
        assert.ok(
          verifyConsistency(from, size, roots[from - 1] as Buffer, root, t.consistencyProof(from, size)),
          `${from} → ${size}`,
        );
      }
    }
  });

  test('out-of-range requests are errors, not wrong proofs', () => {
    const t = treeOf(7);
    assert.throws(() => t.inclusionProof(7, 7), RangeError);
    assert.throws(() => t.inclusionProof(0, 8), RangeError);
    assert.throws(() => t.consistencyProof(5, 3), RangeError);
    assert.throws(() => t.root(8), RangeError);
  });
});
