import { useState } from 'preact/hooks';
import { peers as readPeers, settings as readSettings, view } from '../api';
import { errorText, usePoll, when } from '../poll';
import { HeaderRow } from '../parts/header-row';
import type { AgentCard, PeerStatus, SettingsView } from '../wire';

/** The agent's card, this pod (identity, readiness, settings and pending restarts), and the peers it discovered. */
export function AgentView({ card }: { card: AgentCard | undefined }) {
  const [ready, setReady] = useState<boolean | undefined>(undefined);
  const [settings, setSettings] = useState<SettingsView | undefined>(undefined);
  const [peers, setPeers] = useState<PeerStatus[] | undefined>(undefined);
  const [error, setError] = useState('');

  usePoll(
    async () => {
      const readyz = await view('/readyz');
      setReady(readyz.ok);
      try {
        setSettings(await readSettings());
        setPeers(await readPeers());
        setError('');
      } catch (e) {
        setError(errorText(e));
      }
    },
    2000,
    [],
  );

  if (card === undefined) return <p>Loading the agent card…</p>;
  const pending = (settings?.settings ?? []).filter((s) => s.restartPending).map((s) => s.name);
  return (
    <section aria-labelledby="agent-title">
      <h2 id="agent-title">
        {card.name} <span class="muted">version {card.version}</span>
      </h2>
      <p>{card.description}</p>
      <dl class="facts">
        <dt>This pod</dt>
        <dd>
          <code>{settings?.pod.name ?? '…'}</code>
          {settings?.pod.namespace !== undefined && <> in namespace <code>{settings.pod.namespace}</code></>}
          {settings !== undefined && <> at <code>{settings.pod.podUrl}</code></>}
        </dd>
        <dt>Readiness</dt>
        <dd>
          <span class={`state ${ready ? 'state-completed' : 'state-failed'}`}>{ready === undefined ? '…' : ready ? 'ready' : 'not ready'}</span>
        </dd>
        <dt>Restart pending for</dt>
        <dd>{pending.length === 0 ? 'no setting' : pending.join(', ')}</dd>
      </dl>
      <h3>Interfaces</h3>
      <ul>
        {(card.supportedInterfaces ?? []).map((i) => (
          <li key={`${i.protocolBinding}-${i.protocolVersion}`}>
            {i.protocolBinding} {i.protocolVersion} at <code>{i.url}</code>
          </li>
        ))}
      </ul>
      <h3>Skills</h3>
      <ul class="skills">
        {card.skills.map((s) => (
          <li key={s.id}>
            <strong>{s.name}</strong> <code>{s.id}</code>
            <p>{s.description}</p>
            {(s.examples ?? []).length > 0 && (
              <details>
                <summary>Examples</summary>
                <ul>
                  {s.examples!.map((e, i) => (
                    <li key={i}>
                      <code>{e}</code>
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </li>
        ))}
      </ul>
      {settings !== undefined && (
        <details class="settings">
          <summary>Settings in force ({settings.settings.length})</summary>
          <table>
            <caption>Credentials are never shown; live settings apply without a restart</caption>
            <HeaderRow columns={['Setting', 'Value', 'Default', 'Applies']} />
            <tbody>
              {settings.settings.map((s) => (
                <tr key={s.name} data-setting={s.name}>
                  <td>
                    <code>{s.name}</code>
                  </td>
                  <td>
                    <code>{s.value ?? ''}</code>
                  </td>
                  <td>
                    <code>{s.default ?? ''}</code>
                  </td>
                  <td>{s.restartPending ? 'edited: after a restart' : s.live ? 'live' : 'at start'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      <h3>Peers</h3>
      {error !== '' && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {peers !== undefined && peers.length === 0 && <p class="muted">No peers are configured or discovered.</p>}
      {peers !== undefined && peers.length > 0 && (
        <table class="peers">
          <caption>Checked in the background; refreshed every 2 seconds</caption>
          <HeaderRow columns={['Peer', 'State', 'Source', 'Last check', 'Latency', 'Last answer', 'Last error', 'Next check']} />
          <tbody>
            {peers.map((p) => (
              <tr key={p.url} data-peer={p.url}>
                <td>
                  {p.name ?? ''} <code>{p.url}</code>
                </td>
                <td>
                  <span class={`state peer-${p.state}`}>{p.state}</span>
                </td>
                <td>{p.source}</td>
                <td>{when(p.lastCheckAt)}</td>
                <td>{p.lastCheckMs === undefined ? '' : `${p.lastCheckMs} ms`}</td>
                <td>{when(p.lastSeen)}</td>
                <td>{lastError(p)}</td>
                <td>{when(p.nextCheckAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function lastError(peer: PeerStatus): string {
  if (peer.lastError === undefined) return '';
  const since = peer.consecutiveFailures === 0 ? 'answered since' : `${peer.consecutiveFailures} in a row`;
  return `${peer.lastError} (${when(peer.lastErrorAt)}, ${since})`;
}
