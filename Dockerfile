# kmsbox: one static binary on a distroless base.
#   docker build -t kmsbox .
#   docker run -p 8200:8200 -p 7373:7373 -p 9000:9000 -p 9001:9001 -v kmsbox-data:/data kmsbox
# Build stage: a static binary (no cgo), reproducible paths.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/kmsbox .
RUN mkdir -p /out/data

# Run stage: no shell, no package manager, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kmsbox /usr/local/bin/kmsbox
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV KMSBOX_DATA_DIR=/data \
    KMSBOX_VAULT_ADDR=0.0.0.0:8200 \
    KMSBOX_KES_ADDR=0.0.0.0:7373 \
    KMSBOX_S3_ADDR=0.0.0.0:9000 \
    KMSBOX_CONSOLE_ADDR=0.0.0.0:9001
VOLUME /data
EXPOSE 8200 7373 9000 9001
HEALTHCHECK --interval=5s --timeout=5s --start-period=5s --retries=12 CMD ["/usr/local/bin/kmsbox", "health"]
ENTRYPOINT ["/usr/local/bin/kmsbox"]
CMD ["server", "--dev"]
