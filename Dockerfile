# syntax=docker/dockerfile:1
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/vatsector . && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vatsector /usr/local/bin/vatsector
# The embedded database (when no DATABASE_URL is set) and the downloaded VATSpy cache live here. The folder is
# owned by the nonroot user so a fresh named volume, which copies it, is writable.
COPY --from=build --chown=65532:65532 /out/data /var/lib/vatsector
VOLUME /var/lib/vatsector
ENV VATSECTOR_DATA_DIR=/var/lib/vatsector
EXPOSE 50051 8080 9090
ENTRYPOINT ["/usr/local/bin/vatsector"]
