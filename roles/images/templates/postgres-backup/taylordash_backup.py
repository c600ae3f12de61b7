#!/usr/bin/env python3
"""taylordash-backup: the backup service of the stack (catalogue entry `backup`).

  loop              take a backup whenever the schedule says (the container's command), serve /metrics
  run [--label L] [--release R]
                    take one now (backup.yml; the release role before a migration), print its JSON
  list              the backups on this host, as JSON
  verify NAME       check a backup against its SHA256SUMS
  restore NAME [--secrets-to DIR]
                    restore its databases (and unpack its secrets into DIR); an encrypted backup reads
                    the age identity (private key) on stdin, never from a file
  check-key NAME    whether the age identity on stdin opens the backup (nothing restored)
  fetch NAME        bring a backup (or `latest`) from the first off-host target that has it
  schema            each database's migration revision, as JSON
  ping              the healthcheck: /metrics answers

Every dump is made with this image's PostgreSQL tools, which are the server's own major version (the
image is built FROM the server's); a server of another major is refused. Encrypted files are never
written in clear: pg_dump streams into age."""

import argparse
import datetime
import fcntl
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taylordash_backup_lib as lib  # noqa: E402

CONFIG = os.environ.get("BACKUP_CONFIG", "/etc/taylordash-backup/backup.json")
ROOT = os.environ.get("BACKUP_ROOT", "/backups")
SECRETS = os.environ.get("BACKUP_SECRETS", "/secrets")
# The key of copies to other hosts and those hosts' keys (infrastructure role: backup_ssh.yml).
SSH_DIR = os.environ.get("BACKUP_SSH_DIR", "/etc/taylordash-backup/ssh")


class Failed(Exception):
    pass


def config():
    with open(CONFIG) as handle:
        return json.load(handle)


def _run(argv, **kwargs):
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    if done.returncode != 0:
        raise Failed("%s failed (exit %d): %s" % (argv[0], done.returncode, done.stderr.decode(errors="replace").strip()))
    return done.stdout.decode()


def psql(sql, db="postgres"):
    return _run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql]).strip()


def majors():
    server = lib.major_version(psql("SHOW server_version_num"))
    tools = lib.major_version(_run(["pg_dump", "--version"]).split()[2].split(".")[0])
    if server != tools:
        raise Failed("the server runs PostgreSQL %d but this image's tools are %d: a dump of another major "
                     "is not made (rebuild the backup image FROM the server's image)" % (server, tools))
    return server


def _age(recipients):
    argv = ["age", "--encrypt"]
    for recipient in recipients:
        argv += ["--recipient", recipient]
    return argv


def stream_to(argv, path, recipients):
    """argv's stdout into path, through age when there are recipients; both exit codes checked."""
    with open(path, "wb") as out:
        if not recipients:
            producer = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE)
            _, err = producer.communicate()
            if producer.returncode != 0:
                raise Failed("%s failed: %s" % (argv[0], err.decode(errors="replace").strip()))
            return
        producer = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        encrypt = subprocess.Popen(_age(recipients), stdin=producer.stdout, stdout=out, stderr=subprocess.PIPE)
        producer.stdout.close()
        _, age_err = encrypt.communicate()
        err = producer.stderr.read()
        producer.wait()
        if producer.returncode != 0:
            raise Failed("%s failed: %s" % (argv[0], err.decode(errors="replace").strip()))
        if encrypt.returncode != 0:
            raise Failed("age failed: %s" % age_err.decode(errors="replace").strip())


def tar_secrets(path, recipients):
    """The deploy directory's .env and PKI, as a tar streamed into age (never written in clear)."""
    with open(path, "wb") as out:
        encrypt = subprocess.Popen(_age(recipients), stdin=subprocess.PIPE, stdout=out, stderr=subprocess.PIPE)
        with tarfile.open(fileobj=encrypt.stdin, mode="w|") as archive:
            for name in sorted(os.listdir(SECRETS)):
                archive.add(os.path.join(SECRETS, name), arcname=name)
        encrypt.stdin.close()
        err = encrypt.stderr.read()
        if encrypt.wait() != 0:
            raise Failed("age failed: %s" % err.decode(errors="replace").strip())


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digests(directory):
    return {name: sha256(os.path.join(directory, name)) for name in os.listdir(directory) if name != lib.SUMS}


def names():
    return sorted(n for n in os.listdir(ROOT) if lib.parse_id(n) and os.path.isdir(os.path.join(ROOT, n)))


def read_status():
    try:
        with open(os.path.join(ROOT, lib.STATUS)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def write_status(**changes):
    """Merge `changes` into status.json, one writer at a time (the loop, a manual run and its failure handler)."""
    with open(os.path.join(ROOT, ".status.lock"), "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        status = read_status()
        status.update(changes)
        status["count"] = len(names())
        try:
            status["first_start"] = os.path.getmtime(os.path.join(ROOT, lib.FIRST_START))
        except OSError:
            pass
        handle, tmp = tempfile.mkstemp(dir=ROOT, prefix=".status-")
        with os.fdopen(handle, "w") as out:
            json.dump(status, out, sort_keys=True)
        os.replace(tmp, os.path.join(ROOT, lib.STATUS))
        return status


class Lock:
    """One backup or restore at a time on this host (the schedule and a manual run share the lock)."""

    def __enter__(self):
        self.handle = open(os.path.join(ROOT, ".lock"), "w")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _rclone_env(settings):
    s3 = settings.get("s3") or {}
    env = dict(os.environ)
    env.update({"RCLONE_CONFIG_OFFSITE_TYPE": "s3", "RCLONE_CONFIG_OFFSITE_PROVIDER": s3.get("provider") or "Other",
                "RCLONE_CONFIG_OFFSITE_ENDPOINT": s3.get("endpoint") or "",
                "RCLONE_CONFIG_OFFSITE_REGION": s3.get("region") or "us-east-1",
                "RCLONE_CONFIG_OFFSITE_ACCESS_KEY_ID": s3.get("access_key") or "",
                "RCLONE_CONFIG_OFFSITE_SECRET_ACCESS_KEY": s3.get("secret_key") or "",
                "RCLONE_CONFIG_OFFSITE_FORCE_PATH_STYLE": "true", "RCLONE_CONFIG": "/dev/null"})
    if s3.get("ca_file"):
        env["RCLONE_CA_CERT"] = s3["ca_file"]
    return env


def _remote(target, name=""):
    path = "/".join(p for p in (target["bucket"], target["prefix"], name) if p)
    return "offsite:" + path


def _rsync(target, args):
    """rsync to or from another host's backup directory, over SSH with this stack's key; the key may only run
    rrsync there, in that directory, so remote paths are relative to it."""
    ssh = ("ssh -i {d}/id_ed25519 -o UserKnownHostsFile={d}/known_hosts -o StrictHostKeyChecking=yes "
           "-o BatchMode=yes -o ConnectTimeout=20 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 "
           "-p {p}").format(d=SSH_DIR, p=int(target["port"]))
    # --timeout: a stalled transfer fails instead of holding the backup lock for ever.
    return _run(["rsync", "-e", ssh, "--timeout=300"] + args, env=dict(os.environ, HOME="/tmp"))


def _copy_s3(settings, target, keep, removed):
    env = _rclone_env(settings)
    listed = set(e.rstrip("/") for e in _run(["rclone", "lsf", "--dirs-only", _remote(target)], env=env).split())
    for name in keep:
        if name not in listed or name == keep[-1]:
            _run(["rclone", "copy", "--s3-no-check-bucket", os.path.join(ROOT, name), _remote(target, name)],
                 env=env)
    for old in removed:
        if old in listed:
            _run(["rclone", "purge", _remote(target, old)], env=env)


def _copy_host(target, keep, removed):
    # rsync compares every kept backup (size and time): one a failed run left half copied is completed.
    sources = [os.path.join(ROOT, name) for name in keep]
    _rsync(target, ["-rt", "--chmod=D0700,F0600"] + sources + [lib.rsync_remote(target)])
    listed = lib.rsync_listing(_rsync(target, ["--list-only", lib.rsync_remote(target)]))
    gone = [old for old in removed if old in listed]
    if gone:
        empty = tempfile.mkdtemp(dir="/tmp")
        try:
            _rsync(target, ["-r", "--delete"] + lib.rsync_purge_filters(gone) + [empty + "/", lib.rsync_remote(target)])
        finally:
            os.rmdir(empty)


def offsite(settings, keep, removed):
    """Each target gets every backup kept here that it lacks (the new one, and any whose copy failed before);
    there, only what the retention just removed here is removed: the target may hold backups this host never
    had (another host's, or those from before this host was rebuilt), and they stay."""
    done, failed = {}, []
    for target in settings.get("offsite") or []:
        try:
            if target.get("kind") == "s3":
                _copy_s3(settings, target, keep, removed)
            elif target.get("kind") == "host":
                _copy_host(target, keep, removed)
            else:
                continue
        except Failed as exc:  # one target down does not keep the others from their copies
            failed.append("%s: %s" % (target["url"], exc))
            continue
        done[target["url"]] = time.time()
    if failed:
        raise Failed("; ".join(failed), done)
    return done


def take(settings, label=None, release=None):
    started = time.time()
    recipients = settings.get("recipients") or []
    suffix = ".age" if recipients else ""
    with Lock():
        name = lib.backup_id(_utcnow(), label)
        while os.path.exists(os.path.join(ROOT, name)):
            time.sleep(1)
            name = lib.backup_id(_utcnow(), label)
        partial = os.path.join(ROOT, ".partial-" + name)
        os.makedirs(partial, mode=0o700)
        try:
            server = majors()
            databases = psql("SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' "
                             "ORDER BY 1").split()
            for db in databases:
                stream_to(["pg_dump", "--format=custom", "--dbname", db], os.path.join(partial, db + ".dump" + suffix),
                          recipients)
            stream_to(["pg_dumpall", "--globals-only"], os.path.join(partial, "globals.sql" + suffix), recipients)
            secrets = bool(settings.get("secrets")) and os.path.isdir(SECRETS)
            if secrets:
                tar_secrets(os.path.join(partial, "secrets.tar" + suffix), recipients)
            files = {n: os.path.getsize(os.path.join(partial, n)) for n in os.listdir(partial)}
            schema = dict((db, schema_of(db)) for db in databases)
            with open(os.path.join(partial, lib.MANIFEST), "w") as handle:
                handle.write(lib.manifest(name, databases, files, server, recipients, secrets, release, schema))
            # The manifest is covered too: its `databases` and `encrypted` drive a restore.
            with open(os.path.join(partial, lib.SUMS), "w") as handle:
                handle.write(lib.format_sums(digests(partial)))
            os.rename(partial, os.path.join(ROOT, name))
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        plan = lib.retention(names(), settings["keep_daily"], settings["keep_weekly"], settings["keep_monthly"],
                             settings["keep_pre_migration"])
        for old in plan["remove"]:
            shutil.rmtree(os.path.join(ROOT, old), ignore_errors=True)
        size = sum(files.values())
        status = write_status(last_success=time.time(), last_id=name, last_size=size,
                              last_duration=time.time() - started, last_error="")
        result = {"id": name, "path": os.path.join(ROOT, name), "size": size, "databases": databases,
                  "encrypted": bool(recipients), "secrets": secrets, "removed": plan["remove"], "offsite": {}}
        kept = sorted(n for n in plan["keep"] if n != name) + [name]
        try:
            copied = offsite(settings, kept, plan["remove"])
            if copied:
                write_status(offsite=dict(status.get("offsite") or {}, **copied), last_offsite_error="")
            result["offsite"] = copied
        except Failed as exc:
            copied = exc.args[1] if len(exc.args) > 1 else {}
            write_status(offsite=dict(status.get("offsite") or {}, **copied), last_offsite_error=str(exc.args[0]))
            raise Failed("backup %s was taken but its off-host copy failed (the next backup copies it again): %s"
                         % (name, exc.args[0]))
    return result


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def verify(name):
    directory = os.path.join(ROOT, name)
    try:
        with open(os.path.join(directory, lib.SUMS)) as handle:
            sums = lib.parse_sums(handle.read())
    except (OSError, ValueError) as exc:
        raise Failed("backup %s has no readable %s: %s" % (name, lib.SUMS, exc))
    problems = lib.verify_problems(sums, digests(directory))
    if problems:
        raise Failed("backup %s is refused: %s" % (name, "; ".join(problems)))
    with open(os.path.join(directory, lib.MANIFEST)) as handle:
        return json.load(handle)


# psql's own way to read the password from the environment (no command line shows it).
SET_OWN_PASSWORD = b"\\getenv pw PGPASSWORD\nALTER ROLE CURRENT_USER WITH PASSWORD :'pw';\n"


def decrypt(path, identity):
    """A process whose stdout is the clear content of path; the identity goes through a pipe."""
    if not path.endswith(".age"):
        return subprocess.Popen(["cat", path], stdout=subprocess.PIPE), None
    read_end, write_end = os.pipe()
    os.write(write_end, identity)
    os.close(write_end)
    proc = subprocess.Popen(["age", "--decrypt", "--identity", "/dev/fd/%d" % read_end, path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(read_end,))
    os.close(read_end)
    return proc, proc


def _finish(proc, what):
    if proc is None:
        return
    err = proc.stderr.read() if proc.stderr else b""
    if proc.wait() != 0:
        raise Failed("%s could not be decrypted (%s): give the private key of one of its recipients"
                     % (what, err.decode(errors="replace").strip()))


def restore(name, identity, secrets_to=None):
    with Lock():
        info = verify(name)
        if info.get("encrypted") and not identity.strip():
            raise Failed("backup %s is encrypted: give the age private key of one of its recipients" % name)
        directory = os.path.join(ROOT, name)
        suffix = ".age" if info.get("encrypted") else ""
        server = lib.major_version(psql("SHOW server_version_num"))
        if int(info.get("server_major") or 0) > server:
            raise Failed("backup %s was made by PostgreSQL %s, newer than this server's %d: not restored"
                         % (name, info.get("server_major"), server))
        # The roles first (errors for roles that exist are expected), then each database afresh. The roles come
        # with their password hashes, this service's own role's too: in the same session its password is set back
        # to the one it logs in with (.env's, from the environment, never on a command line), or every connection
        # after this one would be refused.
        source, proc = decrypt(os.path.join(directory, "globals.sql" + suffix), identity)
        roles = source.stdout.read()
        source.stdout.close()
        _finish(proc, "globals.sql")
        loader = subprocess.run(["psql", "-X", "-q", "-d", "postgres"],
                                input=roles + b"\n" + SET_OWN_PASSWORD, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        errors = [line for line in loader.stderr.decode(errors="replace").splitlines()
                  if "ERROR" in line and "already exists" not in line]
        if errors:
            raise Failed("restoring the roles failed: %s" % "; ".join(errors))
        for db in info.get("databases") or []:
            psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db.replace('"', '""'))
            source, proc = decrypt(os.path.join(directory, db + ".dump" + suffix), identity)
            loader = subprocess.run(["pg_restore", "--create", "--exit-on-error", "--dbname", "postgres"],
                                    stdin=source.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            source.stdout.close()
            _finish(proc, db + ".dump")
            if loader.returncode != 0:
                raise Failed("pg_restore of %s failed: %s" % (db, loader.stderr.decode(errors="replace").strip()))
        unpacked = None
        if secrets_to and info.get("secrets"):
            shutil.rmtree(secrets_to, ignore_errors=True)  # never merged with what an earlier run left
            os.makedirs(secrets_to, mode=0o700)
            source, proc = decrypt(os.path.join(directory, "secrets.tar" + suffix), identity)
            with tarfile.open(fileobj=source.stdout, mode="r|") as archive:
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(secrets_to, filter="data")
                else:  # Python without PEP 706: the archive is ours, checked against its sum above
                    archive.extractall(secrets_to)
            _finish(proc, "secrets.tar")
            unpacked = secrets_to
        counts = dict((db, row_counts(db)) for db in info.get("databases") or [])
    return {"id": name, "databases": info.get("databases"), "secrets": unpacked, "rows": counts}


def schema_of(db):
    """The database's migration revision (alembic_version), '' when it has none."""
    if not psql("SELECT to_regclass('public.alembic_version') IS NOT NULL", db) == "t":
        return ""
    return ",".join(psql("SELECT version_num FROM alembic_version ORDER BY 1", db).split())


def row_counts(db):
    """{schema.table: rows} of every table of a database, counted exactly."""
    query = lib.count_query(psql(lib.TABLES_QUERY, db).split())
    return lib.parse_counts(psql(query, db)) if query else {}


def check_key(name, identity):
    """Whether the identity opens an encrypted backup: its roles file decrypted, the clear text discarded."""
    info = verify(name)
    if not info.get("encrypted"):
        return {"id": name, "encrypted": False}
    if not identity.strip():
        raise Failed("backup %s is encrypted: give the age private key of one of its recipients" % name)
    source, proc = decrypt(os.path.join(ROOT, name, "globals.sql.age"), identity)
    source.stdout.read()
    _finish(proc, "backup %s" % name)
    return {"id": name, "encrypted": True}


def fetch(settings, name):
    """Bring a backup from the first off-host target that has it (disaster recovery on a new host); a target
    that cannot be reached is passed over and named if none has it."""
    unreachable = []
    for target in settings.get("offsite") or []:
        try:
            found = _fetch_from(settings, target, name)
        except Failed as exc:
            unreachable.append("%s (%s)" % (target["url"], exc))
            continue
        if found:
            return found
    raise Failed("no off-host target in taylordash_backup_offsite holds %s%s"
                 % (name, "; unreachable: " + "; ".join(unreachable) if unreachable else ""))


def _fetch_from(settings, target, name):
    """The backup `name` (or the latest) fetched from one target into ROOT, or None when it does not hold it."""
    if target.get("kind") == "s3":
        env = _rclone_env(settings)
        listed = [e.rstrip("/") for e in _run(["rclone", "lsf", "--dirs-only", _remote(target)], env=env).split()]
    elif target.get("kind") == "host":
        listed = lib.rsync_listing(_rsync(target, ["--list-only", lib.rsync_remote(target)]))
    else:
        return None
    if not listed or (name != "latest" and name not in listed):
        return None
    wanted = lib.pick(listed, name)
    partial = os.path.join(ROOT, ".partial-" + wanted)
    if target["kind"] == "s3":
        _run(["rclone", "copy", _remote(target, wanted), partial], env=env)
    else:
        _rsync(target, ["-rt", "--chmod=D0700,F0600", lib.rsync_remote(target, wanted + "/"), partial + "/"])
    os.rename(partial, os.path.join(ROOT, wanted))
    return {"id": wanted, "from": target["url"]}


class Metrics(http.server.BaseHTTPRequestHandler):
    interval = 86400

    def do_GET(self):
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404)
            return
        body = lib.status_metrics(read_status(), self.interval, time.time()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def loop(settings):
    interval = lib.parse_interval(settings["schedule"])
    # A manual run (the backup before a migration, right after a cold start) may be writing its own partial
    # backup: stale ones are cleared only when no backup holds the lock, never waited for (the metrics, which
    # the healthcheck reads, come next).
    with open(os.path.join(ROOT, ".lock"), "w") as guard:
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass
        else:
            for name in os.listdir(ROOT):
                if name.startswith(".partial-"):
                    shutil.rmtree(os.path.join(ROOT, name), ignore_errors=True)
            fcntl.flock(guard, fcntl.LOCK_UN)
    first = os.path.join(ROOT, lib.FIRST_START)
    if not os.path.exists(first):
        open(first, "w").close()
    write_status()
    Metrics.interval = interval
    server = http.server.ThreadingHTTPServer(("", int(settings["metrics_port"])), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("taylordash-backup: a backup every %ds into %s; metrics on :%s" % (interval, ROOT, settings["metrics_port"]),
          flush=True)
    retry = min(interval, 300)
    while True:
        status = read_status()
        now = time.time()
        due = (status.get("last_success") or 0) + interval
        if status.get("last_failure", 0) > status.get("last_success", 0):
            due = max(due, status["last_failure"] + retry)
        if now >= due:
            try:
                result = take(settings)
                print("taylordash-backup: took %s (%d bytes)" % (result["id"], result["size"]), flush=True)
            except Exception as exc:  # the loop survives any failure and reports it
                write_status(last_failure=time.time(), last_error=str(exc))
                print("taylordash-backup: backup failed: %s" % exc, file=sys.stderr, flush=True)
        time.sleep(max(1.0, min(5.0, interval / 10.0)))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="taylordash-backup")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("loop")
    run = sub.add_parser("run")
    run.add_argument("--label", default=None)
    run.add_argument("--release", default=None)
    sub.add_parser("list")
    sub.add_parser("status")
    check = sub.add_parser("verify")
    check.add_argument("name")
    back = sub.add_parser("restore")
    back.add_argument("name")
    back.add_argument("--secrets-to", default=None)
    key = sub.add_parser("check-key")
    key.add_argument("name")
    remote = sub.add_parser("fetch")
    remote.add_argument("name")
    sub.add_parser("ping")
    sub.add_parser("schema")
    args = parser.parse_args(argv)
    os.umask(0o077)
    try:
        if args.command == "ping":
            port = config()["metrics_port"]
            urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=3).read()
            return 0
        settings = config()
        if args.command == "loop":
            loop(settings)
        elif args.command == "run":
            try:
                result = take(settings, args.label, args.release)
            except Exception as exc:
                write_status(last_failure=time.time(), last_error=str(exc))
                raise
            print(json.dumps(result, sort_keys=True))
        elif args.command == "list":
            found = []
            for name in names():
                try:
                    with open(os.path.join(ROOT, name, lib.MANIFEST)) as handle:
                        found.append(dict(json.load(handle), id=name))  # the directory names the backup
                except (OSError, ValueError):
                    found.append({"id": name, "damaged": True})
            print(json.dumps(found, sort_keys=True))
        elif args.command == "schema":
            dbs = psql("SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'").split()
            print(json.dumps(dict((db, schema_of(db)) for db in dbs), sort_keys=True))
        elif args.command == "status":
            print(json.dumps(read_status(), sort_keys=True))
        elif args.command == "verify":
            print(json.dumps(verify(lib.pick(names(), args.name)), sort_keys=True))
        elif args.command == "check-key":
            identity = b"" if sys.stdin.isatty() else sys.stdin.buffer.read()
            print(json.dumps(check_key(lib.pick(names(), args.name), identity), sort_keys=True))
        elif args.command == "fetch":
            print(json.dumps(fetch(settings, args.name), sort_keys=True))
        elif args.command == "restore":
            identity = b"" if sys.stdin.isatty() else sys.stdin.buffer.read()
            print(json.dumps(restore(lib.pick(names(), args.name), identity, args.secrets_to), sort_keys=True))
        return 0
    except (Failed, ValueError, OSError) as exc:
        print("taylordash-backup: %s" % exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
