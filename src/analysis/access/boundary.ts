// "Inside the boundary" has one definition, the engine's (src/engine/boundary-scope.ts); the
// analyzer reads it from there so offline analysis and enforcement cannot disagree.
export {
  BoundaryJudge,
  compress,
  contentId,
  describeExcess,
  describePermission,
  describeWhere,
  type ExcessPart,
  type ExcessWhere,
  excessOf,
  type PermissionSet,
} from '../../engine/boundary-scope.ts';
