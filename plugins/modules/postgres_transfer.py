#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: postgres_transfer
short_description: Carry PostgreSQL data from a volume of any major version into the stack's running PostgreSQL
version_added: 0.5.0
description:
  - Reads the data in O(source_volume) with a temporary container of O(source_image) (its major version's own
    tools), started without a network, its superuser found in single-user mode and reached over the local socket
    (no password needed). Dumps the roles (with O(globals)) and each database (pg_dump's custom format) into
    O(dump_dir) and counts every table's rows.
  - Restores them into the stack's PostgreSQL over the project network with the tools of O(target.image) (the new
    major's), each database recreated owned by O(target.user), then counts again. Any table whose rows differ fails
    the module.
  - The source volume is never changed. The temporary container is removed whatever happens.
  - The upgrade of PostgreSQL to a new major (taylordash_postgres_upgrade) and the import of the old stack's data
    (taylordash_import_v1) run it.
author: taylordash-ops developers
options:
  source_volume:
    description: The Docker volume holding the data directory to read.
    type: str
    required: true
  source_image:
    description: An image of the data's major version (its C(PGDATA) is where the volume is mounted).
    type: str
    required: true
  dump_dir:
    description: Directory on the host the dumps are written to (created, mode 0700); kept for the record.
    type: path
    required: true
  databases:
    description:
      - Source database -> target database. Empty - every database of the source (but C(postgres) and the
        templates) to the same name.
    type: dict
    default: {}
  globals:
    description: Restore the source's roles too (an upgrade of the same cluster; not an import).
    type: bool
    default: false
  target:
    description: The stack's PostgreSQL - V(network), V(host), V(port), V(user), V(password), V(image) (for its tools).
    type: dict
    required: true
  name:
    description: Name of the temporary container.
    type: str
    default: taylordash-postgres-transfer
attributes:
  check_mode:
    support: none
    details: It moves data; the playbooks decide before calling it.
  diff_mode:
    support: none
  idempotent:
    support: none
    details: Each run restores the databases again (the playbooks call it only when the data is due).
"""

EXAMPLES = r"""
- name: Import the old stack's database
  taylordash.ops.postgres_transfer:
    source_volume: taylordashv1_postgres_data
    source_image: taylordash/postgres:15
    dump_dir: /opt/taylordash/state/import-v1
    databases: {taylordash: taylordash}
    target: {network: taylordash, host: postgres, port: 5432, user: taylordash, password: "{{ pw }}",
             image: taylordash/postgres:17}
"""

RETURN = r"""
databases:
  description: Source database -> target database, as carried.
  returned: success
  type: dict
rows_before:
  description: Per source database, table -> rows counted in the source.
  returned: success
  type: dict
rows_after:
  description: Per target database, table -> rows counted after the restore.
  returned: success
  type: dict
source_major:
  description: The major version of the source data.
  returned: success
  type: int
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.taylordash.ops.plugins.module_utils import _backup

SOCKET = "/var/run/postgresql"


class Failed(Exception):
    pass


def _docker(module, argv, env=None, check=True):
    rc, out, err = module.run_command(["docker"] + argv, environ_update=env or {})
    if check and rc != 0:
        raise Failed("docker %s failed (rc %d): %s" % (argv[0], rc, (err or out).strip()[-2000:]))
    return out


def _data_dir(module, image):
    env = _docker(module, ["image", "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", image])
    for line in env.splitlines():
        if line.startswith("PGDATA="):
            return line.split("=", 1)[1]
    return "/var/lib/postgresql/data"


def _source_psql(module, name, user, db, sql):
    return _docker(module, ["exec", name, "psql", "-h", SOCKET, "-U", user, "-d", db, "-X", "-A", "-t", "-q",
                            "-v", "ON_ERROR_STOP=1", "-c", sql]).strip()


def _counts_source(module, name, user, db):
    query = _backup.count_query(_source_psql(module, name, user, db, _backup.TABLES_QUERY).split())
    return _backup.parse_counts(_source_psql(module, name, user, db, query)) if query else {}


def dump_source(module, p):
    image, volume, name = p["source_image"], p["source_volume"], p["name"]
    pgdata = _data_dir(module, image)
    mount = ["-v", "%s:%s" % (volume, pgdata)]
    major = _backup.major_version(_docker(module, ["run", "--rm", "--user", "postgres"] + mount + [
        "--entrypoint", "cat", image, os.path.join(pgdata, "PG_VERSION")]))
    su = _backup.single_user_role(_docker(module, ["run", "--rm", "-i", "--user", "postgres", "--network", "none"]
                                          + mount + ["--entrypoint", "bash", image, "-c",
                                                     'echo "SELECT rolname FROM pg_roles WHERE oid = 10;" | '
                                                     'postgres --single -D "$PGDATA" template1 2>&1']))
    _docker(module, ["rm", "-f", name], check=False)
    _docker(module, ["run", "-d", "--name", name, "--user", "postgres", "--network", "none"] + mount
            + ["-v", "%s:/dump" % p["dump_dir"], "--entrypoint", "postgres", image, "-D", pgdata,
               "-c", "listen_addresses=", "-c", "unix_socket_directories=" + SOCKET])
    try:
        for _ in range(120):
            rc, _out, _err = module.run_command(["docker", "exec", name, "pg_isready", "-h", SOCKET, "-U", su])
            if rc == 0:
                break
            module.run_command(["sleep", "0.5"])
        else:
            raise Failed("PostgreSQL %d did not start on volume %s: %s"
                         % (major, volume, _docker(module, ["logs", "--tail", "20", name], check=False)))
        found = _source_psql(module, name, su, "template1", "SELECT datname FROM pg_database WHERE NOT datistemplate "
                             "AND datname <> 'postgres' ORDER BY 1").split()
        databases = p["databases"] or dict((db, db) for db in found)
        missing = sorted(set(databases) - set(found))
        if missing:
            raise Failed("volume %s has no database %s (it has: %s)" % (volume, ", ".join(missing), ", ".join(found)))
        if p["globals"]:
            _docker(module, ["exec", "-u", "0", name, "sh", "-c", 'pg_dumpall -h "$0" -U "$1" --globals-only > /dump/globals.sql',
                             SOCKET, su])
        before = {}
        for db in databases:
            _docker(module, ["exec", "-u", "0", name, "sh", "-c", 'pg_dump -h "$0" -U "$1" --format=custom -d "$2" > "/dump/$2.dump"',
                             SOCKET, su, db])
            before[db] = _counts_source(module, name, su, db)
        return major, databases, before
    finally:
        _docker(module, ["rm", "-f", name], check=False)


# The roles of the source come with their password hashes, the stack's own role's too: in the same session,
# that role's password is set back to the stack's (.env's, read from the environment, never on a command line),
# or the connections after it would be refused.
RESTORE = r"""
set -eu
q() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$@"; }
if [ -s /dump/globals.sql ] && [ "$GLOBALS" = true ]; then
  { cat /dump/globals.sql; printf '%s\n' '\getenv pw PGPASSWORD' "ALTER ROLE CURRENT_USER WITH PASSWORD :'pw';"; } \
    | psql -X -q -d postgres 2> /tmp/globals.err || true
  if grep ERROR /tmp/globals.err | grep -v 'already exists'; then exit 3; fi
fi
while [ $# -gt 0 ]; do
  src=$1; dst=$2; shift 2
  q -d postgres -v db="$dst" -v owner="$PGUSER" <<'SQL'
SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner') \gexec
SQL
  pg_restore --no-owner --role="$PGUSER" --exit-on-error -d "$dst" "/dump/$src.dump"
  echo "== $dst"
  q -d "$dst" -c "$TABLES" | while IFS= read -r t; do printf '%s|%s\n' "$t" "$(q -d "$dst" -c "SELECT count(*) FROM $t")"; done
done
"""


def restore_target(module, p, databases):
    t = p["target"]
    argv = ["run", "--rm", "--network", t["network"], "-v", "%s:/dump:ro" % p["dump_dir"],
            "-e", "PGHOST=%s" % t["host"], "-e", "PGPORT=%s" % t["port"], "-e", "PGUSER=%s" % t["user"],
            "-e", "PGPASSWORD", "-e", "GLOBALS=%s" % ("true" if p["globals"] else "false"),
            "-e", "TABLES=%s" % _backup.TABLES_QUERY, "--entrypoint", "bash", t["image"], "-c", RESTORE, "restore"]
    for src, dst in databases.items():
        argv += [src, dst]
    out = _docker(module, argv, env={"PGPASSWORD": t["password"]})
    after, current = {}, None
    for line in out.splitlines():
        if line.startswith("== "):
            current = line[3:].strip()
            after[current] = {}
        elif current and "|" in line:
            after[current].update(_backup.parse_counts(line))
    return after


def main():
    module = AnsibleModule(
        argument_spec=dict(
            source_volume=dict(type="str", required=True),
            source_image=dict(type="str", required=True),
            dump_dir=dict(type="path", required=True),
            databases=dict(type="dict", default={}),
            globals=dict(type="bool", default=False),
            target=dict(type="dict", required=True, no_log=False),
            name=dict(type="str", default="taylordash-postgres-transfer"),
        ),
        supports_check_mode=False,
    )
    p = module.params
    for key in ("network", "host", "port", "user", "password", "image"):
        if not p["target"].get(key):
            module.fail_json(msg="target.%s is required" % key)
    module.no_log_values.add(str(p["target"]["password"]))
    try:
        if not os.path.isdir(p["dump_dir"]):
            os.makedirs(p["dump_dir"], 0o700)
        os.chmod(p["dump_dir"], 0o700)
        major, databases, before = dump_source(module, p)
        after = restore_target(module, p, databases)
    except (Failed, ValueError, OSError) as exc:
        module.fail_json(msg=str(exc))
    wrong = {}
    for src, dst in databases.items():
        mismatch = _backup.count_mismatches(before.get(src, {}), after.get(dst, {}))
        if mismatch:
            wrong[dst] = mismatch
    if wrong:
        module.fail_json(msg="rows differ after the restore (table: before, after): %s; the source volume %s is "
                             "unchanged" % (wrong, p["source_volume"]), rows_before=before, rows_after=after)
    # The dumps are in clear (the roles' password hashes among them): gone once the rows match.
    _docker(module, ["run", "--rm", "--network", "none", "-v", "%s:/dump" % p["dump_dir"], "--entrypoint", "sh",
                     p["target"]["image"], "-c", "rm -rf /dump/* /dump/.[!.]*"], check=False)
    module.exit_json(changed=True, databases=databases, rows_before=before, rows_after=after, source_major=major)


if __name__ == "__main__":
    main()
