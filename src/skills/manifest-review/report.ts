import type { ReviewFinding, ReviewResult, ReviewSeverity } from './rules.js';
import { plural } from './values.js';

export interface Counts {
  errors: number;
  warnings: number;
  infos: number;
  objects: number;
}

export function countFindings(result: ReviewResult): Counts {
  const count = (severity: ReviewSeverity) => result.findings.filter((f) => f.severity === severity).length;
  return { errors: count('error'), warnings: count('warning'), infos: count('info'), objects: result.objects };
}

/**
 * What a review reports: at most `maxFindings` findings (the most serious
 * first), each field of bounded length, and the counts of all of them. A
 * megabyte of manifests can hold tens of thousands of findings; reporting
 * them all made artifacts many times the size of the request.
 */
export interface Report {
  findings: ReviewFinding[];
  /** Counts over every finding, shown or not. */
  counts: Counts;
  /** Findings left out of `findings`. */
  notShown: number;
  /** Reviewed objects without findings, up to `maxFindings` of them. */
  clean: string[];
  cleanNotShown: number;
}

/** Longest text of one finding field; object names and paths come from the request and can be as long as it is. */
const MAX_FIELD_LENGTH = 500;

function clip(text: string): string {
  return text.length > MAX_FIELD_LENGTH ? `${text.slice(0, MAX_FIELD_LENGTH)}…` : text;
}

export function boundedReport(result: ReviewResult, maxFindings: number): Report {
  const findings = result.findings.slice(0, maxFindings).map((f) => ({ ...f, object: clip(f.object), path: clip(f.path), message: clip(f.message), fix: clip(f.fix) }));
  const withFindings = new Set(result.findings.map((f) => f.object));
  const clean = [...new Set(result.names)].filter((name) => !withFindings.has(name));
  return {
    findings,
    counts: countFindings(result),
    notShown: result.findings.length - findings.length,
    clean: clean.slice(0, maxFindings).map(clip),
    cleanNotShown: Math.max(0, clean.length - maxFindings),
  };
}

/** "3 errors, 2 warnings in 7 objects" (notes counted only when there are some). */
export function summaryLine(counts: Counts): string {
  const notes = counts.infos > 0 ? `, ${plural(counts.infos, 'note')}` : '';
  return `${plural(counts.errors, 'error')}, ${plural(counts.warnings, 'warning')}${notes} in ${plural(counts.objects, 'object')}`;
}

/** "; 1200 more findings not shown (MAX_FINDINGS is 200)", or nothing when every finding is shown. */
export function notShownNote(report: Report, maxFindings: number): string {
  return report.notShown > 0 ? `; ${plural(report.notShown, 'more finding')} not shown (MAX_FINDINGS is ${maxFindings})` : '';
}

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function code(text: string): string {
  return text === '' ? '—' : `\`${text.replace(/`/g, 'ˋ').replace(/\|/g, '\\|')}\``;
}

const ICON: Record<ReviewSeverity, string> = { error: '❌ error', warning: '⚠️ warning', info: 'ℹ️ info' };

/** The Markdown report: a summary line, then a table per object with findings, then the clean objects. */
export function markdownReport(report: Report, sources: readonly string[], maxFindings: number): string {
  const lines = ['# Manifest review', '', `**${summaryLine(report.counts)}**${sources.length > 0 ? ` — reviewed: ${sources.map((s) => cell(clip(s))).join(', ')}` : ''}`, ''];
  if (report.notShown > 0) {
    lines.push(`Only the first ${plural(report.findings.length, 'finding')} (the most serious first) are listed: ${report.notShown} more not shown (MAX_FINDINGS is ${maxFindings}).`, '');
  }
  const byObject = new Map<string, ReviewFinding[]>();
  for (const finding of report.findings) {
    const group = byObject.get(finding.object) ?? [];
    group.push(finding);
    byObject.set(finding.object, group);
  }
  if (report.findings.length === 0) lines.push('No problems found.', '');
  for (const [object, findings] of byObject) {
    lines.push(`## ${cell(object)}`, '', '| Severity | Rule | Path | Problem | Fix |', '| --- | --- | --- | --- | --- |');
    for (const f of findings) lines.push(`| ${ICON[f.severity]} | ${code(f.rule)} | ${code(f.path)} | ${cell(f.message)} | ${cell(f.fix)} |`);
    lines.push('');
  }
  if (report.clean.length > 0) {
    lines.push(report.findings.length > 0 ? '## No findings' : '## Reviewed', '', ...report.clean.map((name) => `- ${cell(name)}`));
    if (report.cleanNotShown > 0) lines.push(`- … and ${plural(report.cleanNotShown, 'more object')}`);
    lines.push('');
  }
  return lines.join('\n');
}
