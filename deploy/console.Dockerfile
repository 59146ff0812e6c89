# syntax=docker/dockerfile:1
# RouterX console (Next.js). Build from the repository root:
#   docker build -f deploy/console.Dockerfile --build-arg ADMIN_API_URL=http://admin:8081 .
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
ENV NEXT_TELEMETRY_DISABLED=1
WORKDIR /app
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
# next.config.ts writes the /api/* rewrite into the build output: the admin API address is fixed
# here, not at run time. The default is the admin Service name in Compose and in deploy/k8s.
ARG ADMIN_API_URL=http://admin:8081
# next names @playwright/test as an optional peer, so a production prune keeps the e2e runner;
# `next start` never loads it.
RUN ADMIN_API_URL="${ADMIN_API_URL}" npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@playwright node_modules/playwright node_modules/playwright-core \
        .next/cache

FROM ${NODE_IMAGE}
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1
WORKDIR /app
# Owned by root and read-only for the `node` user; only Next's cache directory is writable.
COPY --from=build /app/package.json /app/next.config.ts /app/server.mjs ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/.next ./.next
RUN mkdir .next/cache && chown node:node .next/cache
# The base image's `node` user, by id so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 3000
# server.mjs binds 127.0.0.1 unless HOST says otherwise: Compose and Kubernetes set HOST=0.0.0.0.
CMD ["node", "server.mjs"]
