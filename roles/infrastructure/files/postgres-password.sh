# Runs inside the postgres container, whose environment holds the password of
# .env. A login over TCP tells whether the database already uses it; when it
# refuses the password, the role is altered over the local socket (trusted),
# so a changed password never locks the application out. The password never
# appears on a command line: psql reads it from the environment (\getenv).
# $1: seconds to wait until it accepts connections over TCP (a container just
# started, not yet waited for); none: one attempt.
set -u
deadline=$(( $(date +%s) + ${1:-0} ))
until pg_isready -q -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "PostgreSQL did not accept connections within ${1:-0}s" >&2
    exit 1
  fi
  sleep 0.2
done
if PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Atqc 'select 1' > /dev/null 2> /tmp/login.err; then
  echo "password in use"
  exit 0
fi
if ! grep -q 'password authentication failed' /tmp/login.err; then
  cat /tmp/login.err >&2
  exit 1
fi
psql -v ON_ERROR_STOP=1 -q -U "$POSTGRES_USER" -d "$POSTGRES_DB" <<'SQL'
\getenv pw POSTGRES_PASSWORD
\getenv role POSTGRES_USER
ALTER ROLE :"role" WITH PASSWORD :'pw';
SQL
PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Atqc 'select 1' > /dev/null
echo "password applied"
