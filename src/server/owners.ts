// Wiring for owners: the directory (kept current from the store and by SCIM writes), the
// ownership view decisions read, the SCIM endpoint when configured, notifications when an owner
// goes or comes back, and attestation reminders.
import type { FastifyInstance } from 'fastify';
import { scimRoutes } from '../adapters/scim/route.ts';
import { DirectoryService, type OwnerChange } from '../service/directory.ts';
import type { Governor } from '../service/governor.ts';
import { OwnersService } from '../service/owners.ts';
import type { ResolvedConfig } from './config.ts';
import type { Notifier } from './notify.ts';

const DAY = 86_400_000;
/** How often a replica looks for directory writes made through another replica, and for due attestations. */
const REFRESH_MS = 2000;
const REMINDER_MS = 3_600_000;

export interface OwnersWiring {
  readonly directory: DirectoryService;
  readonly owners: OwnersService;
  mountScim(app: FastifyInstance): void;
  stop(): void;
}

function announce(notifier: Notifier, changes: readonly OwnerChange[]): void {
  for (const c of changes)
    notifier.send(
      c.event === 'owner-inactive'
        ? {
            event: 'owner.inactive',
            text: `agent ${c.agent} has no live owner (${c.why}) and is stopped; re-assign spec.owner — ${c.notify.join(', ') || 'administrators'} (ledger ${c.ledgerIndex})`,
            detail: { ...c },
          }
        : {
            event: 'owner.restored',
            text: `agent ${c.agent}: owner ${c.owner} is live again (ledger ${c.ledgerIndex})`,
            detail: { ...c },
          },
    );
}

export async function wireOwners(
  config: ResolvedConfig,
  deps: { governor: Governor; notifier: Notifier; warn: (o: object, m: string) => void },
): Promise<OwnersWiring> {
  const { governor, notifier } = deps;
  const directory = new DirectoryService({
    store: governor.store,
    policy: () => governor.policy,
    onOwnerChange: (c) => announce(notifier, c),
  });
  await directory.refresh();
  governor.setOwnership(directory.view(config.scim !== undefined));
  const owners = new OwnersService({ store: governor.store, policy: () => governor.policy, directory });

  const refresh = setInterval(
    () => void directory.refresh().catch((e: Error) => deps.warn({ err: e.message }, 'directory refresh failed')),
    REFRESH_MS,
  );
  refresh.unref();
  const reminded = new Set<string>();
  const remind = () => {
    for (const d of owners.due((config.attestationReminderDays ?? 14) * DAY)) {
      const key = `${d.agent}\n${d.owner}\n${d.until}`;
      if (reminded.has(key)) continue;
      reminded.add(key);
      const until = new Date(d.until).toISOString();
      notifier.send({
        event: 'owner.attestation-due',
        text: `${d.owner}: ownership of agent ${d.agent} lapses at ${until} — tether owners attest ${d.agent} --until <date> --reason "…"`,
        detail: { ...d, until },
      });
    }
  };
  const reminders = setInterval(remind, REMINDER_MS);
  reminders.unref();
  setImmediate(remind);

  return {
    directory,
    owners,
    mountScim(app) {
      if (config.scim) scimRoutes(app, { directory, tokenSha256: Buffer.from(config.scim.tokenSha256, 'hex') });
    },
    stop() {
      clearInterval(refresh);
      clearInterval(reminders);
    },
  };
}
