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
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime -----------------------------------------------------------------
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    DATA_DIR=/var/lib/kagent

WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src

# The data dir must be writable by `node` (uid 1000) when nothing is mounted
# there; on Kubernetes the per-pod volume replaces it (fsGroup 1000).
RUN mkdir -p /var/lib/kagent && chown node:node /var/lib/kagent

USER node
EXPOSE 8080
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
