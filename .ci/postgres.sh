#!/usr/bin/env bash
# Start Debian's PostgreSQL on 127.0.0.1 and create a test role and database (idempotent).
# Prints the URL for SURELABEL_TEST_POSTGRES_URL on stdout; everything else goes to stderr.
set -euo pipefail
PGVER="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$PGVER main"; then
    pg_createcluster "$PGVER" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$PGVER" '$1==v && $2=="main" {print $4}' | grep -qx online; then
    pg_ctlcluster "$PGVER" main start >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$PGVER" '$1==v && $2=="main" {print $3}')"
for _ in $(seq 1 50); do
    pg_isready -h 127.0.0.1 -p "$PORT" -q && break
    sleep 0.2
done
runuser -u postgres -- psql -p "$PORT" -qtAc \
    "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'surelabel') THEN
       CREATE ROLE surelabel LOGIN PASSWORD 'surelabel' CREATEDB; END IF; END\$\$;" >&2
if ! runuser -u postgres -- psql -p "$PORT" -qtAc "SELECT 1 FROM pg_database WHERE datname = 'surelabel_test'" | grep -q 1; then
    runuser -u postgres -- createdb -p "$PORT" -O surelabel surelabel_test >&2
fi
echo "postgresql://surelabel:surelabel@127.0.0.1:${PORT}/surelabel_test"
