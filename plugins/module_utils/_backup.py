# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Backups of the stack's data: names, schedule, retention, checksums, settings and the figures
Prometheus and health-check.yml read. Pure and standard-library only: the backup container runs this
very file (copied into its image as taylordash_backup_lib.py) and the unit tests test it here.

A backup is a directory named by its UTC start time, `20261202T070000Z`, with `-<label>` after it
for one taken for a purpose (`-pre-migration-<release>`). It holds one file per database
(`<db>.dump`, pg_dump's custom format), the cluster's roles (`globals.sql`), optionally the deploy
directory's secrets and PKI (`secrets.tar`), each with `.age` appended when encrypted, then
`SHA256SUMS` over those files and `manifest.json`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

ID_FORMAT = "%Y%m%dT%H%M%SZ"
_ID = re.compile(r"\A(\d{8}T\d{6}Z)(?:-([a-z0-9][a-z0-9._-]{0,80}))?\Z")
PRE_MIGRATION = "pre-migration"
SUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
STATUS = "status.json"
FIRST_START = ".first-start"

_NAMED = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"\A(?:\d+[smhdw])+\Z")
# The shortest schedule: a backup takes seconds, and the loop looks every few.
MIN_INTERVAL = 10

_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_SSH_KEY = re.compile(r"\A(ssh-ed25519|ssh-rsa) [A-Za-z0-9+/]+={0,3}( .*)?\Z")
_S3 = re.compile(r"\As3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/[^\s]*)?\Z")
# A copy to another host: its user (useradd's rule) and directory, which go into an authorized_keys
# `command=` (so no quote, space or shell character).
_USER = re.compile(r"\A[a-z_][a-z0-9_-]{0,31}\Z")
_DIR = re.compile(r"\A(/[A-Za-z0-9._-]+)+/?\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_interval(text):
    """Seconds between scheduled backups: `hourly`, `daily`, `weekly`, or a duration like `6h`,
    `1h30m`, `45s`. Raises ValueError for anything else or for less than MIN_INTERVAL seconds."""
    value = str(text if text is not None else "").strip().lower()
    if value in _NAMED:
        return _NAMED[value]
    if not _DURATION.match(value):
        raise ValueError("%r is not hourly, daily, weekly or a duration like 6h, 1h30m or 45s" % (text,))
    seconds = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([smhdw])", value))
    if seconds < MIN_INTERVAL:
        raise ValueError("%r is shorter than %d seconds" % (text, MIN_INTERVAL))
    return seconds


def _bech32_polymod(values):
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk


def valid_recipient(text):
    """Whether `text` is a public key age encrypts to: an X25519 recipient (`age1...`, bech32 with a
    valid checksum, 32 bytes of key) or an SSH public key (ssh-ed25519, ssh-rsa)."""
    value = str(text or "").strip()
    if _SSH_KEY.match(value):
        return True
    if value != value.lower() or not value.startswith("age1") or len(value) != 62:
        return False
    data = value[4:]
    if any(c not in _BECH32 for c in data):
        return False
    hrp = "age"
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    return _bech32_polymod(expanded + [_BECH32.index(c) for c in data]) == 1


def offsite_target(text, inventory_hosts):
    """An off-host target: an S3 URL (`s3://bucket/prefix`) or an inventory host's name. Returns
    {kind: s3, bucket, prefix} or {kind: host, host}; raises ValueError for anything else."""
    value = str(text or "").strip()
    found = _S3.match(value)
    if found:
        return {"kind": "s3", "bucket": found.group(1), "prefix": (found.group(2) or "/").strip("/")}
    if value in (inventory_hosts or []):
        return {"kind": "host", "host": value}
    raise ValueError("%r is neither an inventory host nor an S3 URL (s3://bucket/prefix)" % (text,))


def offsite_targets(targets, addresses, ssh=None):
    """The off-host targets as the backup service reads them. An S3 URL: {kind: s3, bucket, prefix, url};
    an inventory host (a key of `addresses`, host -> the address other hosts reach it by): {kind: host,
    host, address, port, user, dir, url}, reached over SSH as `ssh`'s user, whose key may only run rrsync
    in `ssh`'s dir there. Raises ValueError for anything else."""
    ssh = ssh or {}
    found = []
    for text in targets or []:
        target = dict(offsite_target(text, list(addresses or {})), url=str(text).strip())
        if target["kind"] == "host":
            target.update(address=str(addresses[target["host"]]), port=int(ssh.get("port") or 22),
                          user=str(ssh.get("user") or ""), dir=str(ssh.get("dir") or ""))
        found.append(target)
    return found


def known_hosts_line(address, port, public_key):
    """The known_hosts line that pins `public_key` (`<type> <base64> [comment]`) for address:port."""
    parts = str(public_key or "").split()
    if len(parts) < 2:
        raise ValueError("%r is not an SSH public key" % (public_key,))
    where = address if int(port) == 22 else "[%s]:%d" % (address, int(port))
    return "%s %s %s" % (where, parts[0], parts[1])


def rsync_remote(target, path=""):
    """rsync's `user@address:path` for a host target (an IPv6 address in brackets); `path` is relative to the
    target's directory, which rrsync makes its root."""
    address = target["address"]
    if ":" in address:
        address = "[%s]" % address
    return "%s@%s:%s" % (target["user"], address, path)


def rsync_listing(text):
    """The backup names in `rsync --list-only` output (its last field; `.` and anything else left out)."""
    names = []
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0].startswith("d") and parse_id(fields[-1]):
            names.append(fields[-1])
    return sorted(names)


def rsync_purge_filters(names):
    """Filter rules that let `rsync -r --delete <empty dir>/ remote:` remove exactly these backups there (every
    other entry is excluded, so it is protected from --delete)."""
    rules = []
    for name in names:
        if not parse_id(name):
            raise ValueError("%r is not a backup name" % (name,))
        rules.append("--include=/%s/***" % name)
    return rules + ["--exclude=*"]


def settings_errors(settings, inventory_hosts):
    """Messages naming each wrong backup setting (taylordash_backup_*), before anything changes."""
    errors = []
    name = "taylordash_backup_"
    # The parsers below strip surrounding whitespace (the service reads the same file); a newline or another
    # control character in a setting is refused here instead of being stripped.
    for key in ("schedule", "recipients", "offsite"):
        items = settings.get(key)
        for item in items if isinstance(items, (list, tuple)) else [items]:
            if isinstance(item, str) and _CONTROL.search(item):
                errors.append("%s%s: %r holds a newline or another control character" % (name, key, item))
    try:
        parse_interval(settings.get("schedule"))
    except ValueError as exc:
        errors.append("%sschedule: %s" % (name, exc))
    for key in ("keep_daily", "keep_weekly", "keep_monthly", "keep_pre_migration"):
        value = settings.get(key)
        if isinstance(value, str) and re.match(r"\A\s*-?\d+\s*\Z", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append("%s%s must be a whole number of at least 1, not %r" % (name, key, value))
    recipients = settings.get("recipients") or []
    if not isinstance(recipients, (list, tuple)):
        errors.append("%srecipients must be a list of age public keys, not %r" % (name, recipients))
        return errors
    for recipient in recipients:
        if not valid_recipient(recipient):
            errors.append("%srecipients: %r is not an age public key (age1..., or an ssh-ed25519/ssh-rsa key)"
                          % (name, recipient))
    targets = settings.get("offsite") or []
    if not isinstance(targets, (list, tuple)):
        errors.append("%soffsite must be a list, not %r" % (name, targets))
        targets = []
    hosts = []
    for target in targets:
        try:
            if offsite_target(target, inventory_hosts)["kind"] == "host":
                hosts.append(target)
        except ValueError as exc:
            errors.append("%soffsite: %s" % (name, exc))
    backup_host = settings.get("backup_host") or ""
    if backup_host and backup_host in hosts:
        errors.append("%soffsite: %r is the host the backups are taken on; an off-host copy goes to another "
                      "inventory host" % (name, backup_host))
    if hosts:
        errors.extend(_ssh_errors(settings, name))
    if not recipients:
        if settings.get("secrets"):
            errors.append("%ssecrets is true but %srecipients is empty: the deploy directory's secrets are "
                          "only backed up encrypted" % (name, name))
        if targets:
            errors.append("%soffsite names targets but %srecipients is empty: nothing leaves the host "
                          "unencrypted" % (name, name))
    return errors


# Accounts a distribution or a service owns: the copies get a user of their own.
_SYSTEM_USERS = ("root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
                 "www-data", "backup", "list", "irc", "nobody", "postgres", "sshd", "messagebus", "docker")
# Directories a copy must not take over (the offsite user owns its directory, mode 0700).
_SYSTEM_DIRS = ("/var/lib", "/var/backups", "/var/cache", "/var/log", "/var/spool", "/var/tmp", "/var/mail",
                "/var/www", "/usr/local", "/usr/share", "/etc/ssh")


def _under(path, directory):
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _ssh_errors(settings, name):
    errors = []
    user = settings.get("offsite_user")
    if not isinstance(user, str) or not _USER.match(user) or user in _SYSTEM_USERS or user.startswith("systemd-"):
        errors.append("%soffsite_user must be a user name of its own (lower case; not root nor a system or "
                      "service account: it is created for the copies, and its key may only run rrsync), not %r"
                      % (name, user))
        user = None
    directory = settings.get("offsite_dir")
    if not isinstance(directory, str) or not _DIR.match(directory) or "/../" in directory + "/" \
            or "/./" in directory + "/":
        errors.append("%soffsite_dir must be an absolute path of letters, digits and ._- (it goes into an "
                      "authorized_keys command), not %r" % (name, directory))
    else:
        directory = directory.rstrip("/")
        home = "/var/lib/%s" % user if user else None
        owned = [d for d in (settings.get("deploy_dir"), settings.get("dir"), home) if d]
        if directory.count("/") < 2 or directory in _SYSTEM_DIRS \
                or any(_under(directory, d) or _under(d, directory) for d in owned):
            errors.append("%soffsite_dir %s would hand over a directory the system, the stack or the user's own "
                          "SSH keys need (it becomes the copies' user's, mode 0700): give a directory of its own, "
                          "two levels deep or more, such as /var/backups/taylordash" % (name, directory))
    port = settings.get("offsite_port")
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        errors.append("%soffsite_port must be a port number (1-65535), not %r" % (name, port))
    return errors


def backup_id(when, label=None):
    """The name of a backup started at `when` (an aware or UTC datetime)."""
    text = when.strftime(ID_FORMAT)
    return text + ("-" + label if label else "")


def parse_id(name):
    """(UTC datetime, label or None) of a backup's name, or None when `name` is not one."""
    found = _ID.match(str(name or ""))
    if not found:
        return None
    when = datetime.datetime.strptime(found.group(1), ID_FORMAT).replace(tzinfo=_UTC)
    return when, found.group(2)


class _Utc(datetime.tzinfo):
    def utcoffset(self, dt):
        return datetime.timedelta(0)

    def tzname(self, dt):
        return "UTC"

    def dst(self, dt):
        return datetime.timedelta(0)


_UTC = _Utc()


def retention(names, daily, weekly, monthly, pre_migration):
    """Which backups to keep and which to remove. The scheduled and manual ones (no label) keep the
    newest of each of the last `daily` days, `weekly` ISO weeks and `monthly` months that have one
    (restic's --keep-daily/weekly/monthly), and always the newest; the pre-migration ones keep their
    newest `pre_migration`. Names that are not backups are left alone (in neither list)."""
    parsed = [(name, parse_id(name)) for name in names]
    parsed = [(name, found) for name, found in parsed if found]
    plain = sorted([(found[0], name) for name, found in parsed if not found[1]], reverse=True)
    labelled = sorted([(found[0], name) for name, found in parsed
                       if found[1] and found[1].startswith(PRE_MIGRATION)], reverse=True)
    keep = set(name for _, name in plain[:1])
    buckets = [(daily, lambda t: t.date()), (weekly, lambda t: tuple(t.isocalendar()[:2])),
               (monthly, lambda t: (t.year, t.month))]
    for count, bucket in buckets:
        seen = set()
        for when, name in plain:
            if len(seen) >= count:
                break
            key = bucket(when)
            if key not in seen:
                seen.add(key)
                keep.add(name)
    keep.update(name for _, name in labelled[:pre_migration])
    considered = [name for _, name in plain + labelled]
    return {"keep": sorted(n for n in considered if n in keep),
            "remove": sorted(n for n in considered if n not in keep)}


def parse_sums(text):
    """{file: sha256} of a SHA256SUMS file (sha256sum's format); raises ValueError on a bad line."""
    sums = {}
    for line in str(text or "").splitlines():
        if not line.strip():
            continue
        found = re.match(r"\A([0-9a-f]{64}) [ *](\S.*)\Z", line)
        if not found or "/" in found.group(2):
            raise ValueError("not a SHA256SUMS line: %r" % (line,))
        sums[found.group(2)] = found.group(1)
    return sums


def format_sums(digests):
    """SHA256SUMS text for {file: sha256}, sorted by name (sha256sum -c reads it)."""
    return "".join("%s  %s\n" % (digests[name], name) for name in sorted(digests))


def verify_problems(sums, digests):
    """What is wrong with a backup: its recorded sums against the files' digests now ({file: sha256}
    of every file in the backup but SHA256SUMS, manifest.json included). Empty when it is intact."""
    problems = []
    if not sums:
        problems.append("%s lists no file" % SUMS)
    for name in sorted(sums):
        if name not in digests:
            problems.append("%s is missing" % name)
        elif digests[name] != sums[name]:
            problems.append("%s does not match its checksum (corrupted or altered)" % name)
    for name in sorted(set(digests) - set(sums)):
        problems.append("%s is not in %s" % (name, SUMS))
    return problems


def pick(names, wanted):
    """The backup a restore takes: `wanted` by name, or with `latest` (or empty) the newest without a
    label (the newest of all when every one has a label). Raises ValueError naming what exists."""
    backups = sorted((found[0], name) for name, found in ((n, parse_id(n)) for n in names) if found)
    if not backups:
        raise ValueError("there is no backup yet")
    if wanted in (None, "", "latest"):
        plain = [name for _, name in backups if not parse_id(name)[1]]
        return (plain or [name for _, name in backups])[-1]
    if wanted not in [name for _, name in backups]:
        raise ValueError("there is no backup %r; the newest are: %s"
                         % (wanted, ", ".join(name for _, name in backups[-5:])))
    return wanted


def major_version(text):
    """The major version in `server_version_num` (170004 -> 17) or PG_VERSION (`17`, `9.6` -> 9)."""
    value = str(text or "").strip()
    if re.match(r"\A\d{5,6}\Z", value):
        return int(value) // 10000
    found = re.match(r"\A(\d+)(\.\d+)?\Z", value)
    if not found:
        raise ValueError("not a PostgreSQL version: %r" % (text,))
    return int(found.group(1))


def status_metrics(status, interval, now):
    """Prometheus text for the backup service's /metrics, from its status.json (a dict)."""
    def number(key):
        value = status.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0
    lines = []

    def metric(name, help_text, value, labels=""):
        lines.append("# HELP %s %s" % (name, help_text))
        lines.append("# TYPE %s gauge" % name)
        lines.append("%s%s %s" % (name, labels, repr(float(value))))
    metric("taylordash_backup_last_success_timestamp_seconds",
           "When the last successful backup finished (0: none yet).", number("last_success"))
    metric("taylordash_backup_last_size_bytes", "Size of the last successful backup.", number("last_size"))
    metric("taylordash_backup_last_duration_seconds", "How long the last successful backup took.",
           number("last_duration"))
    metric("taylordash_backup_last_failure_timestamp_seconds", "When the last backup failed (0: never).",
           number("last_failure"))
    metric("taylordash_backup_interval_seconds", "The schedule: seconds between backups.", interval)
    metric("taylordash_backup_first_start_timestamp_seconds",
           "When the backup service first ran on this host (the start of the grace period).",
           number("first_start"))
    metric("taylordash_backup_count", "Backups on this host.", number("count"))
    for target, when in sorted((status.get("offsite") or {}).items()):
        metric("taylordash_backup_offsite_last_success_timestamp_seconds",
               "When the last backup reached an off-host target.", when,
               '{target="%s"}' % str(target).replace("\\", "\\\\").replace('"', '\\"'))
    lines.append("# HELP taylordash_backup_scrape_timestamp_seconds When this page was made.")
    lines.append("# TYPE taylordash_backup_scrape_timestamp_seconds gauge")
    lines.append("taylordash_backup_scrape_timestamp_seconds %s" % repr(float(now)))
    return "\n".join(lines) + "\n"


def backup_health(status, interval, grace, now):
    """What health-check.yml says of the backups: {ok, age (seconds or None), message}. Too old is
    older than twice the schedule; a host whose backup service started less than `grace` seconds
    ago (default: twice the schedule) is not failed for having none yet."""
    last = status.get("last_success") or 0
    first = status.get("first_start")
    first = now if first is None else first
    age = (now - last) if last else None
    limit = 2 * interval
    if last and age <= limit:
        return {"ok": True, "age": age, "message": "last backup %s ago (%s)" % (_human(age), status.get("last_id", ""))}
    in_grace = now - first < (grace if grace is not None else limit)
    if not last:
        message = "no backup yet; the backup service started %s ago" % _human(now - first)
    else:
        message = "the last backup is %s old, more than twice the schedule (%s)" % (_human(age), _human(interval))
    if status.get("last_error"):
        message += "; the last attempt failed: %s" % status.get("last_error")
    if in_grace:
        message += " (within the grace period of a new stack)"
    return {"ok": bool(in_grace), "age": age, "message": message}


def _human(seconds):
    rest = int(max(0, seconds or 0))
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    text = "".join("%d%s" % (value, unit) for value, unit in
                   ((days, "d"), (hours, "h"), (minutes, "m"), (rest, "s")) if value)
    return text or "0s"


def manifest(name, databases, files, server_major, recipients, secrets, release=None, schema=None):
    """manifest.json of a backup: what it holds and how it was made (recipients by key, not secret); `schema` is
    each database's migration revision when it was taken."""
    when, label = parse_id(name)
    return json.dumps({"id": name, "created": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "label": label or "",
                       "release": release or "", "schema": schema or {},
                       "databases": sorted(databases), "server_major": server_major,
                       "encrypted": bool(recipients), "recipients": list(recipients), "secrets": bool(secrets),
                       "files": files, "size": sum(files.values())}, indent=2, sort_keys=True) + "\n"


# Row counts, the same on both sides of a restore, an upgrade and an import.
TABLES_QUERY = ("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")


def count_query(tables):
    """One query counting the rows of each table (names as TABLES_QUERY returns them, quoted), as
    `table|rows` lines; None when there is no table."""
    tables = [t for t in tables if t]
    if not tables:
        return None
    return " UNION ALL ".join("SELECT '%s', count(*) FROM %s" % (t.replace("'", "''"), t) for t in tables)


def parse_counts(text):
    """{table: rows} of count_query's output (psql -A -t)."""
    counts = {}
    for line in str(text or "").splitlines():
        if "|" in line:
            table, _, rows = line.rpartition("|")
            counts[table] = int(rows)
    return counts


def count_mismatches(before, after, ignore=("public.alembic_version",)):
    """The tables whose rows differ between two {table: rows} ({} when they all match). A table only on one
    side counts as 0 rows on the other."""
    return dict((t, (before.get(t, 0), after.get(t, 0))) for t in sorted(set(before) | set(after))
                if t not in ignore and before.get(t, 0) != after.get(t, 0))


def single_user_role(output):
    """The bootstrap superuser's name in the output of PostgreSQL's single-user mode answering
    `SELECT rolname FROM pg_roles WHERE oid = 10` (`1: rolname = "taylordash"`)."""
    found = re.search(r'rolname = "([^"]+)"', str(output or ""))
    if not found:
        raise ValueError("no role name in the single-user mode's answer: %r" % (str(output or "")[-300:],))
    return found.group(1)


def data_version_problem(data_major, image_major, volume, image):
    """Why PostgreSQL's container must not be replaced (its volume's data is of another major than its image),
    or None. `data_major` is None for a volume that is new or empty."""
    if data_major is None or int(data_major) == int(image_major):
        return None
    return ("the PostgreSQL data in volume %s was made by PostgreSQL %s, but the image %s runs PostgreSQL %s: it "
            "would refuse to start and the database would be down. Nothing was changed. Upgrade the data with "
            "-e taylordash_postgres_upgrade=true (a dump with PostgreSQL %s's tools restored into %s, rows counted on "
            "both sides, the old data kept in volume %s-pg%s), or keep PostgreSQL %s (taylordash_images.postgres)"
            % (volume, data_major, image, image_major, data_major, image_major, volume, data_major, data_major))
