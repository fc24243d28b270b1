# Multi-stage build: a static binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/proxy ./cmd/proxy

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/proxy /proxy
COPY config.yaml /etc/waproxy/config.yaml
# Listen on all interfaces inside the container; override any value with
# ${ENV} references in a mounted config (see README, Docker).
ENV PROXY_LISTEN=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/proxy"]
CMD ["-config", "/etc/waproxy/config.yaml"]
