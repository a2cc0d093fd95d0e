# A static, non-root image of load: docker build -t load:latest .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/load ./cmd/load

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/load /usr/local/bin/load
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/load"]
