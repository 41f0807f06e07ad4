// metav1.LabelSelector evaluation, as Kubernetes applies it (aggregation rules, webhook
// namespaceSelectors, …). matchLabels and every matchExpression must all hold.

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export type SelectorResult = { readonly matches: boolean } | { readonly error: string };

/**
 * An empty selector matches everything. An unknown operator is an error, as it is for the API
 * server (which then selects nothing); callers decide how to report it.
 */
export function evaluateLabelSelector(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
): SelectorResult {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v) return { matches: false };
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const values = req.values ?? [];
    const needsValues = req.operator === 'In' || req.operator === 'NotIn';
    if (needsValues && values.length === 0)
      return { error: `operator ${req.operator} for key ${req.key} needs values` };
    if (!needsValues && values.length > 0 && (req.operator === 'Exists' || req.operator === 'DoesNotExist')) {
      return { error: `operator ${req.operator} for key ${req.key} takes no values` };
    }
    switch (req.operator) {
      case 'In':
        if (!has || !values.includes(labels[req.key] as string)) return { matches: false };
        break;
      case 'NotIn':
        // An absent label satisfies NotIn.
        if (has && values.includes(labels[req.key] as string)) return { matches: false };
        break;
      case 'Exists':
        if (!has) return { matches: false };
        break;
      case 'DoesNotExist':
        if (has) return { matches: false };
        break;
      default:
        return { error: `unknown label selector operator ${JSON.stringify(req.operator)} for key ${req.key}` };
    }
  }
  return { matches: true };
}

export function labelSelectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const r = evaluateLabelSelector(selector, labels);
  return 'matches' in r && r.matches;
}
