# paymesh on Debian 12: one image holding every program; compose.yaml runs
# one container per daemon from it, the command picking the daemon:
#
#   docker build -t paymesh .
#   docker run --rm paymesh api-gateway --help
#
# The build stage compiles with `make` (the packages come from
# scripts/deps.sh, the same list `make` uses on a Debian 12 machine); the
# runtime stage holds only the shared libraries the programs load, the
# programs and deploy/entrypoint.sh, and runs as the user paymesh (uid 10001).
# No setting and no secret is baked in: compose.yaml passes PAYMESH_*
# variables and mounts secrets under /run/secrets (docs/operations.md,
# "Deployment with docker-compose").

FROM debian:12-slim AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN scripts/deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make -j"$(nproc)" all

FROM debian:12-slim
# The libraries of `ldd bin/*` (libcurl4 brings its own TLS and HTTP/2
# libraries); ca-certificates for the providers' https calls.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libczmq4 libzmq5 libmsgpackc2 liblmdb0 libmicrohttpd12 libjson-c5 \
      libcurl4 libsodium23 libuuid1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 paymesh \
 && useradd --system --uid 10001 --gid paymesh --home-dir /var/lib/paymesh \
      --shell /usr/sbin/nologin paymesh \
 && mkdir -p /var/lib/paymesh/data \
 && chown -R paymesh:paymesh /var/lib/paymesh
# payment-core, api-gateway, provider-bazaar, provider-bank, retry-worker,
# sandbox and paymentctl.
COPY --from=build /src/bin/ /usr/local/bin/
COPY deploy/entrypoint.sh /usr/local/bin/paymesh-entrypoint
# payment-core's data directory in compose.yaml (a named volume mounted here
# starts out owned by paymesh).
VOLUME /var/lib/paymesh/data
USER 10001:10001
WORKDIR /var/lib/paymesh
# api-gateway 8080, payment-core 7100 (API) and 7101 (workers), sandbox 8090.
EXPOSE 8080 7100 7101 8090
ENTRYPOINT ["paymesh-entrypoint"]
CMD ["--help"]
