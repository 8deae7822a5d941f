# Build a static binary, then ship it alone in a minimal image that runs as
# an unprivileged user with its data on a volume.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/gatehouse ./cmd/gatehouse \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gatehouse /usr/local/bin/gatehouse
COPY --from=build --chown=nonroot:nonroot /out/data /var/lib/gatehouse
COPY config/ /etc/gatehouse/
WORKDIR /var/lib/gatehouse
VOLUME ["/var/lib/gatehouse"]
ENV GATEHOUSE_STORE_DSN=/var/lib/gatehouse/gatehouse.db \
    GATEHOUSE_LISTEN=0.0.0.0:8080 \
    GATEHOUSE_OPS_LISTEN=0.0.0.0:9091
EXPOSE 8080 9091
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
