/** JSON as a tree of native disclosure widgets: keyboard-operable without any script of ours. */
export function JsonTree({ value, label, open = true }: { value: unknown; label?: string; open?: boolean }) {
  if (value === null || typeof value !== 'object') {
    return (
      <div class="json-leaf">
        {label !== undefined && <span class="json-key">{label}: </span>}
        <span class={`json-${value === null ? 'null' : typeof value}`}>{JSON.stringify(value)}</span>
      </div>
    );
  }
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return (
    <details class="json-node" open={open}>
      <summary>
        {label !== undefined && <span class="json-key">{label} </span>}
        <span class="json-count">{summary}</span>
      </summary>
      <div class="json-children">
        {entries.map(([key, child]) => (
          <JsonTree key={key} label={key} value={child} open={false} />
        ))}
      </div>
    </details>
  );
}
