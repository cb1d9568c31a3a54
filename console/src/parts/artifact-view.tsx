import type { Artifact, Part } from '../wire';
import { FindingsByObject, FindingsTable, findingsOf } from './findings';
import { JsonTree } from './json-tree';

/** One part: text as text, data as a tree (or findings), a file by its name. */
export function PartView({ part, skill }: { part: Part; skill?: string }) {
  if (part.text !== undefined) return <pre class="text-part">{part.text}</pre>;
  if (part.data !== undefined) {
    const findings = findingsOf(part.data);
    if (findings !== undefined && skill === 'cluster-diagnose') return <FindingsByObject findings={findings} />;
    if (findings !== undefined) return <FindingsTable findings={findings} />;
    return <JsonTree value={part.data} />;
  }
  if (part.url !== undefined) return <p class="file-part">file at {part.url}</p>;
  if (part.raw !== undefined) return <p class="file-part">file {part.filename ?? '(unnamed)'} ({part.mediaType ?? 'no media type'}, {Math.floor((part.raw.length * 3) / 4)} bytes)</p>;
  return null;
}

export function ArtifactView({ artifact, skill }: { artifact: Artifact; skill?: string }) {
  return (
    <section class="artifact" aria-label={`artifact ${artifact.name ?? artifact.artifactId}`}>
      <h3>
        {artifact.name ?? artifact.artifactId}
        {artifact.description !== undefined && <span class="muted"> — {artifact.description}</span>}
      </h3>
      {artifact.parts.map((part, i) => (
        <PartView key={i} part={part} {...(skill === undefined ? {} : { skill })} />
      ))}
    </section>
  );
}

/** Merges an artifact update into a task's artifacts (appending parts when the update says so). */
export function mergeArtifact(artifacts: Artifact[], update: Artifact, append: boolean): Artifact[] {
  const at = artifacts.findIndex((a) => a.artifactId === update.artifactId);
  if (at < 0) return [...artifacts, update];
  const current = artifacts[at]!;
  const merged = append ? { ...current, parts: joinParts(current.parts, update.parts) } : update;
  return artifacts.map((a, i) => (i === at ? merged : a));
}

/** Streamed text arrives in pieces: consecutive text parts read as one. */
function joinParts(before: Part[], added: Part[]): Part[] {
  const last = before[before.length - 1];
  const first = added[0];
  if (last?.text !== undefined && first?.text !== undefined && last.data === undefined && first.data === undefined) {
    return [...before.slice(0, -1), { ...last, text: last.text + first.text }, ...added.slice(1)];
  }
  return [...before, ...added];
}
