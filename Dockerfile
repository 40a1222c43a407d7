# syntax=docker/dockerfile:1
# The kansoku image: one static-ish binary with the web UI embedded, on a distroless base,
# running as a non-root user (65532) with nothing writable but its volumes (/data, /tmp).
#   docker build -t registry.example.com/kansoku:0.1.0 .
# The Helm chart (deploy/helm/kansoku) runs it with a read-only root filesystem.

# The web UI, built with the locked npm dependencies into web/dist.
FROM node:20-bookworm-slim AS ui
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build

# The release binary, embedding web/dist.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
COPY --from=ui /src/web/dist web/dist
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin kansoku \
    && cp target/release/kansoku /kansoku

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /kansoku /usr/local/bin/kansoku
USER 65532:65532
ENV KANSOKU_DATA_DIR=/data
EXPOSE 5080 5081
ENTRYPOINT ["/usr/local/bin/kansoku"]
CMD ["serve"]
