// Reads PromQL with Prometheus' own grammar (@prometheus-io/lezer-promql) and
// lists what an expression asks of the metrics it selects: metric names, the
// labels each selector matches on, and the labels it groups or joins by.
import { parser } from '@prometheus-io/lezer-promql';

export interface Selector {
  metric: string;
  /** Labels the selector matches on, e.g. job and outcome in a2a_requests_total{job="…", outcome="ok"}. */
  labels: string[];
}

export interface QueryUse {
  selectors: Selector[];
  /** Labels named in by (…), without (…), on (…) and ignoring (…). */
  grouping: string[];
  /** Where the grammar could not read the expression (empty when it parsed). */
  syntaxErrors: string[];
}

export function readQuery(expr: string): QueryUse {
  const use: QueryUse = { selectors: [], grouping: [], syntaxErrors: [] };
  const text = (from: number, to: number) => expr.slice(from, to);
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) {
        use.syntaxErrors.push(`cannot parse at offset ${node.from}: "${text(Math.max(0, node.from - 20), node.from + 20)}"`);
        return false;
      }
      if (node.name === 'VectorSelector') {
        const selector: Selector = { metric: '', labels: [] };
        const identifier = node.node.getChild('Identifier');
        if (identifier !== null) selector.metric = text(identifier.from, identifier.to);
        const matchers = node.node.getChild('LabelMatchers');
        for (const matcher of matchers?.getChildren('UnquotedLabelMatcher') ?? []) {
          const name = matcher.getChild('LabelName');
          if (name === null) continue;
          const label = text(name.from, name.to);
          if (label === '__name__') throw new Error(`"${expr}": select metrics by name, not by __name__, so that the name can be checked`);
          selector.labels.push(label);
        }
        if (matchers?.getChild('QuotedLabelMatcher') || matchers?.getChild('QuotedLabelName')) {
          throw new Error(`"${expr}": quoted label or metric names are not used here`);
        }
        if (selector.metric === '') throw new Error(`"${expr}": a selector without a metric name`);
        use.selectors.push(selector);
        return false;
      }
      if (node.name === 'GroupingLabels') {
        for (const name of node.node.getChildren('LabelName')) use.grouping.push(text(name.from, name.to));
        return false;
      }
      return undefined;
    },
  });
  return use;
}
