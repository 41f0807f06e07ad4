// AdmissionReview (admission.k8s.io/v1) → Action. Translation only: no policy here.
import type { Action, Target } from '../../engine/action.ts';
import { APPROVAL_KEY, CHAIN_KEY, INTENT_KEY, parseChain, parseIntent } from '../shared/context-carriers.ts';
import { DecodeError, optionalString, requireObject, requireString, stringArray } from '../shared/decode-error.ts';

export interface AdmissionRequest {
  readonly uid: string;
  readonly action: Action;
}

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

function annotations(obj: unknown): Record<string, unknown> {
  const md = (obj as { metadata?: { annotations?: unknown } } | null | undefined)?.metadata;
  const a = md?.annotations;
  return typeof a === 'object' && a !== null ? (a as Record<string, unknown>) : {};
}

/** RBAC verb for an admission operation: a patch arrives as UPDATE with PatchOptions; CONNECT is a POST (create). */
function verbOf(operation: string, options: unknown): string {
  switch (operation) {
    case 'CREATE':
      return 'create';
    case 'UPDATE':
      return (options as { kind?: string } | null)?.kind === 'PatchOptions' ? 'patch' : 'update';
    case 'DELETE':
      return 'delete';
    default:
      return 'create';
  }
}

export function decodeAdmissionReview(body: unknown): AdmissionRequest {
  const review = requireObject(body, 'AdmissionReview');
  if (review.apiVersion !== 'admission.k8s.io/v1') {
    throw new DecodeError('apiVersion', `must be admission.k8s.io/v1, got ${JSON.stringify(review.apiVersion)}`);
  }
  if (review.kind !== 'AdmissionReview')
    throw new DecodeError('kind', `must be AdmissionReview, got ${JSON.stringify(review.kind)}`);
  const req = requireObject(review.request, 'request');
  const uid = requireString(req.uid, 'request.uid');
  const operation = requireString(req.operation, 'request.operation');
  if (!OPERATIONS.has(operation))
    throw new DecodeError('request.operation', `must be one of CREATE, UPDATE, DELETE, CONNECT; got ${operation}`);
  const resource = requireObject(req.resource, 'request.resource');
  const userInfo = requireObject(req.userInfo, 'request.userInfo');
  const target: Target = {
    group: requireString(resource.group ?? '', 'request.resource.group', { allowEmpty: true }),
    version: requireString(resource.version, 'request.resource.version'),
    resource: requireString(resource.resource, 'request.resource.resource'),
    subresource: optionalString(req.subResource, 'request.subResource') || undefined,
    namespace: optionalString(req.namespace, 'request.namespace') || undefined,
    name: optionalString(req.name, 'request.name') || undefined,
  };
  const object = req.object ?? undefined;
  const oldObject = req.oldObject ?? undefined;
  if (object !== undefined) requireObject(object, 'request.object');
  if (oldObject !== undefined) requireObject(oldObject, 'request.oldObject');
  const ann = object !== undefined ? annotations(object) : annotations(oldObject);
  const where = object !== undefined ? 'request.object' : 'request.oldObject';
  const approval = ann[APPROVAL_KEY];
  const action: Action = {
    source: 'admission',
    subject: {
      username: requireString(userInfo.username, 'request.userInfo.username'),
      groups: stringArray(userInfo.groups, 'request.userInfo.groups'),
      uid: optionalString(userInfo.uid, 'request.userInfo.uid'),
    },
    verb: verbOf(operation, req.options),
    target,
    object,
    oldObject,
    intent: parseIntent(ann[INTENT_KEY], `${where}.metadata.annotations["${INTENT_KEY}"]`),
    chain: parseChain(ann[CHAIN_KEY], `${where}.metadata.annotations["${CHAIN_KEY}"]`),
    dryRun: req.dryRun === true,
    approvalId: typeof approval === 'string' && approval !== '' ? approval : undefined,
    requestId: uid,
  };
  return { uid, action };
}
