# syntax=docker/dockerfile:1
# The statshard agent as a container image: a static binary (no libc, no shell) on distroless,
# run as a non-root user.
#
#   docker build -t statshard --build-arg VERSION=v0.1.0 .
#   docker run --rm -p 8125:8125/udp statshard
#
# cmd/agent TestDockerfileBuild runs this file's go build command, with its flags, so the build
# step is exercised where no container engine runs.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.buildVersion=${VERSION}" -o /out/statshard ./cmd/agent

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/statshard /usr/local/bin/statshard
USER 65532:65532
EXPOSE 8125/udp 8127/tcp 5000/tcp
ENTRYPOINT ["/usr/local/bin/statshard"]
# Inside a container loopback is the container's own: listen on every interface. Arguments given
# to docker run (or a pod's args) replace these.
CMD ["-listen", "udp://:8125", "-http", ":8127", "-tcp", ":5000"]
