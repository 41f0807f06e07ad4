// The directory an identity provider keeps in sync over SCIM, held in memory and indexed the way
// owners are named in Agent specs: by userName, email or externalId (users), displayName or
// externalId (groups), case-insensitively. It is the OwnershipView's directory the engine reads.
import type { DirectoryStanding } from '../engine/rules/accountability.ts';

export type ScimResourceType = 'User' | 'Group';

export interface ScimMeta {
  readonly resourceType: ScimResourceType;
  readonly created: string;
  readonly lastModified: string;
  /** Weak ETag, W/"<n>". */
  readonly version: string;
}

/** A User or Group as stored: the attributes the provider sent, plus id and meta. */
export interface ScimResource {
  readonly schemas: readonly string[];
  readonly id: string;
  readonly externalId?: string;
  readonly meta: ScimMeta;
  readonly [attribute: string]: unknown;
}

const lower = (s: unknown): string | undefined => (typeof s === 'string' && s !== '' ? s.toLowerCase() : undefined);

export function userAliases(u: ScimResource): string[] {
  const emails = Array.isArray(u.emails) ? (u.emails as { value?: unknown }[]).map((e) => lower(e?.value)) : [];
  return [lower(u.userName), lower(u.externalId), ...emails].filter((a): a is string => a !== undefined);
}

export function groupAliases(g: ScimResource): string[] {
  return [lower(g.displayName), lower(g.externalId)].filter((a): a is string => a !== undefined);
}

export function memberIds(g: ScimResource): string[] {
  return Array.isArray(g.members)
    ? (g.members as { value?: unknown }[]).flatMap((m) => (typeof m?.value === 'string' ? [m.value] : []))
    : [];
}

/** SCIM `active` is a boolean; absent means active (RFC 7643 §4.1.1 leaves it to the provider; Entra and Okta always send it). */
export const isActive = (u: ScimResource): boolean => u.active !== false;

function addAlias(map: Map<string, Set<string>>, alias: string, id: string): void {
  let ids = map.get(alias);
  if (!ids) map.set(alias, (ids = new Set()));
  ids.add(id);
}

function dropAlias(map: Map<string, Set<string>>, alias: string, id: string): void {
  const ids = map.get(alias);
  ids?.delete(id);
  if (ids?.size === 0) map.delete(alias);
}

export class DirectoryIndex {
  readonly users = new Map<string, ScimResource>();
  readonly groups = new Map<string, ScimResource>();
  readonly #userAliases = new Map<string, Set<string>>();
  readonly #groupAliases = new Map<string, Set<string>>();

  put(r: ScimResource): void {
    this.remove(r.meta.resourceType, r.id);
    if (r.meta.resourceType === 'User') {
      this.users.set(r.id, r);
      for (const a of userAliases(r)) addAlias(this.#userAliases, a, r.id);
    } else {
      this.groups.set(r.id, r);
      for (const a of groupAliases(r)) addAlias(this.#groupAliases, a, r.id);
    }
  }

  remove(type: ScimResourceType, id: string): void {
    if (type === 'User') {
      const old = this.users.get(id);
      if (old) for (const a of userAliases(old)) dropAlias(this.#userAliases, a, id);
      this.users.delete(id);
    } else {
      const old = this.groups.get(id);
      if (old) for (const a of groupAliases(old)) dropAlias(this.#groupAliases, a, id);
      this.groups.delete(id);
    }
  }

  get(type: ScimResourceType, id: string): ScimResource | undefined {
    return type === 'User' ? this.users.get(id) : this.groups.get(id);
  }

  /** Ids of the users holding this userName (case-insensitively): SCIM userName is unique. */
  usersNamed(userName: string): string[] {
    const ids = this.#userAliases.get(userName.toLowerCase()) ?? new Set();
    return [...ids].filter((id) => lower(this.users.get(id)?.userName) === userName.toLowerCase());
  }

  groupsNamed(displayName: string): string[] {
    const ids = this.#groupAliases.get(displayName.toLowerCase()) ?? new Set();
    return [...ids].filter((id) => lower(this.groups.get(id)?.displayName) === displayName.toLowerCase());
  }

  standing(name: string): DirectoryStanding | undefined {
    const key = name.toLowerCase();
    const users = [...(this.#userAliases.get(key) ?? [])];
    const groups = [...(this.#groupAliases.get(key) ?? [])];
    if (users.length + groups.length > 1) return { kind: 'ambiguous', ids: [...users, ...groups] };
    const u = users[0] === undefined ? undefined : this.users.get(users[0]);
    if (u) return { kind: 'user', id: u.id, userName: String(u.userName), active: isActive(u) };
    const g = groups[0] === undefined ? undefined : this.groups.get(groups[0]);
    if (g)
      return { kind: 'group', id: g.id, displayName: String(g.displayName), activeMembers: this.activeMembers(g.id) };
    return undefined;
  }

  /** Active users in a group, nested groups included (each group counted once, so cycles end). */
  activeMembers(groupId: string, seen: Set<string> = new Set()): number {
    const g = this.groups.get(groupId);
    if (!g || seen.has(groupId)) return 0;
    seen.add(groupId);
    let n = 0;
    for (const id of memberIds(g)) {
      const u = this.users.get(id);
      if (u) n += isActive(u) ? 1 : 0;
      else n += this.activeMembers(id, seen);
    }
    return n;
  }

  /** A group's member ids that name a user or group this directory holds. */
  isMember(groupId: string, userId: string): boolean {
    return memberIds(this.groups.get(groupId) ?? ({} as ScimResource)).includes(userId);
  }
}
