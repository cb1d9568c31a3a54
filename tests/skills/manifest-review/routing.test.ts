import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looksLikeManifests, manifestReviewSkill } from '../../../src/skills/manifest-review/index.js';
import type { Message, Part } from '../../../src/model/model.js';

const message = (...parts: Part[]): Message => ({ messageId: 'm', role: 'user', parts });
const text = (value: string): Part => ({ kind: 'text', text: value });
const file = (value: string, extra: Partial<Part> = {}): Part => ({ kind: 'bytes', bytes: Buffer.from(value).toString('base64'), ...extra }) as Part;

const DEPLOYMENT = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n';

test('manifests in a text or file part route to the review', () => {
  assert.equal(looksLikeManifests(message(text(DEPLOYMENT))), true);
  assert.equal(looksLikeManifests(message(text(`---\n${DEPLOYMENT}---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n`))), true);
  assert.equal(looksLikeManifests(message(text('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}'))), true);
  assert.equal(looksLikeManifests(message(text('please look'), file(DEPLOYMENT, { filename: 'web.yaml' }))), true);
  assert.equal(looksLikeManifests(message({ kind: 'data', data: { manifests: [] } })), true);
});

test('what is not manifests does not', () => {
  assert.equal(looksLikeManifests(message(text('what kind of apiVersion should I use?'))), false);
  assert.equal(looksLikeManifests(message(text('apiVersion: v1\nname: no kind here\n'))), false);
  assert.equal(looksLikeManifests(message(text('kind: Deployment\napiVersion: [unclosed\n'))), false);
  assert.equal(looksLikeManifests(message(text('kubernetes/kagent/overlays/prod'))), false);
  assert.equal(looksLikeManifests(message(file('\x00\x01binary'))), false);
  assert.equal(looksLikeManifests(message({ kind: 'data', data: { apiVersion: 'v1' } })), false);
  assert.equal(looksLikeManifests(message({ kind: 'url', url: 'https://example.com/app.yaml' })), false);
});

test('the descriptor offers reading paths only when a root allows it', () => {
  const closed = manifestReviewSkill({ roots: [] }).descriptor;
  const open = manifestReviewSkill({ roots: ['/srv/manifests'] }).descriptor;
  assert.equal(closed.id, 'manifest-review');
  assert.deepEqual(closed.outputModes, ['application/json', 'text/markdown']);
  assert.doesNotMatch(closed.description, /Kustomize directory/);
  assert.match(open.description, /the path of a Kustomize directory under an allowed root/);
  assert.equal(open.examples!.length, closed.examples!.length + 1);
});
