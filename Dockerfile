# One image for every Tessera process. The default command runs the gateway; a subgraph is
# started with `node dist/scripts/subgraph.js <name>` (see docker-compose.yml).

# --- build: compile the TypeScript sources into /app/dist ------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app

# `npm install`, not `npm ci`: `npm ci` rejects this lockfile over missing platform binaries.
# --ignore-scripts skips the `node` devDependency's preinstall (the image already has Node 24)
# and the `prepare` build, which runs below once the sources are in place.
COPY package.json package-lock.json ./
RUN npm install --ignore-scripts --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json supergraph.graphql ./
COPY shared/ shared/
COPY gateway/ gateway/
COPY subgraphs/ subgraphs/
COPY migrations/ migrations/
COPY scripts/ scripts/
RUN npx tsc -p tsconfig.build.json

# --- runtime: production dependencies and the compiled output only ---------------------------
FROM node:24-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production

COPY package.json package-lock.json ./
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

COPY --from=build /app/dist ./dist
COPY --from=build /app/supergraph.graphql ./supergraph.graphql
# For TRUSTED_DOCUMENTS=log|enforce (its default TRUSTED_DOCUMENTS_MANIFEST path).
COPY sdk/generated/persisted-documents.json ./sdk/generated/persisted-documents.json

USER node
CMD ["node", "dist/gateway/main.js"]
