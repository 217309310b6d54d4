# One image for every Tessera process. The default command runs the gateway; a subgraph is
# started with `node dist/bin/subgraph.js <name>`, migrations with
# `node dist/bin/migrate.js all up` (see docker-compose.yml).

# --- build: compile the TypeScript sources into /app/dist ------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app

# `npm ci`: exactly the lockfile, or a failure. --ignore-scripts skips the `node`
# devDependency's preinstall (the image already has Node 24) and the `prepare` build, which
# runs below once the sources are in place.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json supergraph.graphql ./
COPY shared/ shared/
COPY gateway/ gateway/
COPY subgraphs/ subgraphs/
COPY migrations/ migrations/
COPY bin/ bin/
COPY tooling/ tooling/
# The image's node, not the `node` devDependency's binary that npm's PATH would pick.
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# --- deps: production dependencies only ------------------------------------------------------
# No devDependencies, so no compiler, no test tools and no PGlite (the development store, loaded
# only when a subgraph has no DATABASE_URL): the runtime stage serves PostgreSQL stores.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime: production dependencies and the compiled output only ---------------------------
FROM node:24-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production

COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/supergraph.graphql ./supergraph.graphql
# For TRUSTED_DOCUMENTS=log|enforce (its default TRUSTED_DOCUMENTS_MANIFEST path).
COPY sdk/generated/persisted-documents.json ./sdk/generated/persisted-documents.json

USER node
# The gateway's V8 flags (GATEWAY_V8_FLAGS in tooling/stack.ts): a heap sized to what it holds, not to its garbage.
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=50", "dist/bin/gateway.js"]
