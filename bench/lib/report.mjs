// Markdown tables of a benchmark result, and the README section that shows the latest one.
import { readFileSync, writeFileSync } from 'node:fs';
import { SERVERS } from './servers.mjs';

const label = (k) => SERVERS[k]?.label ?? k;
const num = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toLocaleString('en-US', { maximumFractionDigits: digits }));
const ratio = (x) => (x === null || x === undefined || Number.isNaN(x) ? '–' : `${Number(x).toFixed(2)}×`);
const metMark = (met) => (met === true ? '✅ met' : met === false ? '❌ missed' : '–');

function cpuCell(server, client, others, noisy) {
  return [server, client, others].filter((x) => x !== undefined).map((x) => num(x, 0)).join(' / ') + (noisy ? ' (noisy)' : '');
}

function machineLine(r) {
  const m = r.machine;
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGB} GB RAM, Node ${m.node}, ${m.os}; load average at start ${m.loadAverageAtStart.join(' / ')}. ${m.note}`;
}

function settingsLine(r) {
  const s = r.settings;
  return `Mode **${r.mode}**: ${s.rounds} round(s) of alternation per load level (median reported), warm-up ${s.warmupMs / 1000} s then ${s.durationMs / 1000} s measured per run. Our server ran with LOG_LEVEL=${s.ourLogLevel}. CPU columns are % of one core during a run (server / load generator / everything else); "noisy" marks runs where everything else used more than 40%. @a2a-js/sdk ${s.sdkVersion}. Whole run: ${Math.round(r.durationS)} s.`;
}

export function targetsTable(r) {
  const rows = r.targets.map((t) => {
    const goal = `${t.better === 'higher' ? '≥' : '≤'} ${t.threshold}${t.unit === '×' ? '×' : ` ${t.unit}`}`;
    const value = t.unit === '×' ? ratio(t.value) : `${num(t.value)} ${t.unit}`;
    return `| ${t.text} | ${value} | ${goal} | ${metMark(t.met)}${t.note ? ` (${t.note})` : ''} |`;
  });
  return ['| target | measured | goal | |', '|---|---|---|---|', ...rows].join('\n');
}

function rrTable(s) {
  const lines = [
    '| connections | server | req/s | p50 ms | p99 ms | max ms | errors | peak RSS MB | CPU % server / load gen / others | ours ÷ this, req/s | ours ÷ this, p99 |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|',
  ];
  for (const l of s.levels) {
    for (const [k, f] of Object.entries(l.servers)) {
      const rr = k.startsWith('ours') ? undefined : l.ratios[`ours/${k}`];
      lines.push(
        `| ${l.connections} | ${label(k)}${f.invalid ? ' ⚠ more than 1% errors: not a valid figure' : ''} | ${num(f.rps, 0)} | ${num(f.p50Ms, 2)} | ${num(f.p99Ms, 2)} | ${num(f.maxMs, 1)} | ${f.errors} | ${num(f.peakRssMB, 0)} | ${num(f.serverCpuPct, 0)} / ${num(f.loadgenCpuPct, 0)} / ${num(f.otherCpuPct, 0)}${f.noisyRounds ? ` (${f.noisyRounds} noisy)` : ''} | ${rr ? ratio(rr.rps) : ''} | ${rr && k !== 'bare' ? ratio(rr.p99) : ''} |`,
      );
    }
  }
  return lines.join('\n');
}

function fanoutTable(s) {
  const lines = [
    '| subscribers | server | streams open | events timed | p50 ms | p99 ms | max ms | p99 progress events ms | p99 final event ms | errors | peak RSS MB | CPU % server / client / others | ours ÷ this, p99 |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const l of s.levels) {
    for (const [k, f] of Object.entries(l.servers)) {
      const rr = l.ratios[`ours/${k}`];
      lines.push(`| ${l.subscribers} | ${label(k)} | ${f.opened} | ${f.events} | ${num(f.p50Ms, 0)} | ${num(f.p99Ms, 0)} | ${num(f.maxMs, 0)} | ${num(f.progressP99Ms, 0)} | ${num(f.finalP99Ms, 0)} | ${f.errors} | ${num(f.peakRssMB, 0)} | ${cpuCell(f.serverCpuPct, f.clientCpuPct, f.otherCpuPct, f.noisy)} | ${rr ? ratio(rr.p99) : ''} |`);
    }
  }
  return lines.join('\n');
}

function idleTable(s) {
  const lines = [
    '| server | streams open after hold | open time ms | RSS before MB | peak RSS MB | KB per stream | errors | CPU % server / others | ours ÷ this, peak RSS |',
    '|---|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  const l = s.levels[0];
  for (const [k, f] of Object.entries(l.servers)) {
    const rr = l.ratios[`ours/${k}`];
    lines.push(`| ${label(k)} | ${f.stillOpenAfterHold} / ${f.streams} | ${f.openMs} | ${num(f.baselineRssMB, 0)} | ${num(f.peakRssMB, 0)} | ${num(f.kbPerStream, 1)} | ${f.errors} | ${cpuCell(f.serverCpuPct, undefined, f.otherCpuPct, f.noisy)} | ${rr ? ratio(rr.peakRssMB) : ''} |`);
  }
  return lines.join('\n');
}

function growthTable(s) {
  const lines = [
    '| server | tasks stored | tasks/s | stopped by | peak RSS MB | RSS growth after 10k tasks MB | disk MB | GetTask p50 / p99 ms at each checkpoint (tasks) | errors | CPU % server / others |',
    '|---|---:|---:|---|---:|---:|---:|---|---:|---|',
  ];
  for (const [k, f] of Object.entries(s.levels[0].servers)) {
    const cps = f.checkpoints.map((c) => `${num(c.getTaskP50Ms, 2)} / ${num(c.getTaskP99Ms, 2)} (${num(c.tasks, 0)})`).join('; ');
    lines.push(`| ${label(k)} | ${num(f.created, 0)} | ${num(f.perSecond, 0)} | ${f.stoppedBy} | ${num(f.peakRssMB, 0)} | ${num(f.rssGrowthAfter10kMB, 1)} | ${num(f.diskMB, 1)} | ${cps} | ${f.errors} | ${cpuCell(f.serverCpuPct, undefined, f.otherCpuPct, f.noisy)} |`);
  }
  return lines.join('\n');
}

function profileSection(p) {
  if (p.failed) return `## CPU profile of our server (${p.load})\n\nFailed: ${p.failed}\n`;
  const area = p.byArea.slice(0, 15).map((a) => `| ${a.what} | ${a.ms} | ${a.pctOfBusy}% |`);
  const self = p.topSelf.slice(0, 20).map((a) => `| \`${a.what}\` | ${a.ms} | ${a.pctOfBusy}% |`);
  const incl = p.topInclusiveOurs.slice(0, 15).map((a) => `| \`${a.what}\` | ${a.ms} | ${a.pctOfBusy}% |`);
  return [
    `## CPU profile of our server (${p.load})`,
    '',
    `${p.rpsUnderProfiler} req/s under the profiler; ${p.busyMs} ms busy of ${p.wallMs} ms (${p.idlePct}% idle); other processes used ${p.otherCpuPct}% of a core meanwhile. Self time of a function includes the native calls it makes (a better-sqlite3 statement, a socket write).`,
    '',
    '| area (self time) | ms | % of busy |',
    '|---|---:|---:|',
    ...area,
    '',
    '| function (self time) | ms | % of busy |',
    '|---|---:|---:|',
    ...self,
    '',
    '| our function (inclusive time) | ms | % of busy |',
    '|---|---:|---:|',
    ...incl,
    '',
  ].join('\n');
}

export function renderMarkdown(r) {
  const code = r.code ? `Code: commit ${r.code.commit}${r.code.changedSrcFiles ? ` with ${r.code.changedSrcFiles} changed file(s) under src/` : ''}${r.code.changedDuringRun ? `; ⚠ ${r.code.changedDuringRun}` : ''}.` : '';
  const out = [`# A2A server benchmark, ${r.date} (${r.mode})`, '', `Machine: ${machineLine(r)}`, '', `${settingsLine(r)} ${code}`, '', '## Targets', '', targetsTable(r), ''];
  out.push('Servers:', '', ...Object.entries(r.settings.servers).map(([k, v]) => `- **${label(k)}**: ${v}`), '');
  for (const s of r.scenarios) {
    out.push(`## ${s.title ?? s.id}`, '');
    if (s.failed) {
      out.push(`Failed: ${s.failed}`, '');
      continue;
    }
    for (const n of s.notes ?? []) out.push(`- ${n}`);
    for (const c of s.crashes ?? []) out.push(`- ⚠ ${label(c.server)} exited (${c.code ?? c.signal}) ${c.when} and was restarted; ${c.logTail.trim() === '' ? 'its log was empty' : `its log ended with: \`${c.logTail.split('\n').slice(-3).join(' ⏎ ').slice(0, 400)}\``}.`);
    if (s.seeded) out.push(`- Seeding: ${Object.entries(s.seeded).map(([k, v]) => `${label(k)} ${num(v.created, 0)} tasks at ${num(v.perSecond, 0)}/s`).join(', ')}.`);
    out.push('');
    if (s.kind === 'request-response') out.push(rrTable(s));
    else if (s.kind === 'fanout') out.push(fanoutTable(s));
    else if (s.kind === 'idle') out.push(idleTable(s));
    else if (s.kind === 'growth') out.push(growthTable(s));
    out.push('');
  }
  for (const p of r.profiles ?? []) out.push(profileSection(p));
  return `${out.join('\n')}\n`;
}

/** One line per scenario: the headline figure for each server and ours ÷ theirs. */
export function summaryTable(r) {
  const lines = [
    '| scenario | figure | ours | ours (sqlite normal) | SDK in-memory | SDK sqlite | bare node:http | ours ÷ SDK in-memory | ours ÷ SDK sqlite | ours ÷ bare |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const row = (name, figure, values, ratios) =>
    lines.push(
      `| ${name} | ${figure} | ${['ours', 'oursNormal', 'sdkMemory', 'sdkSqlite', 'bare'].map((k) => values[k] ?? '').join(' | ')} | ${['sdkMemory', 'sdkSqlite', 'bare'].map((k) => ratios[k] ?? '').join(' | ')} |`,
    );
  // The shared-store comparison has servers of its own: it gets a table of its own below.
  const onPostgres = (s) => s.levels.some((l) => 'oursPg' in l.servers);
  for (const s of r.scenarios.filter((x) => !x.failed && !onPostgres(x))) {
    for (const l of s.levels) {
      if (s.kind === 'request-response') {
        const v = {};
        const p = {};
        const rt = {};
        const pt = {};
        for (const [k, f] of Object.entries(l.servers)) {
          v[k] = num(f.rps, 0);
          p[k] = num(f.p99Ms, 2);
          if (!k.startsWith('ours')) {
            rt[k] = ratio(l.ratios[`ours/${k}`]?.rps);
            if (k !== 'bare') pt[k] = ratio(l.ratios[`ours/${k}`]?.p99);
          }
        }
        row(`${s.id} @${l.connections}`, 'req/s', v, rt);
        row(`${s.id} @${l.connections}`, 'p99 ms', p, pt);
      } else if (s.kind === 'fanout') {
        const v = {};
        const rt = {};
        for (const [k, f] of Object.entries(l.servers)) {
          v[k] = num(f.p99Ms, 0);
          if (k !== 'ours') rt[k] = ratio(l.ratios[`ours/${k}`]?.p99);
        }
        row(`fanout ${l.subscribers} subscribers`, 'p99 ms', v, rt);
      } else if (s.kind === 'idle') {
        const v = {};
        const rt = {};
        for (const [k, f] of Object.entries(l.servers)) {
          v[k] = num(f.peakRssMB, 0);
          if (k !== 'ours') rt[k] = ratio(l.ratios[`ours/${k}`]?.peakRssMB);
        }
        row(`${num(l.streams, 0)} idle streams`, 'peak RSS MB', v, rt);
      } else if (s.kind === 'growth') {
        const v = {};
        const t = {};
        for (const [k, f] of Object.entries(l.servers)) {
          v[k] = num(f.peakRssMB, 0);
          t[k] = num(f.created, 0);
        }
        row('store growth', 'tasks stored', t, {});
        row('store growth', 'peak RSS MB', v, {});
      }
    }
  }
  const pg = r.scenarios.filter((x) => !x.failed && onPostgres(x));
  if (pg.length > 0) {
    lines.push('', '| scenario | figure | ours (postgres) | SDK postgres | ours ÷ SDK postgres |', '|---|---|---:|---:|---:|');
    for (const s of pg) {
      for (const l of s.levels) {
        const ours = l.servers.oursPg;
        const theirs = l.servers.sdkPg;
        const ratios = l.ratios['oursPg/sdkPg'] ?? {};
        lines.push(`| ${s.id} @${l.connections} | req/s | ${num(ours?.rps, 0)} | ${num(theirs?.rps, 0)} | ${ratio(ratios.rps)} |`);
        lines.push(`| ${s.id} @${l.connections} | p99 ms | ${num(ours?.p99Ms, 2)} | ${num(theirs?.p99Ms, 2)} | ${ratio(ratios.p99)} |`);
      }
    }
  }
  return lines.join('\n');
}

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

/** Replaces the README's benchmark section (between the bench markers), or appends one. */
export function updateReadme(path, r, resultFile) {
  const section = [
    START,
    `Latest ${r.mode} run (${r.date.slice(0, 10)}): every figure in [${resultFile}](${resultFile}) and the .md beside it. \`npm run bench\` refreshes it (about 20 minutes); \`npm run bench -- --quick\` is a two-minute check; [bench/README.md](bench/README.md) says what each scenario does.`,
    `Machine: ${machineLine(r)}`,
    '',
    summaryTable(r),
    '',
    targetsTable(r),
    END,
  ].join('\n');
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const next = a !== -1 && b > a ? `${text.slice(0, a)}${section}${text.slice(b + END.length)}` : `${text.trimEnd()}\n\n## Performance\n\n${section}\n`;
  writeFileSync(path, next);
}
