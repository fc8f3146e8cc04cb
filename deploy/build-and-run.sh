#!/usr/bin/env bash
# Build the images here and run deploy/compose.yml (3 gateways, nginx, PostgreSQL, Redis) with the
# emulators as upstream, then send requests through the load balancer (deploy/smoke.py).
#
# Needs: root (or docker group), docker (Debian's docker.io), docker-compose (Debian's package) or
# the compose plugin, debootstrap, and `make install` done (for uv and the smoke client). No image
# registry is needed: the base image is made with debootstrap from Debian's mirror, and the wheels
# (uv.lock's pins) are downloaded on the host through pip's configured index, so the image build
# itself reaches nothing but Debian's mirror.
#
#   deploy/build-and-run.sh            build what is missing, (re)start, smoke test, leave running
#   deploy/build-and-run.sh --rebuild  rebuild the gateway image (after code changes) first
#   deploy/build-and-run.sh --down     stop and remove the containers and the database volume
#
# Env: SWITCHYARD_PUBLIC_PORT (load balancer on the host, default 18080), SMOKE_REQUESTS (500),
# SMOKE_CONCURRENCY (64), SMOKE_SECONDS (10 per throughput run), DEBIAN_MIRROR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export SWITCHYARD_PUBLIC_PORT="${SWITCHYARD_PUBLIC_PORT:-18080}"
PROJECT=switchyard
ENV_FILE=deploy/.env

if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null; then COMPOSE=(docker-compose)
else echo "no compose: apt-get install docker-compose" >&2; exit 1; fi
compose() { "${COMPOSE[@]}" -p "$PROJECT" --env-file "$ENV_FILE" -f deploy/compose.yml -f deploy/compose.emulators.yml "$@"; }

if [[ "${1:-}" == "--down" ]]; then
    compose down -v --remove-orphans
    exit 0
fi

# 1. A docker daemon (Debian's docker.io does not start one inside a container without systemd).
if ! docker info >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]] && command -v dockerd >/dev/null; then
        echo "starting dockerd (log: /tmp/switchyard-dockerd.log)"
        nohup dockerd >/tmp/switchyard-dockerd.log 2>&1 &
        for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    fi
    docker info >/dev/null 2>&1 || { echo "no docker daemon" >&2; exit 1; }
fi

# 2. The base image, from Debian's mirror.
deploy/base-image.sh "${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# 3. Wheels for the gateway image: the locked dependencies and the project itself.
UV="${UV:-$ROOT/.tools/bin/uv}"; [[ -x "$UV" ]] || UV=uv
PIP="$ROOT/.tools/bin/pip"; [[ -x "$PIP" ]] || PIP="python3 -m pip"
if [[ "${1:-}" == "--rebuild" ]] || ! docker image inspect switchyard:local >/dev/null 2>&1; then
    rm -rf deploy/build && mkdir -p deploy/build/wheels
    # pip evaluates markers against the host's Python, not the image's: drop the Windows-only pins
    # and keep the rest unconditionally (async-timeout is needed below 3.11.3, bookworm has 3.11.2).
    "$UV" export --frozen --no-dev --no-hashes --no-emit-project --format requirements-txt \
        | grep -v "sys_platform == 'win32'" | sed 's/ *;.*//' >deploy/build/requirements.txt
    $PIP download --quiet --disable-pip-version-check --only-binary=:all: --implementation cp \
        --python-version 3.11 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
        --platform manylinux2014_x86_64 --platform linux_x86_64 \
        -r deploy/build/requirements.txt -d deploy/build/wheels 2> >(grep -v "is ignored" >&2)
    "$UV" build --wheel --quiet -o deploy/build/wheels
    docker build -q -t switchyard:local -f deploy/Dockerfile deploy
fi

# 4. The service images (docker's layer cache makes this quick when nothing changed).
for name in postgres redis nginx; do
    docker build -q -t "switchyard-$name:local" -f "deploy/Dockerfile.$name" deploy
done

# 5. Secrets, once.
if [[ ! -f "$ENV_FILE" ]]; then
    umask 077
    {
        echo "SWITCHYARD_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        echo "SWITCHYARD_ADMIN_KEY=sy-admin-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
        echo "POSTGRES_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    } >"$ENV_FILE"
    echo "wrote $ENV_FILE (keep it: it holds the keys)"
fi

# 6. Run; wait until every gateway's healthcheck (/readyz) passes, then for the load balancer.
compose up -d --force-recreate --remove-orphans
URL="http://127.0.0.1:$SWITCHYARD_PUBLIC_PORT"
healthy() {
    for service in gateway-1 gateway-2 gateway-3; do
        [[ "$(docker inspect --format '{{.State.Health.Status}}' "$(compose ps -q "$service")")" == healthy ]] || return 1
    done
    curl -fsS "$URL/readyz" >/dev/null 2>&1
}
for _ in $(seq 180); do healthy && break; sleep 1; done
healthy || { compose ps; compose logs --tail=40; exit 1; }
compose ps

# 7. Requests through the load balancer (and one replica killed part-way).
PYTHON="$ROOT/.venv/bin/python"; [[ -x "$PYTHON" ]] || PYTHON=python3
set -a; . "$ENV_FILE"; set +a
"$PYTHON" deploy/smoke.py --url "$URL" \
    --oauth "http://127.0.0.1:${EMULATOR_OAUTH_PORT:-19001}" \
    --cloudcode "http://127.0.0.1:${EMULATOR_CLOUDCODE_PORT:-19002}" \
    --requests "${SMOKE_REQUESTS:-500}" --concurrency "${SMOKE_CONCURRENCY:-64}" --seconds "${SMOKE_SECONDS:-10}" \
    --kill "${COMPOSE[*]} -p $PROJECT --env-file $ENV_FILE -f deploy/compose.yml -f deploy/compose.emulators.yml kill gateway-2" \
    --revive "${COMPOSE[*]} -p $PROJECT --env-file $ENV_FILE -f deploy/compose.yml -f deploy/compose.emulators.yml start gateway-2"
echo "running: load balancer on $URL (deploy/build-and-run.sh --down to remove)"
