# Multi-stage build: a static binary on a distroless, non-root base.
#
# Base images are pinned by digest (the multi-platform index digest), so a
# rebuild of the same commit uses the same bases. To refresh a pin, look up
# the tag's current digest and replace the one below:
#   docker buildx imagetools inspect golang:1.26.8
#   docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot
# (the "Digest:" line; `crane digest IMAGE` prints the same). The Go image
# must be at least the go directive of go.mod: it builds with
# GOTOOLCHAIN=local.
FROM golang:1.26.8@sha256:3c3e25a4da13fd0478eed2df1eb35a0e667094a7124d3993a6a1d30f71c17e79 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/proxy ./cmd/proxy
# The store's directory, copied with the proxy's owner (distroless has no
# shell to create it in the final stage).
RUN mkdir -p /out/var/lib/waproxy

FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/proxy /proxy
COPY --from=build --chown=65532:65532 /out/var/lib/waproxy /var/lib/waproxy
# The production example, not the demo: it talks to the real Gupshup and
# requires its secrets from the environment (listed at the top of
# config.example.yaml); without them the proxy exits naming each missing key
# and variable. Mount your own file here to replace it, e.g.
#   docker run -v $PWD/prod.yaml:/etc/waproxy/config.yaml:ro …
COPY config.example.yaml /etc/waproxy/config.yaml
# PROXY_LISTEN: inside the container the proxy listens on every interface.
# PROXY_STORE: the durable store (webhook queue, id map, media index) lives
#   on the volume below, writable by the proxy's user (uid 65532).
# PROXY_PUBLIC_URL: no default, set it at run time (docker run -e
#   PROXY_PUBLIC_URL=https://wa.example.com): the absolute URL clients reach
#   the proxy at, which media URLs start with. With a listen address on every
#   interface and a real Gupshup it is required.
# PROXY_METRICS_LISTEN: /metrics on a port of its own (9090), off the API's
#   port; publish it only to the network your Prometheus scrapes from.
ENV PROXY_LISTEN=0.0.0.0:8080 \
    PROXY_METRICS_LISTEN=0.0.0.0:9090 \
    PROXY_STORE=/var/lib/waproxy/waproxy.db
VOLUME /var/lib/waproxy
WORKDIR /var/lib/waproxy
EXPOSE 8080 9090
USER nonroot:nonroot
# GET /healthz on the config's listen address (0.0.0.0 is asked on
# 127.0.0.1); no curl needed. Exit 0 healthy, 1 not.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/proxy", "healthcheck", "-config", "/etc/waproxy/config.yaml", "-timeout", "3s"]
ENTRYPOINT ["/proxy"]
CMD ["serve", "-config", "/etc/waproxy/config.yaml"]
