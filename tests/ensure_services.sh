#!/bin/sh
# Make sure the PostgreSQL and Redis the tests use are reachable: start the local ones when they are
# installed but stopped, otherwise stop with a message that says what is missing.
# Also installs Debian's Chromium for the browser tests when it is missing and apt is available.
set -u
PG_HOST=127.0.0.1 PG_PORT=5432 REDIS_HOST=127.0.0.1 REDIS_PORT=6379

reachable() { # host port
    python3 -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()" "$1" "$2" 2>/dev/null
}

wait_for() { # name host port
    i=0
    while ! reachable "$2" "$3"; do
        i=$((i + 1))
        if [ $i -gt 30 ]; then echo "ensure_services: $1 did not come up on $2:$3" >&2; exit 1; fi
        sleep 1
    done
}

if ! reachable $PG_HOST $PG_PORT; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        echo "ensure_services: PostgreSQL is stopped; starting the local cluster"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
        wait_for PostgreSQL $PG_HOST $PG_PORT
    else
        echo "ensure_services: PostgreSQL is not reachable on $PG_HOST:$PG_PORT and is not installed here." >&2
        echo "  Install it (apt-get install postgresql) or set DATABASE_URL to a server the tests may use." >&2
        exit 1
    fi
fi

if ! reachable $REDIS_HOST $REDIS_PORT; then
    if command -v redis-server >/dev/null 2>&1; then
        echo "ensure_services: Redis is stopped; starting a local redis-server"
        redis-server --daemonize yes --bind 127.0.0.1 --port $REDIS_PORT --save "" --appendonly no
        wait_for Redis $REDIS_HOST $REDIS_PORT
    else
        echo "ensure_services: Redis is not reachable on $REDIS_HOST:$REDIS_PORT and is not installed here." >&2
        echo "  Install it (apt-get install redis-server) or set REDIS_URL to a server the tests may use." >&2
        exit 1
    fi
fi

# The queue's Redis Cluster tests start a private three-master cluster with these (tests/support/redis_cluster.py).
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    echo "ensure_services: redis-server or redis-cli is not installed; the Redis Cluster tests will be skipped" >&2
fi

if [ ! -x /usr/bin/chromium ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "ensure_services: installing Debian's chromium for the browser tests"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
            || echo "ensure_services: could not install chromium; the browser tests will be skipped" >&2
    else
        echo "ensure_services: /usr/bin/chromium is missing and apt-get is not usable; browser tests will be skipped" >&2
    fi
fi
# The browser tests' screenshots (tests/artifacts/) are read by people: without a Korean font Chromium
# draws the Korean pages as empty boxes. Nice to have, never a reason to fail.
if [ -x /usr/bin/chromium ] && command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=ko 2>/dev/null)" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "ensure_services: installing Debian's fonts-noto-cjk so the Korean screenshots are legible"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null) \
            || echo "ensure_services: could not install fonts-noto-cjk; Korean screenshots will show boxes" >&2
    fi
fi
echo "ensure_services: PostgreSQL and Redis are reachable"
