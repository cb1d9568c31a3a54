import { useState } from 'preact/hooks';

export interface Finding {
  severity: string;
  rule?: string;
  reason?: string;
  object: string;
  path?: string;
  message?: string;
  cause?: string;
  fix: string;
}

const RANK: Readonly<Record<string, number>> = { critical: 0, error: 1, warning: 2, info: 3 };

function rank(severity: string): number {
  return RANK[severity] ?? 9;
}

/** A data artifact that holds `findings` in the shape manifest-review and cluster-diagnose write. */
export function findingsOf(data: unknown): Finding[] | undefined {
  if (typeof data !== 'object' || data === null || !('findings' in data)) return undefined;
  const findings = (data as { findings: unknown }).findings;
  if (!Array.isArray(findings)) return undefined;
  const ok = findings.every((f) => typeof f === 'object' && f !== null && typeof f.severity === 'string' && typeof f.object === 'string');
  return ok ? (findings as Finding[]) : undefined;
}

/** manifest-review's findings: one table, sortable by severity, each with its fix. */
export function FindingsTable({ findings }: { findings: Finding[] }) {
  const [descending, setDescending] = useState(false);
  const sorted = [...findings].sort((a, b) => (rank(a.severity) - rank(b.severity)) * (descending ? -1 : 1));
  return (
    <table class="findings">
      <caption>{findings.length} findings</caption>
      <thead>
        <tr>
          <th scope="col" aria-sort={descending ? 'descending' : 'ascending'}>
            <button type="button" class="sort" onClick={() => setDescending(!descending)}>
              Severity {descending ? '↑' : '↓'}
            </button>
          </th>
          <th scope="col">Rule</th>
          <th scope="col">Object</th>
          <th scope="col">Path</th>
          <th scope="col">Finding</th>
          <th scope="col">Fix</th>
        </tr>
      </thead>
      <tbody>
        {sorted.map((f, i) => (
          <tr key={i}>
            <td>
              <span class={`severity severity-${f.severity}`}>{f.severity}</span>
            </td>
            <td>{f.rule ?? f.reason ?? ''}</td>
            <td>{f.object}</td>
            <td>
              <code>{f.path ?? ''}</code>
            </td>
            <td>{f.message ?? f.cause ?? ''}</td>
            <td>{f.fix}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** cluster-diagnose's findings, grouped by the object they are about. */
export function FindingsByObject({ findings }: { findings: Finding[] }) {
  const groups = new Map<string, Finding[]>();
  for (const f of [...findings].sort((a, b) => rank(a.severity) - rank(b.severity))) {
    groups.set(f.object, [...(groups.get(f.object) ?? []), f]);
  }
  return (
    <div class="diagnosis">
      {[...groups].map(([object, list]) => (
        <section key={object} class="diagnosis-object" aria-label={object}>
          <h4>{object}</h4>
          <ul>
            {list.map((f, i) => (
              <li key={i}>
                <span class={`severity severity-${f.severity}`}>{f.severity}</span> <strong>{f.reason ?? f.rule ?? ''}</strong> {f.cause ?? f.message ?? ''}
                <div class="fix">Fix: {f.fix}</div>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
