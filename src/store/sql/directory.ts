// The directory (SCIM Users and Groups) and ownership attestations. Directory writes are
// optimistic: each names the version it replaces, and a write whose version moved meanwhile (another
// request, another replica) is refused as a whole, ledger leaves included.
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import type { DirectoryWrite, DirectoryWriteResult, StoredAttestation, StoredScimRow } from '../store.ts';
import type { Row } from './driver.ts';
import type { WriteBatch } from './write-batch.ts';

export function toScimRow(r: Row): StoredScimRow {
  return {
    type: r.type as StoredScimRow['type'],
    id: r.id as string,
    version: Number(r.version),
    data: r.data as string,
  };
}

export function toAttestation(r: Row): StoredAttestation {
  return {
    agent: r.agent as string,
    owner: r.owner as string,
    until: Number(r.until_at),
    reason: r.reason as string,
    by: r.actor as string,
    at: Number(r.at),
    ledgerIndex: Number(r.ledger_index),
  };
}

async function check(w: WriteBatch, write: DirectoryWrite): Promise<string | undefined> {
  const [row] = await w.tx.query<{ version: number }>('SELECT version FROM scim_resources WHERE type = ? AND id = ?', [
    write.type,
    write.id,
  ]);
  const current = row === undefined ? undefined : Number(row.version);
  if (current !== write.previous)
    return current === undefined
      ? `${write.type} ${write.id} does not exist`
      : `${write.type} ${write.id} changed meanwhile`;
  if (write.kind === 'put') {
    const [named] = await w.tx.query<{ id: string }>(
      'SELECT id FROM scim_resources WHERE type = ? AND name_key = ? AND id <> ?',
      [write.type, write.nameKey, write.id],
    );
    if (named) return `uniqueness: another ${write.type} is named ${write.nameKey}`;
  }
  return undefined;
}

/** Every write checked first, then all applied with the ledger leaves, in one transaction. */
export function writeDirectoryJob(writes: readonly DirectoryWrite[], leaves: readonly LedgerLeaf[], now: number) {
  return async (w: WriteBatch): Promise<DirectoryWriteResult> => {
    for (const write of writes) {
      const why = await check(w, write);
      if (why)
        return {
          ok: false,
          conflict: why.startsWith('uniqueness')
            ? 'uniqueness'
            : why.includes('does not exist')
              ? 'missing'
              : 'version',
          why,
        };
    }
    for (const write of writes) {
      if (write.kind === 'delete')
        await w.tx.query('DELETE FROM scim_resources WHERE type = ? AND id = ?', [write.type, write.id]);
      else if (write.previous === undefined)
        await w.tx.query(
          'INSERT INTO scim_resources (type, id, name_key, version, data, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [write.type, write.id, write.nameKey, write.version, write.data, now, now],
        );
      else
        await w.tx.query(
          'UPDATE scim_resources SET name_key = ?, version = ?, data = ?, modified = ? WHERE type = ? AND id = ?',
          [write.nameKey, write.version, write.data, now, write.type, write.id],
        );
    }
    await w.tx.query('UPDATE directory_head SET version = version + 1 WHERE id = 1');
    const [head] = await w.tx.query<{ version: number }>('SELECT version FROM directory_head WHERE id = 1');
    const indexes = leaves.map((l) => w.append(l));
    return { ok: true, indexes, version: Number(head?.version) };
  };
}

export function attestJob(a: Omit<StoredAttestation, 'ledgerIndex' | 'at'>, leaf: LedgerLeaf, now: number) {
  return async (w: WriteBatch): Promise<{ index: number }> => {
    const index = w.append(leaf);
    await w.tx.query(
      'INSERT INTO attestations (agent, owner, until_at, reason, actor, at, ledger_index) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [a.agent, a.owner, a.until, a.reason, a.by, now, index],
    );
    return { index };
  };
}
