# paymesh on Debian 12: one image holding every daemon; compose.yaml runs one
# container per daemon from it. Not built on the development machines (they
# cannot run Docker); see docs/operations.md.

FROM debian:12 AS build
WORKDIR /src
# The same package list `make run` / `make test` install from.
COPY scripts/deps.sh scripts/deps.sh
RUN scripts/deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make clean && make

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libczmq4 libzmq5 libmsgpackc2 liblmdb0 libmicrohttpd12 libjson-c5 \
      libcurl4 libsodium23 libuuid1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/paymesh --create-home paymesh
# Every program: payment-core, api-gateway, paymentctl, provider-bazaar,
# provider-bank, retry-worker and the sandbox (compose.yaml picks one per container with
# `command`).
COPY --from=build /src/bin/ /usr/local/bin/
USER paymesh
WORKDIR /var/lib/paymesh
