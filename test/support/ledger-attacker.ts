// What an attacker with write access to the database does to the ledger, as the tests play it.
import { leafHash } from '../../src/ledger/hash.ts';
import { type LedgerLeaf, leafData } from '../../src/ledger/leaf.ts';
import type { Store } from '../../src/store/store.ts';
import { behindTethersBack } from '../store/backends.ts';

/** Rewrites entry `at` and re-links and re-hashes every later entry, so no link gives it away. */
export async function rewriteAndRelink(
  url: string,
  store: Store,
  at: number,
  edit: (l: LedgerLeaf) => LedgerLeaf,
): Promise<void> {
  const size = await store.ledgerSize();
  const entries = await store.entries(at, size);
  let prev = at > 0 ? (await store.entries(at - 1, at))[0]?.leafHash.toString('hex') : undefined;
  for (const e of entries) {
    const data = leafData(e.index, { ...(e.index === at ? edit(e.leaf) : e.leaf), prev });
    const h = leafHash(data);
    await behindTethersBack(url, 'UPDATE ledger SET data = ?, leaf_hash = ? WHERE idx = ?', [data, h, e.index]);
    prev = h.toString('hex');
  }
}
