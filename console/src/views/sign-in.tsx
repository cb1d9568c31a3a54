import { useState } from 'preact/hooks';
import { ApiError, checkCredential, setCredential } from '../api';
import type { Credential } from '../api';
import { errorText } from '../poll';

/** Asks for an API key or bearer token; it stays in this tab's memory only. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [kind, setKind] = useState<Credential['kind']>('api-key');
  const [value, setValue] = useState('');
  const [error, setError] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    setCredential({ kind, value: value.trim() });
    try {
      await checkCredential();
      setValue('');
      onSignedIn();
    } catch (e) {
      setCredential(undefined);
      setError(e instanceof ApiError && e.httpStatus === 401 ? 'The service did not accept this credential.' : errorText(e));
    }
  };
  return (
    <section aria-labelledby="sign-in-title" class="sign-in">
      <h2 id="sign-in-title">Sign in</h2>
      <p>This agent requires authentication. The credential is kept in this tab's memory only and sent with each call.</p>
      <form onSubmit={submit}>
        <fieldset>
          <legend>Credential</legend>
          <label class="inline">
            <input type="radio" name="kind" checked={kind === 'api-key'} onChange={() => setKind('api-key')} /> API key
          </label>
          <label class="inline">
            <input type="radio" name="kind" checked={kind === 'bearer'} onChange={() => setKind('bearer')} /> Bearer token (JWT)
          </label>
        </fieldset>
        <label for="credential">{kind === 'api-key' ? 'Your API key' : 'Your bearer token'}</label>
        <input id="credential" type="password" autocomplete="off" required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        <button type="submit">Sign in</button>
        {error !== '' && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
