import type { JWTVerifyGetKey } from 'jose';
import type { Config } from '../config/load.js';
import { ConfigError } from '../config/load.js';
import type { Logger } from '../observability/logger.js';
import { ApiKeyStore } from './api-keys.js';
import type { CredentialVerifier } from './authenticator.js';
import { apiKeyVerifier, Authenticator, declarationsFor, jwtVerifier, trustedProxyVerifier } from './authenticator.js';
import { ClusterAssertion, clusterAssertionVerifier } from './cluster-assertion.js';
import { FailedAuthLimit } from './failed-auth-limit.js';
import { currentKey, JwtVerifier, keyFile, keysFromUrl } from './jwt.js';
import type { VerificationKey } from './jwt.js';
import type { JwksCache } from './jwks-cache.js';
import type { SecretFile } from './secret-file.js';
import { parseRateLimit, RateLimiter } from './rate-limit.js';
import { SkillPermissions } from './skill-permissions.js';
import { StaticToken } from './static-token.js';
import { TrustedNetworks } from './trusted-proxy.js';

/** Everything that decides who a caller is and what it may do, built from the settings. */
export interface CallerAuth {
  authenticator: Authenticator;
  permissions: SkillPermissions;
  rateLimiter: RateLimiter | undefined;
  /** Counts failed authentications per client address (RATE_LIMIT_UNAUTHENTICATED); absent when off or nothing needs a credential. */
  failedAuthLimit: FailedAuthLimit | undefined;
  metricsToken: StaticToken | undefined;
  /** Vouches for an authenticated caller to a sibling pod (relayed requests); absent without a cluster secret. */
  clusterAssertion: ClusterAssertion | undefined;
  /** Starts watching the key directory and the key and token files, and fetching the JWKS. */
  start(): void;
  stop(): void;
}

/** Checks and builds the auth settings; a missing or bad one is a ConfigError naming it. Nothing runs until start(). */
export function createCallerAuth(config: Config, logger: Logger, self: string): CallerAuth {
  const mode = config.AUTH_MODE;
  const permissions = SkillPermissions.parse(config.SKILL_PERMISSIONS);
  const limit = parseRateLimit(config.RATE_LIMIT);
  const rateLimiter = limit === undefined ? undefined : new RateLimiter(limit);
  const metricsToken =
    config.METRICS_TOKEN_FILE === undefined
      ? undefined
      : StaticToken.fromFile(config.METRICS_TOKEN_FILE, 'METRICS_TOKEN_FILE', {
          onReload: () => logger.info({ file: config.METRICS_TOKEN_FILE }, 'the metrics token was reloaded'),
          onError: (problem) => logger.error({ problem }, 'the metrics token file cannot be used'),
        });

  const clusterAssertion =
    config.AUTH_CLUSTER_SECRET_FILE === undefined ? undefined : ClusterAssertion.fromFile(config.AUTH_CLUSTER_SECRET_FILE, 'AUTH_CLUSTER_SECRET_FILE');
  // First in the chain: a relayed request names its caller by assertion, and a bad one is refused outright.
  const verifiers: CredentialVerifier[] = [clusterAssertionVerifier(clusterAssertion, self)];
  let keys: ApiKeyStore | undefined;
  let jwks: JwksCache | undefined;
  let jwtKeyFile: SecretFile<VerificationKey> | undefined;
  if (mode === 'apikey' || mode === 'apikey+jwt') {
    if (config.AUTH_API_KEYS_DIR === undefined) throw new ConfigError('AUTH_API_KEYS_DIR', 'settings', `AUTH_MODE=${mode} needs the directory of API keys`);
    keys = new ApiKeyStore(config.AUTH_API_KEYS_DIR, {
      onReload: (principals) => logger.info({ principals: principals.length }, 'API keys loaded'),
      onProblem: (principal, problem) => logger.error({ file: principal, problem }, 'an API key file cannot be used'),
      onError: (error) => logger.error({ err: error, dir: config.AUTH_API_KEYS_DIR }, 'reading the API keys failed; keeping the keys in force'),
    });
    keys.load();
    if (keys.principals.length === 0) logger.warn({ dir: config.AUTH_API_KEYS_DIR }, 'no usable API keys: no API-key caller can get in');
    verifiers.push(apiKeyVerifier(keys));
  }
  if (mode === 'jwt' || mode === 'apikey+jwt') {
    if (config.AUTH_ISSUER === undefined) throw new ConfigError('AUTH_ISSUER', 'settings', `AUTH_MODE=${mode} needs the issuer tokens must name`);
    if (config.AUTH_AUDIENCE === undefined) throw new ConfigError('AUTH_AUDIENCE', 'settings', `AUTH_MODE=${mode} needs the audience tokens must name`);
    if ((config.AUTH_JWKS_URL === undefined) === (config.AUTH_JWT_PUBLIC_KEY_FILE === undefined)) {
      throw new ConfigError('AUTH_JWKS_URL', 'settings', `AUTH_MODE=${mode} needs exactly one of AUTH_JWKS_URL and AUTH_JWT_PUBLIC_KEY_FILE`);
    }
    let key: JWTVerifyGetKey;
    if (config.AUTH_JWKS_URL !== undefined) {
      jwks = keysFromUrl(config.AUTH_JWKS_URL, {
        cooldownMs: config.AUTH_JWKS_COOLDOWN,
        maxAgeMs: config.AUTH_JWKS_MAX_AGE,
        onFetchError: (error) => logger.warn({ err: error, url: config.AUTH_JWKS_URL }, 'fetching the token signing keys failed; cached keys stay in use'),
      });
      key = jwks.getKey;
    } else {
      jwtKeyFile = keyFile(config.AUTH_JWT_PUBLIC_KEY_FILE!, {
        onReload: () => logger.info({ file: config.AUTH_JWT_PUBLIC_KEY_FILE }, 'the token verification key was reloaded'),
        onError: (problem) => logger.error({ problem }, 'the token verification key file cannot be used'),
      });
      key = currentKey(jwtKeyFile);
    }
    const jwt = new JwtVerifier(key, {
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
      principalClaim: config.AUTH_PRINCIPAL_CLAIM,
      tenantClaim: config.AUTH_TENANT_CLAIM,
      clockSkewMs: config.AUTH_CLOCK_SKEW,
      maxLifetimeMs: config.AUTH_MAX_TOKEN_LIFETIME,
    });
    verifiers.push(jwtVerifier(jwt));
  }
  const proxyHeader = config.AUTH_PROXY_HEADER.toLowerCase();
  const trustedProxies = TrustedNetworks.parse(config.AUTH_TRUSTED_PROXIES);
  if (mode === 'trusted-proxy') {
    if (config.AUTH_TRUSTED_PROXIES.length === 0) {
      throw new ConfigError('AUTH_TRUSTED_PROXIES', 'settings', 'AUTH_MODE=trusted-proxy needs the addresses the proxy connects from (e.g. 127.0.0.1/32 for a sidecar)');
    }
    if (!/^[a-z0-9-]+$/.test(proxyHeader)) throw new ConfigError('AUTH_PROXY_HEADER', 'settings', `"${config.AUTH_PROXY_HEADER}" is not an HTTP header name`);
    verifiers.push(trustedProxyVerifier(proxyHeader, trustedProxies));
  }
  const authenticator = new Authenticator(mode, verifiers, declarationsFor(mode, proxyHeader));
  const failedAuthSetting = config.RATE_LIMIT_UNAUTHENTICATED.trim();
  const failedAuthRate = failedAuthSetting.toLowerCase() === 'off' ? undefined : parseRateLimit(failedAuthSetting, 'RATE_LIMIT_UNAUTHENTICATED');
  const failedAuthLimit =
    failedAuthRate !== undefined && (authenticator.enabled || metricsToken !== undefined) ? new FailedAuthLimit(new RateLimiter(failedAuthRate), trustedProxies) : undefined;
  return {
    authenticator,
    permissions,
    rateLimiter,
    failedAuthLimit,
    metricsToken,
    clusterAssertion,
    start() {
      keys?.start();
      jwtKeyFile?.start();
      metricsToken?.start();
      // Warm the key cache so the first caller does not wait for it; a failure is logged and retried on demand.
      void jwks?.refresh();
    },
    stop() {
      keys?.stop();
      jwtKeyFile?.stop();
      metricsToken?.stop();
    },
  };
}
