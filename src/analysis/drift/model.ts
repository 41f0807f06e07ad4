// The shapes the drift detector passes between its parts: objects and where they came from,
// field paths, findings and their attribution.
import type { AuthorityClass } from '../../policy/schema.ts';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: ManagedFieldsEntry[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** metadata.managedFields[i] as the API server returns it. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update' | string;
  apiVersion?: string;
  /** Absent on some entries (the API server leaves it out for some subresource writes). */
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/** Which object, independent of the API version it was read at. */
export interface ObjectId {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** Absent for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly name: string;
}

/** Where a desired object was defined in the repository, as precisely as the renderer knows. */
export interface SourceRef {
  /** Repository-relative file path. */
  readonly file: string;
  /** 0-based YAML document index in the file, for plain manifests. */
  readonly doc?: number;
  /** The kustomization or chart directory (repository-relative) that rendered the object. */
  readonly unit?: string;
  readonly renderer: 'plain' | 'kustomize' | 'helm';
}

export interface DesiredObject {
  readonly id: ObjectId;
  readonly object: KubeObject;
  readonly source: SourceRef;
}

/** Something in the input that could not be used; the rest is still compared. */
export interface InputProblem {
  /** Repository-relative file, kustomization directory or object name the problem is about. */
  readonly where: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

/** One step of a field path. Keyed list items are named by their merge key, as strategic merge patch does. */
export type PathSegment =
  | { readonly field: string }
  | { readonly key: Readonly<Record<string, string | number | boolean>> }
  | { readonly index: number }
  | { readonly member: string | number | boolean };

export type FieldPath = readonly PathSegment[];

export type DriftKind =
  /** Git sets a value, the cluster holds another. */
  | 'changed'
  /** Git sets it, the cluster does not have it. */
  | 'missing'
  /** Git says null (remove it), the cluster has it. */
  | 'unexpected';

export interface FieldDrift {
  readonly path: FieldPath;
  /** `spec.template.spec.containers[name=server].image` */
  readonly display: string;
  /** RFC 6901 pointer into the live object (into Git's object when the live one lacks the path). */
  readonly pointer: string;
  readonly kind: DriftKind;
  readonly desired: unknown;
  readonly live: unknown;
}

export type ActorClass = 'agent' | 'human' | 'controller' | 'unknown';
export type Confidence = 'high' | 'medium' | 'low';

export interface Actor {
  readonly class: ActorClass;
  /** Agent name, username, or controller name. */
  readonly name?: string;
  readonly username?: string;
  readonly owner?: string;
  readonly authorityClass?: AuthorityClass;
  readonly intent?: { readonly summary: string; readonly trigger?: string; readonly goal?: string };
  readonly approvals?: readonly string[];
}

export interface Evidence {
  readonly source: 'managedFields' | 'ledger' | 'audit' | 'heuristic';
  readonly detail: string;
}

export interface Attribution {
  readonly actor: Actor;
  readonly confidence: Confidence;
  /** Field manager that last wrote the path, when managedFields say so. */
  readonly manager?: string;
  readonly operation?: string;
  readonly subresource?: string;
  /** When the change happened, as precisely as the evidence tells. */
  readonly time?: string;
  /** The GitOps applier itself wrote the value: Git moved on and the cluster waits for a sync. */
  readonly pendingSync?: boolean;
  readonly auditId?: string;
  readonly evidence: readonly Evidence[];
}

export interface AttributedDrift extends FieldDrift {
  readonly attribution: Attribution;
}

export interface IgnoredDrift {
  readonly display: string;
  readonly why: string;
}

export type ObjectState = 'drifted' | 'missing' | 'extra';

export interface ObjectFinding {
  readonly id: ObjectId;
  readonly state: ObjectState;
  readonly source?: SourceRef;
  /** GitOps owner label/annotation (for extras). */
  readonly gitopsOwner?: string;
  /** Field-level drifts (state 'drifted'). */
  readonly fields: readonly AttributedDrift[];
  /** Attribution of the object as a whole (state 'missing' or 'extra'). */
  readonly attribution?: Attribution;
  readonly ignored: readonly IgnoredDrift[];
  /** Digest of the live object without server bookkeeping (absent when it is missing). */
  readonly liveDigest?: string;
  readonly note?: string;
}

export interface DriftReport {
  readonly generatedAt: string;
  readonly revision?: { readonly ref: string; readonly commit: string };
  readonly repo?: string;
  readonly path?: string;
  readonly compared: number;
  readonly inSync: number;
  /** The objects that match Git, when asked for (PolicyReports list them as passes). */
  readonly inSyncObjects?: readonly ObjectId[];
  readonly findings: readonly ObjectFinding[];
  readonly problems: readonly InputProblem[];
  /** Objects whose drift was entirely ignored by rules, for transparency. */
  readonly ignoredObjects: number;
  readonly notes: readonly string[];
}
