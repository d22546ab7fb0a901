# syntax=docker/dockerfile:1
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/vatsector .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vatsector /usr/local/bin/vatsector
# The embedded database and the downloaded VATSpy cache live here when no DATABASE_URL is set.
VOLUME /var/lib/vatsector
ENV VATSECTOR_DATA_DIR=/var/lib/vatsector
EXPOSE 50051 9090
ENTRYPOINT ["/usr/local/bin/vatsector"]
