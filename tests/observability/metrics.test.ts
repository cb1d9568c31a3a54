import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../../src/observability/metrics.js';
import { metricValue } from '../support/metrics.js';

test('every limit a refusal can name reads 0 before the first refusal, so a panel shows zero rather than no data', async () => {
  const text = await new Metrics().registry.metrics();
  for (const limit of ['rate', 'tasks', 'streams', 'unauthenticated']) {
    assert.equal(metricValue(text, 'kagent_limited_total', { limit }), 0, `kagent_limited_total{limit="${limit}"}`);
  }
});
