#!/bin/sh
# Build the local Debian base image `switchyard-base:bookworm` with debootstrap, for machines that
# reach Debian's package mirror but no image registry. Idempotent: does nothing if the image exists.
# Usage: deploy/base-image.sh [MIRROR]   (root; needs debootstrap and a running docker daemon)
set -eu
IMAGE="${BASE_IMAGE:-switchyard-base:bookworm}"
MIRROR="${1:-http://deb.debian.org/debian}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "base image $IMAGE exists"
    exit 0
fi
ROOT="$(mktemp -d /tmp/switchyard-rootfs.XXXXXX)"
trap 'rm -rf "$ROOT"' EXIT
echo "debootstrap bookworm into $ROOT (a few minutes)"
debootstrap --variant=minbase --include=ca-certificates bookworm "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 \
    || { tail -20 "$ROOT.log"; exit 1; }
rm -f "$ROOT.log"
# Slimmer and quieter: no apt cache in the image, no docs, no interactive prompts.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
tar -C "$ROOT" -c . | docker import \
    --change 'ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' - "$IMAGE"
echo "built $IMAGE"
