import type { Finding, ReviewResult, Severity } from './rules.js';

export interface Counts {
  errors: number;
  warnings: number;
  infos: number;
  objects: number;
}

export function countFindings(result: ReviewResult): Counts {
  const count = (severity: Severity) => result.findings.filter((f) => f.severity === severity).length;
  return { errors: count('error'), warnings: count('warning'), infos: count('info'), objects: result.objects };
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** "3 errors, 2 warnings in 7 objects" (notes counted only when there are some). */
export function summaryLine(counts: Counts): string {
  const notes = counts.infos > 0 ? `, ${plural(counts.infos, 'note')}` : '';
  return `${plural(counts.errors, 'error')}, ${plural(counts.warnings, 'warning')}${notes} in ${plural(counts.objects, 'object')}`;
}

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function code(text: string): string {
  return text === '' ? '—' : `\`${text.replace(/`/g, 'ˋ').replace(/\|/g, '\\|')}\``;
}

const ICON: Record<Severity, string> = { error: '❌ error', warning: '⚠️ warning', info: 'ℹ️ info' };

/** The Markdown report: a summary line, then a table per object with findings, then the clean objects. */
export function markdownReport(result: ReviewResult, sources: readonly string[]): string {
  const counts = countFindings(result);
  const lines = ['# Manifest review', '', `**${summaryLine(counts)}**${sources.length > 0 ? ` — reviewed: ${sources.map(cell).join(', ')}` : ''}`, ''];
  const byObject = new Map<string, Finding[]>();
  for (const finding of result.findings) {
    const group = byObject.get(finding.object) ?? [];
    group.push(finding);
    byObject.set(finding.object, group);
  }
  if (result.findings.length === 0) lines.push('No problems found.', '');
  for (const [object, findings] of byObject) {
    lines.push(`## ${cell(object)}`, '', '| Severity | Rule | Path | Problem | Fix |', '| --- | --- | --- | --- | --- |');
    for (const f of findings) lines.push(`| ${ICON[f.severity]} | ${code(f.rule)} | ${code(f.path)} | ${cell(f.message)} | ${cell(f.fix)} |`);
    lines.push('');
  }
  const clean = [...new Set(result.names)].filter((name) => !byObject.has(name));
  if (clean.length > 0) lines.push(result.findings.length > 0 ? '## No findings' : '## Reviewed', '', ...clean.map((name) => `- ${cell(name)}`), '');
  return lines.join('\n');
}
