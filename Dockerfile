# syntax=docker/dockerfile:1
# Kiln model server image.
#
#   docker build -t kiln .
#   docker run --rm -p 8080:8080 -v "$PWD/models:/models:ro" kiln
#
# Stage 1 compiles the addon (cmake-js + g++) and the TypeScript; stage 2 holds Node, the compiled
# output and production node_modules only: no compiler, no CMake, no headers, non-root user.
# NODE_IMAGE / RUNTIME_IMAGE may point at local bases where no registry is reachable (docs/deploy.md).
ARG NODE_IMAGE=node:22-bookworm
ARG RUNTIME_IMAGE=node:22-bookworm-slim

# ---- build ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
# Only for builds behind a TLS-intercepting proxy: a CA bundle path bind-mounted into the build
# (see docs/deploy.md). A build ARG, so it never reaches the final image.
ARG NODE_EXTRA_CA_CERTS
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake g++ make ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" would build before the sources are copied; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json CMakeLists.txt ./
COPY scripts ./scripts
COPY native ./native
COPY src ./src
RUN npm run build:native && npm run build:ts \
 && strip --strip-unneeded build/Release/kiln.node \
 && node -e "require('./build/Release/kiln.node')" \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime --------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
ENV NODE_ENV=production \
    KILN_MODELS=/models \
    KILN_LOG_LEVEL=info
RUN groupadd --system --gid 10001 kiln \
 && useradd --system --uid 10001 --gid kiln --home-dir /app --shell /usr/sbin/nologin kiln
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/Release/kiln.node ./build/Release/kiln.node
# The bundled models seed /models; mount a volume (PVC, configMap, ...) over it to serve yours.
COPY --chown=kiln:kiln models/*.json /models/
VOLUME ["/models"]
USER 10001:10001
EXPOSE 8080
# Exec form: node is PID 1 and gets SIGTERM itself (kiln drains in-flight requests, --shutdown-timeout).
# One worker per container: scale with replicas (Kubernetes HPA), not with in-container workers.
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--workers", "0"]
# Docker-format images only (podman/buildah need --format docker); Kubernetes uses its own probes.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/v2/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
