import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig, parseDuration, readConfigFile } from '../../src/config/load.js';
import type { ConfigSources } from '../../src/config/load.js';
import { SETTINGS } from '../../src/config/schema.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ConfigError, nothing was thrown');
}

/** The ConfigError of loading one value for `key` from the environment. */
function envError(key: string, value: string): ConfigError {
  const error = configError(() => loadConfig({ env: { [key]: value } }));
  assert.equal(error.key, key);
  assert.equal(error.source, 'environment');
  assert.ok(error.message.includes(key) && error.message.includes('environment'), error.message);
  return error;
}

const env = (values: Record<string, string>) => loadConfig({ env: values });

describe('defaults', () => {
  test('settings nobody sets take their documented defaults', () => {
    const config = loadConfig({});
    const expected: Record<string, unknown> = {
      PORT: 8080,
      HOST: '0.0.0.0',
      DATA_DIR: './data',
      LOG_LEVEL: 'info',
      PUBLIC_URL: undefined,
      POD_NAME: undefined,
      AGENT_NAME: 'kagent',
      AGENT_DESCRIPTION: 'Kubernetes agent reachable over A2A',
      CONFORMANCE_AGENT: false,
      MAX_BODY_BYTES: 1048576,
      STREAM_HEARTBEAT_INTERVAL: 15_000,
      STREAM_BUFFER_EVENTS: 1024,
      TASK_RETENTION: 7 * 86_400_000,
      RETENTION_SWEEP_INTERVAL: 60_000,
      ECHO_MAX_DELAY: 300_000,
      SQLITE_SYNCHRONOUS: 'full',
      DRAIN_TIMEOUT: 20_000,
      CARD_CACHE_MAX_AGE: 300_000,
      A2A_PEERS: [],
    };
    for (const [key, value] of Object.entries(expected)) assert.deepEqual((config as Record<string, unknown>)[key], value, key);
  });

  test('the loaded config has exactly the schema keys', () => {
    assert.deepEqual(Object.keys(loadConfig({})).sort(), Object.keys(SETTINGS).sort());
  });
});

describe('precedence: defaults < file < environment < flags', () => {
  const file = { path: '/etc/kagent/config.yaml', values: { PORT: '1001', LOG_LEVEL: 'warn', AGENT_NAME: 'from-file' } };

  test('each later source wins over the earlier ones', () => {
    const sources: ConfigSources = {
      file,
      env: { PORT: '1002', LOG_LEVEL: 'debug' },
      flags: { PORT: '1003' },
    };
    const config = loadConfig(sources);
    assert.equal(config.PORT, 1003, 'flag beats environment');
    assert.equal(config.LOG_LEVEL, 'debug', 'environment beats file');
    assert.equal(config.AGENT_NAME, 'from-file', 'file beats default');
    assert.equal(config.HOST, '0.0.0.0', 'default when nobody sets it');
  });

  test('without the flag the environment wins; without both the file does', () => {
    assert.equal(loadConfig({ file, env: { PORT: '1002' } }).PORT, 1002);
    assert.equal(loadConfig({ file }).PORT, 1001);
  });

  test('an empty value does not override a lower source', () => {
    assert.equal(loadConfig({ file, env: { PORT: '' } }).PORT, 1001);
    assert.equal(loadConfig({ file, env: { PORT: '1002' }, flags: { PORT: '' } }).PORT, 1002);
  });

  test('an invalid lower-precedence value is not even parsed when a higher source sets the key', () => {
    assert.equal(loadConfig({ file: { path: 'f', values: { PORT: 'junk' } }, env: { PORT: '7' } }).PORT, 7);
  });

  test('the environment is read only for known names', () => {
    assert.doesNotThrow(() => loadConfig({ env: { PATH: '/usr/bin', PORTT: 'x', HOME: '/root' } }));
  });
});

describe('ConfigError names the key and the source', () => {
  test('from a file: the file path', () => {
    const error = configError(() => loadConfig({ file: { path: '/cfg/a.yaml', values: { PORT: 'eighty' } } }));
    assert.equal(error.key, 'PORT');
    assert.equal(error.source, '/cfg/a.yaml');
    assert.match(error.message, /PORT.*\/cfg\/a\.yaml.*"eighty"/);
  });

  test('from the environment', () => {
    envError('STREAM_BUFFER_EVENTS', '0');
  });

  test('from a flag: the flag as typed', () => {
    const error = configError(() => loadConfig({ flags: { PORT: '-1' } }));
    assert.equal(error.key, 'PORT');
    assert.equal(error.source, '--port');
    const conformance = configError(() => loadConfig({ flags: { CONFORMANCE_AGENT: 'maybe' } }));
    assert.equal(conformance.source, '--conformance');
  });

  test('an unknown key in a file is an error naming the key and the file', () => {
    const error = configError(() => loadConfig({ file: { path: '/cfg/typo.yaml', values: { PORT: '80', LOG_LEVLE: 'debug' } } }));
    assert.equal(error.key, 'LOG_LEVLE');
    assert.equal(error.source, '/cfg/typo.yaml');
    assert.match(error.message, /LOG_LEVLE/);
  });
});

describe('int', () => {
  test('integers within range, surrounding space ignored', () => {
    assert.equal(env({ PORT: '0' }).PORT, 0);
    assert.equal(env({ PORT: '65535' }).PORT, 65535);
    assert.equal(env({ PORT: ' 9000 ' }).PORT, 9000);
    assert.equal(env({ MAX_BODY_BYTES: '1024' }).MAX_BODY_BYTES, 1024);
  });

  for (const value of ['abc', '1.5', '1e3', '0x10', '12px', '--1']) {
    test(`${JSON.stringify(value)} is not an integer`, () => assert.match(envError('PORT', value).message, /not an integer/));
  }

  for (const [key, value] of [['PORT', '65536'], ['PORT', '-1'], ['MAX_BODY_BYTES', '1023'], ['STREAM_BUFFER_EVENTS', '1000001']] as const) {
    test(`${key}=${value} is out of range`, () => assert.match(envError(key, value).message, /outside/));
  }
});

describe('duration', () => {
  const cases: [string, number][] = [
    ['250', 250],
    ['1500ms', 1500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    [' 10s ', 10_000],
  ];
  for (const [text, ms] of cases) {
    test(`${JSON.stringify(text)} = ${ms} ms`, () => {
      assert.equal(parseDuration(text), ms);
      assert.equal(env({ DRAIN_TIMEOUT: text }).DRAIN_TIMEOUT, ms);
    });
  }

  for (const text of ['5 minutes', '-1s', '1w', 's', '1.s', '5S', '10 s', 'soon']) {
    test(`${JSON.stringify(text)} is not a duration`, () => {
      assert.equal(parseDuration(text), undefined);
      assert.match(envError('DRAIN_TIMEOUT', text).message, /not a duration/);
    });
  }

  test('a duration below the minimum is refused', () => {
    assert.match(envError('STREAM_HEARTBEAT_INTERVAL', '50ms').message, /minimum 100ms/);
    assert.match(envError('TASK_RETENTION', '999').message, /minimum 1000ms/);
    assert.equal(env({ STREAM_HEARTBEAT_INTERVAL: '100ms' }).STREAM_HEARTBEAT_INTERVAL, 100);
    assert.equal(env({ DRAIN_TIMEOUT: '0' }).DRAIN_TIMEOUT, 0);
  });

  // A Node timer set beyond 2^31-1 ms fires after 1 ms instead: an interval of 30d would run every millisecond.
  test('a duration longer than a timer can wait is refused, naming the setting and the limit', () => {
    // Ages, compared with timestamps and never put on a timer, may be longer (see the next test).
    const ages = ['TASK_RETENTION', 'AUTH_MAX_TOKEN_LIFETIME'];
    // A setting with a bound of its own (PUSH_TIMEOUT) is checked against that bound below.
    const timed = Object.entries(SETTINGS).filter(([name, spec]) => spec.type.kind === 'duration' && !ages.includes(name) && !('maxMs' in spec.type));
    assert.ok(timed.length >= 8, timed.map(([name]) => name).join(', '));
    for (const [name] of timed) {
      assert.match(envError(name, '25d').message, /longer than the maximum 2147483647ms/, name);
      assert.equal(env({ [name]: '24d' })[name as keyof typeof SETTINGS], 24 * 86_400_000, name);
    }
    assert.match(envError('A2A_DISCOVERY_INTERVAL', '99999999999999999999999999d').message, /longer than the maximum/);
    assert.match(envError('PUSH_TIMEOUT', '61s').message, /PUSH_TIMEOUT.*longer than the maximum 60000ms/);
    assert.match(envError('PUSH_TIMEOUT', '100ms').message, /PUSH_TIMEOUT.*shorter than the minimum 500ms/);
  });

  test('the retention and the longest token lifetime are ages, not timers: they may be years, up to ten', () => {
    assert.equal(env({ TASK_RETENTION: '365d' }).TASK_RETENTION, 365 * 86_400_000);
    assert.match(envError('TASK_RETENTION', '3651d').message, /longer than the maximum 3650d/);
    assert.equal(env({ AUTH_MAX_TOKEN_LIFETIME: '30d' }).AUTH_MAX_TOKEN_LIFETIME, 30 * 86_400_000);
    assert.match(envError('AUTH_MAX_TOKEN_LIFETIME', '3651d').message, /longer than the maximum 3650d/);
  });
});

describe('bool', () => {
  for (const text of ['true', '1', 'yes', 'on', 'TRUE', 'Yes', 'On']) {
    test(`${text} is true`, () => assert.equal(env({ CONFORMANCE_AGENT: text }).CONFORMANCE_AGENT, true));
  }
  for (const text of ['false', '0', 'no', 'off', 'False', 'OFF']) {
    test(`${text} is false`, () => assert.equal(loadConfig({ env: { CONFORMANCE_AGENT: text }, file: { path: 'f', values: { CONFORMANCE_AGENT: 'true' } } }).CONFORMANCE_AGENT, false));
  }
  for (const text of ['maybe', '2', 'y', 'enabled']) {
    test(`${text} is refused`, () => assert.match(envError('CONFORMANCE_AGENT', text).message, /not a boolean/));
  }
});

describe('enum', () => {
  test('every listed value is accepted', () => {
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) assert.equal(env({ LOG_LEVEL: level }).LOG_LEVEL, level);
    assert.equal(env({ SQLITE_SYNCHRONOUS: 'normal' }).SQLITE_SYNCHRONOUS, 'normal');
  });

  test('a value outside the list is refused, and the error lists the choices', () => {
    const error = envError('LOG_LEVEL', 'verbose');
    assert.match(error.message, /"verbose"/);
    assert.match(error.message, /fatal, error, warn, info, debug, trace, silent/);
    envError('SQLITE_SYNCHRONOUS', 'off');
  });
});

describe('url', () => {
  test('http and https URLs, trailing slashes stripped', () => {
    assert.equal(env({ PUBLIC_URL: 'https://a2a.example.com/' }).PUBLIC_URL, 'https://a2a.example.com');
    assert.equal(env({ PUBLIC_URL: 'http://kagent-0.kagent:8080/base//' }).PUBLIC_URL, 'http://kagent-0.kagent:8080/base');
    assert.equal(env({ PUBLIC_URL: 'http://localhost:9000' }).PUBLIC_URL, 'http://localhost:9000');
  });

  test('relative or non-http URLs are refused', () => {
    assert.match(envError('PUBLIC_URL', 'a2a.example.com').message, /not an absolute URL/);
    assert.match(envError('PUBLIC_URL', '/path/only').message, /not an absolute URL/);
    assert.match(envError('PUBLIC_URL', 'ftp://example.com/').message, /not an http\(s\) URL/);
  });
});

describe('list', () => {
  const peers = (value: string) => env({ A2A_PEERS: value }).A2A_PEERS;

  test('commas and whitespace separate items; empty items vanish', () => {
    assert.deepEqual(peers('http://a:8080, http://b:8080 ,http://c'), ['http://a:8080', 'http://b:8080', 'http://c']);
    assert.deepEqual(peers('http://a http://b\thttp://c'), ['http://a', 'http://b', 'http://c']);
    assert.deepEqual(peers(',,http://solo,,'), ['http://solo']);
  });

  test('a whitespace-only value is the empty list', () => {
    assert.deepEqual(peers('   '), []);
  });

  test('a file value is split the same way', () => {
    assert.deepEqual(loadConfig({ file: { path: 'f', values: { A2A_PEERS: 'http://x,http://y' } } }).A2A_PEERS, ['http://x', 'http://y']);
  });
});

describe('strings', () => {
  test('are trimmed and kept', () => {
    assert.equal(env({ AGENT_NAME: '  my agent ' }).AGENT_NAME, 'my agent');
    assert.equal(env({ POD_NAME: 'kagent-3' }).POD_NAME, 'kagent-3');
  });
});

describe('readConfigFile', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kagent-config-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  test('YAML: scalars of every kind become strings', () => {
    const path = write(
      'config.yaml',
      ['# ConfigMap-style data', 'PORT: 9090', 'LOG_LEVEL: debug', 'CONFORMANCE_AGENT: true', 'PUBLIC_URL: "https://a2a.example.com/"', 'TASK_RETENTION: 2d', 'STREAM_HEARTBEAT_INTERVAL: "500ms"', ''].join('\n'),
    );
    const values = readConfigFile(path);
    assert.deepEqual(values, {
      PORT: '9090',
      LOG_LEVEL: 'debug',
      CONFORMANCE_AGENT: 'true',
      PUBLIC_URL: 'https://a2a.example.com/',
      TASK_RETENTION: '2d',
      STREAM_HEARTBEAT_INTERVAL: '500ms',
    });
    const config = loadConfig({ file: { path, values } });
    assert.equal(config.PORT, 9090);
    assert.equal(config.LOG_LEVEL, 'debug');
    assert.equal(config.CONFORMANCE_AGENT, true);
    assert.equal(config.PUBLIC_URL, 'https://a2a.example.com');
    assert.equal(config.TASK_RETENTION, 2 * 86_400_000);
    assert.equal(config.STREAM_HEARTBEAT_INTERVAL, 500);
  });

  test('JSON', () => {
    const path = write('config.json', JSON.stringify({ PORT: 7070, HOST: '127.0.0.1', CONFORMANCE_AGENT: false }));
    assert.deepEqual(readConfigFile(path), { PORT: '7070', HOST: '127.0.0.1', CONFORMANCE_AGENT: 'false' });
  });

  test('an empty file or one with only comments sets nothing', () => {
    assert.deepEqual(readConfigFile(write('empty.yaml', '')), {});
    assert.deepEqual(readConfigFile(write('comments.yaml', '# nothing here\n')), {});
  });

  test('a nested map or a list as a value is refused, naming the key and the file', () => {
    const nested = write('nested.yaml', 'PORT: 80\nLOG_LEVEL:\n  level: debug\n');
    const error = configError(() => readConfigFile(nested));
    assert.equal(error.key, 'LOG_LEVEL');
    assert.equal(error.source, nested);
    const list = write('list.json', JSON.stringify({ HOST: ['a', 'b'] }));
    const listError = configError(() => readConfigFile(list));
    assert.equal(listError.key, 'HOST');
    assert.equal(listError.source, list);
  });

  test('a document that is not a map is refused', () => {
    for (const [name, text] of [['list.yaml', '- PORT\n- 80\n'], ['scalar.yaml', 'just text\n'], ['number.json', '42']]) {
      const path = write(name, text);
      const error = configError(() => readConfigFile(path));
      assert.equal(error.key, '--config');
      assert.equal(error.source, path);
      assert.match(error.message, /map of setting names/);
    }
  });

  test('unparseable YAML and a missing file are ConfigErrors naming the file', () => {
    const broken = write('broken.yaml', 'PORT: [80\n');
    assert.equal(configError(() => readConfigFile(broken)).source, broken);
    const missing = join(dir, 'absent.yaml');
    const error = configError(() => readConfigFile(missing));
    assert.equal(error.key, '--config');
    assert.equal(error.source, missing);
  });

  test('an unknown key read from a file fails at load', () => {
    const path = write('typo.yaml', 'PORT: 80\nPROT: 81\n');
    const error = configError(() => loadConfig({ file: { path, values: readConfigFile(path) } }));
    assert.equal(error.key, 'PROT');
    assert.equal(error.source, path);
  });
});
