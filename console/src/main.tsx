import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { agentCard, ApiError, checkCredential, hasCredential, onUnauthenticated, setCredential } from './api';
import { errorText } from './poll';
import { AgentView } from './views/agent';
import { ChatView } from './views/chat';
import { HealthView } from './views/health';
import { SignIn } from './views/sign-in';
import { TaskView } from './views/task';
import { TasksView } from './views/tasks';
import type { AgentCard } from './wire';
import './style.css';

type Route = { view: 'tasks' } | { view: 'task'; id: string } | { view: 'chat' } | { view: 'agent' } | { view: 'health' };

function parseRoute(hash: string): Route {
  const [, first, second] = hash.replace(/^#/, '').split('/');
  if (first === 'tasks' && second) return { view: 'task', id: decodeURIComponent(second) };
  if (first === 'chat' || first === 'agent' || first === 'health') return { view: first };
  return { view: 'tasks' };
}

const NAV: readonly { view: Route['view']; href: string; label: string }[] = [
  { view: 'tasks', href: '#/tasks', label: 'Tasks' },
  { view: 'chat', href: '#/chat', label: 'Chat' },
  { view: 'agent', href: '#/agent', label: 'Agent' },
  { view: 'health', href: '#/health', label: 'Health' },
];

type Access = 'checking' | 'open' | 'needs-sign-in' | 'signed-in';

function App() {
  const [route, setRoute] = useState(parseRoute(location.hash));
  const [card, setCard] = useState<AgentCard | undefined>(undefined);
  const [access, setAccess] = useState<Access>('checking');
  const [error, setError] = useState('');

  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    const off = onUnauthenticated(() => {
      setCredential(undefined);
      setAccess('needs-sign-in');
    });
    agentCard().then(setCard, (e) => setError(errorText(e)));
    checkCredential().then(
      () => setAccess(hasCredential() ? 'signed-in' : 'open'),
      (e) => (e instanceof ApiError && e.httpStatus === 401 ? setAccess('needs-sign-in') : (setAccess('open'), setError(errorText(e)))),
    );
    return () => {
      removeEventListener('hashchange', onHash);
      off();
    };
  }, []);

  useEffect(() => {
    document.title = `${card?.name ?? 'kagent'} console`;
  }, [card]);

  // After a change of view, focus moves to the new view's content, for keyboard and screen-reader users;
  // on the first load it stays at the start of the page (the skip link comes first).
  const loaded = useRef(false);
  useEffect(() => {
    if (loaded.current) document.getElementById('main')?.focus();
    loaded.current = true;
  }, [route.view]);
  // Signing in replaces the form that held the focus.
  useEffect(() => {
    if (access === 'signed-in') document.getElementById('main')?.focus();
  }, [access]);

  const skills = (card?.skills ?? []).map((s) => s.id);
  const current = route.view === 'task' ? 'tasks' : route.view;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <h1>{card?.name ?? 'kagent'} console</h1>
        <nav aria-label="Views">
          <ul>
            {NAV.map((item) => (
              <li key={item.view}>
                <a href={item.href} aria-current={current === item.view ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {access === 'signed-in' && (
          <button
            type="button"
            class="link"
            onClick={() => {
              setCredential(undefined);
              setAccess('needs-sign-in');
            }}
          >
            Sign out
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {error !== '' && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        {access === 'checking' && <p>Connecting…</p>}
        {access === 'needs-sign-in' && <SignIn onSignedIn={() => setAccess('signed-in')} />}
        {(access === 'open' || access === 'signed-in') && (
          <>
            {route.view === 'tasks' && <TasksView skills={skills} />}
            {route.view === 'task' && <TaskView key={route.id} id={route.id} />}
            {route.view === 'chat' && <ChatView skills={skills} />}
            {route.view === 'agent' && <AgentView card={card} />}
            {route.view === 'health' && <HealthView />}
          </>
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
