#!/usr/bin/env bash
# Builds perf/gofetch against Debian's nats.go 1.22.1 in GOPATH mode: this machine reaches no Go module proxy, and
# Debian's golang-go (1.19) and golang-github-nats-io-go-nats-dev put everything under /usr/share/gocode.
# usage: perf/gofetch/build.sh [OUTPUT]   (default perf/gofetch/gofetch; installs the two packages when missing)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/gofetch}
if ! command -v go >/dev/null 2>&1 || [ ! -d /usr/share/gocode/src/github.com/nats-io/nats.go ]; then
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq golang-go golang-github-nats-io-go-nats-dev >/dev/null 2>&1
fi
cd "$HERE"
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= go build -o "$OUT" main.go
