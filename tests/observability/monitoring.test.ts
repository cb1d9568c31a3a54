import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KAGENT_DIR, render } from '../kubernetes/manifests.js';
import type { KubeObject } from '../kubernetes/manifests.js';
import { readQuery } from '../kubernetes/promql.js';
import { needKustomize, needPostgres } from '../support/prerequisites.js';
import { exportedLabels, valueOf } from '../support/metrics.js';
import type { Sample } from '../support/metrics.js';
import { LLM_USAGE, startWorkingAgents } from './working-agents.js';
import type { WorkingAgents } from './working-agents.js';

// Runs real agent processes (and the shared store on the machine's PostgreSQL:
// skipped with a notice without it, failing under CI=true), and renders the
// monitoring component with a real Kustomize.
const postgres = await needPostgres();
const kustomize = needKustomize();

/**
 * Series the alerts and the dashboard read from other exporters, by who
 * exports them: kube-state-metrics (the StatefulSet's wanted and ready pods)
 * and the kubelet (the data volume's room). Everything else must come from
 * the agent.
 */
const FROM_OTHER_EXPORTERS: ReadonlyMap<string, readonly string[]> = new Map([
  ['kube_statefulset_replicas', ['namespace', 'statefulset']],
  ['kube_statefulset_status_replicas_ready', ['namespace', 'statefulset']],
  ['kubelet_volume_stats_available_bytes', ['namespace', 'persistentvolumeclaim']],
  ['kubelet_volume_stats_capacity_bytes', ['namespace', 'persistentvolumeclaim']],
]);

/** Labels Prometheus puts on every series it scrapes through the ServiceMonitor (target labels), and histograms' `le`. */
const TARGET_LABELS = new Set(['job', 'namespace', 'pod', 'service', 'instance', 'endpoint', 'container', 'le']);

/** What is wrong with one query, measured against what the agents export. */
function queryProblems(expr: string, exported: Map<string, Set<string>>): string[] {
  const use = readQuery(expr);
  if (use.syntaxErrors.length > 0) return use.syntaxErrors;
  const problems: string[] = [];
  const labelsOf = (metric: string) => new Set([...(exported.get(metric) ?? FROM_OTHER_EXPORTERS.get(metric) ?? []), ...TARGET_LABELS]);
  for (const { metric, labels } of use.selectors) {
    if (!exported.has(metric) && !FROM_OTHER_EXPORTERS.has(metric)) {
      problems.push(`${metric} is not exported`);
      continue;
    }
    for (const label of labels) if (!labelsOf(metric).has(label)) problems.push(`${metric} has no label ${label}`);
  }
  // A label grouped or joined by must be on at least one of the series the expression reads.
  const everyLabel = new Set(use.selectors.flatMap(({ metric }) => [...labelsOf(metric)]));
  for (const label of use.grouping) if (!everyLabel.has(label)) problems.push(`no series here has the label ${label} grouped by`);
  return problems;
}

interface Alert {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alertsOf(objects: KubeObject[]): Alert[] {
  const rule = objects.find((o) => o.kind === 'PrometheusRule');
  assert.ok(rule, 'no PrometheusRule rendered');
  return (rule.spec as { groups: { rules: Alert[] }[] }).groups.flatMap((g) => g.rules);
}

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

function dashboardOf(objects: KubeObject[]): { panels: Panel[] } {
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
  assert.ok(configMap, 'no ConfigMap with the Grafana sidecar label grafana_dashboard: "1"');
  const data = (configMap as { data?: Record<string, string> }).data ?? {};
  const [file, json] = Object.entries(data)[0] ?? [];
  assert.ok(file?.endsWith('.json') && json !== undefined, 'the dashboard ConfigMap holds no .json file');
  return JSON.parse(json) as { panels: Panel[] };
}

/** GitHub's anchor for a Markdown heading. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

describe('the metrics of agents that have done real work', postgres, () => {
  let agents: WorkingAgents;
  let pod0: Sample[];
  let pod1: Sample[];
  let shared1: Sample[];
  let exported: Map<string, Set<string>>;

  before(async () => {
    agents = await startWorkingAgents({ shared: postgres.skip === false });
    pod0 = await agents.scrape(agents.pods[0]!);
    pod1 = await agents.scrape(agents.pods[1]!);
    shared1 = agents.shared.length > 0 ? await agents.scrape(agents.shared[1]!) : [];
    const all = [...pod0, ...pod1, ...shared1, ...(agents.shared.length > 0 ? await agents.scrape(agents.shared[0]!) : [])];
    exported = exportedLabels(all);
  });

  after(async () => {
    await agents?.dispose();
  });

  test('outbound A2A calls are counted by peer, method and outcome, and the retry of the refused first call too', () => {
    assert.equal(agents.refused, 1, 'the proxy refused one call');
    const peer = agents.peerHost;
    assert.equal(valueOf(pod0, 'kagent_a2a_outbound_calls_total', { peer, method: 'SendStreamingMessage', outcome: 'ok' }), 1);
    assert.equal(valueOf(pod0, 'kagent_a2a_outbound_retries_total', { peer, method: 'SendStreamingMessage' }), 1);
    assert.equal(valueOf(pod0, 'kagent_delegations_total', { peer, outcome: 'delegated' }), 1);
  });

  test('task durations by skill and final state', () => {
    for (const skill of ['delegate', 'echo', 'assistant']) {
      assert.ok((valueOf(pod0, 'kagent_task_duration_seconds_count', { skill, state: 'completed' }) ?? 0) >= 1, `${skill} run timed`);
    }
    assert.ok(exported.get('kagent_task_duration_seconds_bucket')?.has('le'));
  });

  test('tasks running now, per pod: the autoscaling signal is there and idle pods say 0', () => {
    assert.equal(valueOf(pod0, 'kagent_tasks_running'), 0);
    assert.equal(valueOf(pod1, 'kagent_tasks_running'), 0);
  });

  test('owner routing: the relayed read on kagent-1, the OWNER_UNAVAILABLE answer on kagent-0', () => {
    assert.equal(valueOf(pod1, 'kagent_owner_routing_total', { outcome: 'forwarded' }), 1);
    assert.equal(valueOf(pod0, 'kagent_owner_routing_total', { outcome: 'owner_unavailable' }), 1);
  });

  test('store operation latency, by operation', () => {
    for (const operation of ['createTask', 'applyRunChanges', 'getTask']) {
      assert.ok((valueOf(pod0, 'kagent_store_operation_duration_seconds_count', { operation, outcome: 'ok' }) ?? 0) >= 1, operation);
    }
  });

  test('the shared store: the relayed events\' lag is measured on the pod that streamed them', postgres, () => {
    assert.ok((valueOf(shared1, 'kagent_event_relay_lag_seconds_count') ?? 0) >= 1);
  });

  test('the assistant\'s model calls and the tokens the endpoint reported', () => {
    assert.equal(valueOf(pod0, 'kagent_llm_calls_total', { outcome: 'ok' }), 1);
    assert.equal(valueOf(pod0, 'kagent_llm_tokens_total', { kind: 'prompt' }), LLM_USAGE.prompt_tokens);
    assert.equal(valueOf(pod0, 'kagent_llm_tokens_total', { kind: 'completion' }), LLM_USAGE.completion_tokens);
  });

  test('VAPORA\'s last answer and the discovery interval it is measured in', () => {
    const last = valueOf(pod0, 'kagent_vapora_last_healthy_timestamp_seconds');
    assert.ok(last !== undefined && Math.abs(Date.now() / 1000 - last) < 3600, `last answer ${last}`);
    assert.equal(valueOf(pod0, 'kagent_discovery_interval_seconds'), 0.5);
    assert.equal(valueOf(pod1, 'kagent_vapora_last_healthy_timestamp_seconds'), 0, 'no VAPORA_URL: 0, which the alert leaves alone');
  });

  test('Node\'s default process metrics', () => {
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']) {
      assert.ok(exported.has(name), name);
    }
  });

  test('label sets stay bounded: no task id, message text or peer URL in any label value', () => {
    const values = [...pod0, ...pod1, ...shared1].flatMap((s) => Object.values(s.labels));
    for (const secret of agents.secrets) assert.ok(!values.some((v) => v.includes(secret)), `"${secret}" appears in a label`);
    assert.ok(!values.some((v) => v.startsWith('http')), 'a URL appears in a label');
  });

  describe('every series an alert or a dashboard panel queries is one of these', kustomize, () => {
    let objects: KubeObject[];
    before(() => {
      objects = render('overlays/staging');
    });

    test('the alerts', () => {
      const problems = alertsOf(objects).flatMap((a) => queryProblems(a.expr, exported).map((p) => `${a.alert}: ${p}`));
      assert.deepEqual(problems, []);
    });

    test('the dashboard panels', () => {
      const panels = dashboardOf(objects).panels;
      const queried = panels.filter((p) => p.type !== 'row');
      assert.ok(queried.length >= 20, `only ${queried.length} panels`);
      const problems: string[] = [];
      for (const panel of queried) {
        assert.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" queries nothing`);
        for (const target of panel.targets ?? []) problems.push(...queryProblems(target.expr, exported).map((p) => `${panel.title}: ${p}`));
      }
      assert.deepEqual(problems, []);
    });

    test('the check catches a misspelt metric, an unknown label, a grouping by a missing label and a query that does not parse', () => {
      assert.deepEqual(queryProblems('rate(a2a_request_total[5m])', exported), ['a2a_request_total is not exported']);
      assert.deepEqual(queryProblems('a2a_requests_total{outcom="ok"}', exported), ['a2a_requests_total has no label outcom']);
      assert.deepEqual(queryProblems('sum by (skill) (a2a_requests_total)', exported), ['no series here has the label skill grouped by']);
      assert.equal(queryProblems('sum(rate(a2a_requests_total[5m])', exported).length, 1);
    });

    test('the dashboard covers traffic, errors, latency, tasks by state, streams, peers, config and pods', () => {
      const titles = dashboardOf(objects).panels.map((p) => p.title.toLowerCase()).join('\n');
      for (const topic of ['traffic', 'errors', 'latency', 'tasks', 'streams', 'peers', 'config', 'pods']) assert.match(titles, new RegExp(topic), topic);
      const queries = dashboardOf(objects).panels.flatMap((p) => p.targets ?? []).map((t) => t.expr).join('\n');
      assert.match(queries, /a2a_tasks\{[^}]*\}/, 'tasks by state');
      assert.match(queries, /by \(state\) \(a2a_tasks/, 'tasks by state');
    });

    test('every alert has a summary, a description and a runbook section that exists', () => {
      const runbook = readFileSync(join(KAGENT_DIR, 'RUNBOOK.md'), 'utf8');
      const anchors = new Set([...runbook.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => anchor(m[1]!)));
      const alerts = alertsOf(objects);
      const names = alerts.map((a) => a.alert);
      assert.equal(new Set(names).size, names.length, 'alert names are unique');
      for (const wanted of ['PodsNotReady', 'VaporaUnreachable', 'A2AErrorRatio', 'HighLatency', 'OwnerUnavailable', 'SkillFailures', 'ConfigReloadRejected', 'RestartPending', 'StreamsDisconnected', 'DataVolumeFilling']) {
        assert.ok(names.includes(`Kagent${wanted}`), `alert Kagent${wanted}`);
      }
      for (const alert of alerts) {
        const { summary, description, runbook_url: url } = alert.annotations ?? {};
        assert.ok(summary && description, `${alert.alert} has a summary and a description`);
        assert.ok(alert.labels?.severity, `${alert.alert} has a severity`);
        const match = /\/kubernetes\/kagent\/RUNBOOK\.md#([a-z0-9_-]+)$/.exec(url ?? '');
        assert.ok(match, `${alert.alert}: runbook_url ${url} points to a section of kubernetes/kagent/RUNBOOK.md`);
        assert.ok(anchors.has(match[1]!), `${alert.alert}: RUNBOOK.md has no section #${match[1]}`);
        assert.equal(match[1], anchor(alert.alert), `${alert.alert} links its own section`);
      }
    });

    test('every query selects the agent\'s series by the job of the metrics Service the ServiceMonitor scrapes', () => {
      const service = objects.find((o) => o.kind === 'Service' && o.metadata.labels?.['app.kubernetes.io/component'] === 'metrics');
      assert.ok(service);
      const exprs = [...alertsOf(objects).map((a) => a.expr), ...dashboardOf(objects).panels.flatMap((p) => p.targets ?? []).map((t) => t.expr)];
      for (const expr of exprs) {
        for (const job of expr.matchAll(/job="([^"]*)"/g)) assert.equal(job[1], service.metadata.name, expr);
      }
    });
  });
});
