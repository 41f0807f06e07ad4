# syntax=docker/dockerfile:1
# Tether's container image: the npm package (what `npm pack` makes; test/cli/install.test.ts installs
# and serves it the same way) on a distroless Node 24 runtime — no shell, no package manager, non-root.
#   docker build -t ghcr.io/tether-dev/tether:0.1.0 .
# The Helm chart (deploy/helm/tether) runs it as: serve --config /etc/tether/config/tether.yaml

# 1. Build: dev dependencies (TypeScript) compile src/ to dist/; npm pack makes the tarball.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm pack --pack-destination /tmp && mv /tmp/tether-*.tgz /tmp/tether.tgz

# 2. Install: the tarball with production dependencies only, as `npm install -g` would.
FROM node:24-bookworm-slim AS install
COPY --from=build /tmp/tether.tgz /tmp/tether.tgz
RUN npm install -g --prefix /opt/tether --omit=dev --no-audit --no-fund /tmp/tether.tgz \
 && rm -rf /opt/tether/lib/node_modules/tether/node_modules/.cache

# 3. Runtime: Node 24 and the installed package; nothing else.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
COPY --from=install /opt/tether/lib/node_modules /opt/tether/lib/node_modules
ENV NODE_ENV=production
# The chart mounts a writable data volume here; the root filesystem stays read-only.
WORKDIR /var/lib/tether
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/nodejs/bin/node", "/opt/tether/lib/node_modules/tether/bin/tether.js"]
CMD ["serve", "--config", "/etc/tether/config/tether.yaml"]
