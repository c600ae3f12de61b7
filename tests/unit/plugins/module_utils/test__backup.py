"""The backup logic the backup container runs and the roles read: schedule, keys, targets, retention,
checksums and the health verdict. Pure."""

import datetime
import json

import pytest

from ansible_collections.taylordash.ops.plugins.module_utils import _backup as b

RECIPIENT = "age1ukuzjevy3ggr9t2nphmfjl3uf9hdv2mp6vthqamhk00auy7w5f3qdncvpt"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq6Xy5d0Jm2kQ0a1x0M4n9YbS6mQhN2v8w3c1Yv0Z0a backup@host"
UTC = datetime.timezone.utc


@pytest.mark.parametrize("text,seconds", [
    ("daily", 86400), ("hourly", 3600), ("weekly", 604800), ("Daily", 86400), ("6h", 21600), ("1h30m", 5400),
    ("45s", 45), ("10s", 10), ("2d", 172800), ("1w", 604800), (" 15m ", 900),
])
def test_schedules_that_parse(text, seconds):
    assert b.parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", None, "every day", "0 3 * * *", "5s", "9s", "1.5h", "h", "-1h", "6 h", "1y"])
def test_schedules_that_do_not(text):
    with pytest.raises(ValueError):
        b.parse_interval(text)


@pytest.mark.parametrize("text,valid", [
    (RECIPIENT, True),
    (SSH_KEY, True),
    ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== me", True),
    (RECIPIENT[:-1] + ("q" if RECIPIENT[-1] != "q" else "p"), False),  # checksum broken
    (RECIPIENT.upper(), False),
    (RECIPIENT[:-2], False),
    ("age1" + "b" * 58, False),  # 'b' is not in bech32's alphabet
    ("AGE-SECRET-KEY-1UAHFHJPE8KDY6JGZX54PT7Z5ERQJQKNLDU6C9QL6Q257THANX0AQ8NHY5E", False),  # a private key
    ("", False), (None, False), ("ssh-dss AAAAB3 me", False),
])
def test_recipients(text, valid):
    assert b.valid_recipient(text) is valid


@pytest.mark.parametrize("text,expected", [
    ("s3://backups/taylordash/host1", {"kind": "s3", "bucket": "backups", "prefix": "taylordash/host1"}),
    ("s3://backups", {"kind": "s3", "bucket": "backups", "prefix": ""}),
    ("s3://backups/", {"kind": "s3", "bucket": "backups", "prefix": ""}),
    ("vault", {"kind": "host", "host": "vault"}),
])
def test_offsite_targets(text, expected):
    assert b.offsite_target(text, ["app1", "vault"]) == expected


@pytest.mark.parametrize("text", ["s3://", "s3://UPPER/x", "https://s3.example.com/bucket", "nowhere", "rsync://vault/x", ""])
def test_offsite_targets_refused(text):
    with pytest.raises(ValueError):
        b.offsite_target(text, ["app1", "vault"])


def test_offsite_targets_as_the_backup_service_reads_them():
    ssh = {"user": "taylordash-backup", "dir": "/var/backups/taylordash", "port": "2222"}
    found = b.offsite_targets(["s3://bkt/p", " vault "], {"vault": "10.0.0.9", "app1": "10.0.0.2"}, ssh)
    assert found == [
        {"kind": "s3", "bucket": "bkt", "prefix": "p", "url": "s3://bkt/p"},
        {"kind": "host", "host": "vault", "address": "10.0.0.9", "port": 2222, "user": "taylordash-backup",
         "dir": "/var/backups/taylordash", "url": "vault"}]
    assert b.offsite_targets([], {}, ssh) == []
    with pytest.raises(ValueError):
        b.offsite_targets(["app9"], {"vault": "10.0.0.9"}, ssh)


@pytest.mark.parametrize("address,port,line", [
    ("10.0.0.9", 22, "10.0.0.9 ssh-ed25519 AAAAC3Nz"),
    ("10.0.0.9", 2222, "[10.0.0.9]:2222 ssh-ed25519 AAAAC3Nz"),
    ("fd00::9", "2222", "[fd00::9]:2222 ssh-ed25519 AAAAC3Nz"),
])
def test_known_hosts_lines_pin_the_key_for_the_address_and_port(address, port, line):
    assert b.known_hosts_line(address, port, "ssh-ed25519 AAAAC3Nz root@vault\n") == line


@pytest.mark.parametrize("key", ["", None, "ssh-ed25519"])
def test_known_hosts_needs_a_key(key):
    with pytest.raises(ValueError):
        b.known_hosts_line("10.0.0.9", 22, key)


def test_rsync_remotes_are_relative_to_the_restricted_directory():
    target = {"user": "tb", "address": "10.0.0.9"}
    assert b.rsync_remote(target) == "tb@10.0.0.9:"
    assert b.rsync_remote(target, "20261202T070638Z/") == "tb@10.0.0.9:20261202T070638Z/"
    assert b.rsync_remote(dict(target, address="fd00::9")) == "tb@[fd00::9]:"


def test_rsync_listing_names_the_backups_only():
    text = """drwx------          4,096 2026/12/02 12:00:00 .
drwx------          4,096 2026/12/02 12:00:00 20261202T070638Z
drwx------          4,096 2026/12/02 12:00:00 20261201T070638Z-pre-migration
-rw-------             12 2026/12/02 12:00:00 20261130T070638Z
drwx------          4,096 2026/12/02 12:00:00 .partial-20261202T080000Z
drwx------          4,096 2026/12/02 12:00:00 lost+found
"""
    assert b.rsync_listing(text) == ["20261201T070638Z-pre-migration", "20261202T070638Z"]
    assert b.rsync_listing("") == []


def test_rsync_purge_filters_include_only_the_removed_backups():
    assert b.rsync_purge_filters(["20261202T070638Z", "20261201T070638Z-pre-migration"]) == [
        "--include=/20261202T070638Z/***", "--include=/20261201T070638Z-pre-migration/***", "--exclude=*"]
    assert b.rsync_purge_filters([]) == ["--exclude=*"]
    for bad in ("*", "../etc", "20261202T070638Z/../x", ""):
        with pytest.raises(ValueError):
            b.rsync_purge_filters([bad])


GOOD = {"schedule": "daily", "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12, "keep_pre_migration": 5,
        "recipients": [RECIPIENT], "secrets": True, "offsite": ["s3://bkt/p", "vault"], "backup_host": "core",
        "offsite_user": "taylordash-backup", "offsite_dir": "/var/backups/taylordash", "offsite_port": 22,
        "deploy_dir": "/opt/taylordash", "dir": "/opt/taylordash/backups"}


def test_good_settings_have_no_error():
    assert b.settings_errors(GOOD, ["vault", "core"]) == []
    assert b.settings_errors(dict(GOOD, recipients=[], secrets=False, offsite=[]), []) == []
    # The SSH settings only matter with a host target.
    assert b.settings_errors(dict(GOOD, offsite=["s3://bkt/p"], offsite_user="root"), ["vault"]) == []
    assert b.settings_errors(dict(GOOD, keep_daily="3"), ["vault"]) == []  # -e keep_daily=3 is a string


@pytest.mark.parametrize("change,variable", [
    ({"schedule": "every day"}, "taylordash_backup_schedule"),
    ({"keep_daily": 0}, "taylordash_backup_keep_daily"),
    ({"keep_weekly": -1}, "taylordash_backup_keep_weekly"),
    ({"keep_monthly": "many"}, "taylordash_backup_keep_monthly"),
    ({"keep_pre_migration": True}, "taylordash_backup_keep_pre_migration"),
    ({"keep_daily": "0"}, "taylordash_backup_keep_daily"),
    ({"recipients": ["age1notakey"]}, "taylordash_backup_recipients"),
    ({"recipients": RECIPIENT}, "taylordash_backup_recipients"),
    ({"recipients": [], "offsite": []}, "taylordash_backup_secrets"),
    ({"recipients": [], "secrets": False}, "taylordash_backup_offsite"),
    ({"offsite": ["ftp://x"]}, "taylordash_backup_offsite"),
    ({"offsite": ["app9"]}, "taylordash_backup_offsite"),
    ({"offsite": "s3://b"}, "taylordash_backup_offsite"),
    ({"offsite": ["core"]}, "taylordash_backup_offsite: 'core' is the host the backups are taken on"),
    ({"offsite_user": "root"}, "taylordash_backup_offsite_user"),
    ({"offsite_user": "Backup User"}, "taylordash_backup_offsite_user"),
    ({"offsite_dir": "backups"}, "taylordash_backup_offsite_dir"),
    ({"offsite_dir": "/var/backups/../etc"}, "taylordash_backup_offsite_dir"),
    ({"offsite_dir": '/var/b" x'}, "taylordash_backup_offsite_dir"),
    ({"offsite_user": "postgres"}, "taylordash_backup_offsite_user"),
    ({"offsite_user": "systemd-network"}, "taylordash_backup_offsite_user"),
    ({"offsite_dir": "/var"}, "taylordash_backup_offsite_dir"),
    ({"offsite_dir": "/var/lib"}, "taylordash_backup_offsite_dir"),
    ({"offsite_dir": "/var/backups/"}, "taylordash_backup_offsite_dir"),
    ({"offsite_dir": "/var/lib/taylordash-backup"}, "taylordash_backup_offsite_dir"),
    ({"offsite_dir": "/var/lib/taylordash-backup/copies"}, "taylordash_backup_offsite_dir"),
    ({"offsite_dir": "/opt/taylordash/copies"}, "taylordash_backup_offsite_dir"),
    ({"offsite_dir": "/opt"}, "taylordash_backup_offsite_dir"),
    ({"offsite_port": 0}, "taylordash_backup_offsite_port"),
    ({"offsite_port": "ssh"}, "taylordash_backup_offsite_port"),
])
def test_each_bad_setting_is_named(change, variable):
    errors = b.settings_errors(dict(GOOD, **change), ["vault", "core"])
    assert len(errors) == 1, errors
    assert errors[0].startswith(variable), errors


def test_names_round_trip():
    when = datetime.datetime(2026, 12, 2, 7, 6, 38, tzinfo=UTC)
    assert b.backup_id(when) == "20261202T070638Z"
    assert b.backup_id(when, "pre-migration") == "20261202T070638Z-pre-migration"
    assert b.parse_id("20261202T070638Z-pre-migration") == (when, "pre-migration")
    assert b.parse_id("20261202T070638Z")[1] is None
    for other in ("status.json", ".partial-20261202T070638Z", "20261202T070638", "20261202T070638Z-Bad Label", None):
        assert b.parse_id(other) is None


def _names(*stamps):
    return [s.replace("-", "").replace(":", "").replace(" ", "T") + "Z" for s in stamps]


def test_retention_keeps_the_newest_of_each_day_week_and_month():
    # One backup a day for 100 days, the last day twice.
    start = datetime.datetime(2026, 8, 25, 3, 0, tzinfo=UTC)
    names = [b.backup_id(start + datetime.timedelta(days=i)) for i in range(100)]
    names.append(b.backup_id(start + datetime.timedelta(days=99, hours=2)))
    plan = b.retention(names, 7, 4, 3, 5)
    kept = plan["keep"]
    assert names[-1] in kept and names[-2] not in kept  # the newest of the last day only
    days = sorted({n[:8] for n in kept})
    assert sorted(kept) == kept
    # 7 days, plus the Sundays (newest of their ISO week) and the months' last days before them.
    assert len([n for n in kept if n >= names[-8]]) == 7
    assert set(plan["keep"]) | set(plan["remove"]) == set(names)
    assert not set(plan["keep"]) & set(plan["remove"])
    weeks = {datetime.datetime.strptime(n[:8], "%Y%m%d").isocalendar()[:2] for n in kept}
    assert len(weeks) >= 4
    months = {n[:6] for n in kept}
    assert months == {"202610", "202611", "202612"}
    assert len(days) == len(kept)


@pytest.mark.parametrize("daily,weekly,monthly,expected", [
    (1, 1, 1, ["20261202T070000Z"]),
    (2, 1, 1, ["20261201T070000Z", "20261202T070000Z"]),
    (1, 2, 1, ["20261129T070000Z", "20261202T070000Z"]),          # Sunday 29 Nov ends the week before
    (1, 1, 2, ["20261130T070000Z", "20261202T070000Z"]),          # 30 Nov is November's newest
    (3, 3, 3, ["20261120T070000Z", "20261129T070000Z", "20261130T070000Z", "20261201T070000Z",
               "20261202T070000Z"]),
])
def test_retention_counts(daily, weekly, monthly, expected):
    names = ["20261120T070000Z", "20261129T070000Z", "20261130T070000Z", "20261201T070000Z",
             "20261202T060000Z", "20261202T070000Z"]
    plan = b.retention(names, daily, weekly, monthly, 1)
    assert plan["keep"] == expected
    assert sorted(plan["keep"] + plan["remove"]) == sorted(names)


def test_retention_keeps_pre_migration_backups_apart_and_leaves_strangers():
    names = ["20261201T070000Z", "20261202T070000Z", "20261130T000000Z-pre-migration",
             "20261201T000000Z-pre-migration", "20261202T000000Z-pre-migration", "20261202T080000Z-manual-label",
             "lost+found", "status.json"]
    plan = b.retention(names, 1, 1, 1, 2)
    assert plan["keep"] == ["20261201T000000Z-pre-migration", "20261202T000000Z-pre-migration", "20261202T070000Z"]
    assert plan["remove"] == ["20261130T000000Z-pre-migration", "20261201T070000Z"]


def test_retention_of_nothing():
    assert b.retention([], 1, 1, 1, 1) == {"keep": [], "remove": []}


def test_sums_round_trip_and_problems():
    digests = {"taylordash.dump.age": "a" * 64, "globals.sql.age": "b" * 64}
    text = b.format_sums(digests)
    assert text.splitlines()[0].endswith("  globals.sql.age")
    assert b.parse_sums(text) == digests
    assert b.verify_problems(digests, dict(digests)) == []
    assert b.verify_problems(digests, dict(digests, **{"globals.sql.age": "c" * 64})) == [
        "globals.sql.age does not match its checksum (corrupted or altered)"]
    assert b.verify_problems(digests, {"globals.sql.age": "b" * 64}) == ["taylordash.dump.age is missing"]
    assert b.verify_problems(digests, dict(digests, extra="d" * 64)) == ["extra is not in SHA256SUMS"]
    assert b.verify_problems({}, {}) == ["SHA256SUMS lists no file"]
    for bad in ("xyz  file", "%s  ../etc/passwd" % ("a" * 64)):
        with pytest.raises(ValueError):
            b.parse_sums(bad)


def test_pick():
    names = ["20261201T070000Z", "20261202T070000Z", "20261202T080000Z-pre-migration", "status.json"]
    assert b.pick(names, "latest") == "20261202T070000Z"
    assert b.pick(names, "") == "20261202T070000Z"
    assert b.pick(names, "20261201T070000Z") == "20261201T070000Z"
    assert b.pick(["20261202T080000Z-pre-migration"], "latest") == "20261202T080000Z-pre-migration"
    with pytest.raises(ValueError, match="no backup '20250101T000000Z'; the newest are: 20261201T070000Z"):
        b.pick(names, "20250101T000000Z")
    with pytest.raises(ValueError, match="no backup yet"):
        b.pick(["status.json"], "latest")


@pytest.mark.parametrize("text,major", [("170004", 17), ("150012", 15), ("90624", 9), ("17", 17), ("15\n", 15),
                                        ("9.6", 9)])
def test_major_versions(text, major):
    assert b.major_version(text) == major


def test_metrics_page():
    page = b.status_metrics({"last_success": 100.5, "last_size": 2048, "first_start": 50, "count": 3,
                             "offsite": {"s3://b/p": 101}}, 86400, 200)
    lines = dict(line.rsplit(" ", 1) for line in page.splitlines() if not line.startswith("#"))
    assert lines["taylordash_backup_last_success_timestamp_seconds"] == "100.5"
    assert lines["taylordash_backup_interval_seconds"] == "86400.0"
    assert lines["taylordash_backup_first_start_timestamp_seconds"] == "50.0"
    assert lines["taylordash_backup_last_failure_timestamp_seconds"] == "0.0"
    assert lines['taylordash_backup_offsite_last_success_timestamp_seconds{target="s3://b/p"}'] == "101.0"
    assert b.status_metrics({}, 60, 1).count("# TYPE") == 8


@pytest.mark.parametrize("status,now,ok,says", [
    ({"last_success": 1000, "last_id": "X", "first_start": 0}, 1000 + 7200, True, "last backup 2h ago (X)"),
    ({"last_success": 1000, "first_start": 0}, 1000 + 2 * 86400 + 1, False, "more than twice the schedule"),
    ({"first_start": 1000}, 1000 + 3600, True, "within the grace period"),
    ({"first_start": 1000}, 1000 + 2 * 86400 + 1, False, "no backup yet"),
    ({"first_start": 0, "last_success": 10, "last_error": "pg_dump failed"}, 10 ** 7, False, "pg_dump failed"),
    ({}, 5000, True, "no backup yet"),
])
def test_health_verdict(status, now, ok, says):
    verdict = b.backup_health(status, 86400, None, now)
    assert verdict["ok"] is ok
    assert says in verdict["message"]


def test_manifest():
    text = b.manifest("20261202T070638Z-pre-migration", ["b", "a"], {"a.dump.age": 10, "globals.sql.age": 5}, 17,
                      [RECIPIENT], True, "taylordash/backend:1", {"a": "0001", "b": ""})
    data = json.loads(text)
    assert data == {"id": "20261202T070638Z-pre-migration", "created": "2026-12-02T07:06:38Z",
                    "label": "pre-migration", "release": "taylordash/backend:1", "schema": {"a": "0001", "b": ""},
                    "databases": ["a", "b"],
                    "server_major": 17, "encrypted": True, "recipients": [RECIPIENT], "secrets": True,
                    "files": {"a.dump.age": 10, "globals.sql.age": 5}, "size": 15}


def test_count_query_and_its_output():
    assert b.count_query([]) is None
    query = b.count_query(["public.projects", 'public."o\'dd"'])
    assert query == ("SELECT 'public.projects', count(*) FROM public.projects UNION ALL "
                     "SELECT 'public.\"o''dd\"', count(*) FROM public.\"o'dd\"")
    assert b.parse_counts("public.projects|3\npublic.a|b|0\n\n") == {"public.projects": 3, "public.a|b": 0}


@pytest.mark.parametrize("before,after,wrong", [
    ({"public.p": 3}, {"public.p": 3}, {}),
    ({"public.p": 3}, {"public.p": 2}, {"public.p": (3, 2)}),
    ({"public.p": 3}, {}, {"public.p": (3, 0)}),
    ({}, {"public.new": 1}, {"public.new": (0, 1)}),
    ({"public.alembic_version": 1}, {}, {}),  # the migration table may differ (an import migrates after)
    ({"public.p": 0}, {}, {}),
])
def test_count_mismatches(before, after, wrong):
    assert b.count_mismatches(before, after) == wrong


def test_single_user_role():
    out = 'PostgreSQL stand-alone backend 15.14\nbackend>\t 1: rolname = "taylordash"\t(typeid = 19, len = 64)\n'
    assert b.single_user_role(out) == "taylordash"
    with pytest.raises(ValueError):
        b.single_user_role("FATAL: database files are incompatible")


def test_data_version_problem():
    assert b.data_version_problem(None, 17, "v", "img") is None
    assert b.data_version_problem(17, 17, "v", "img") is None
    text = b.data_version_problem(15, 17, "taylordash_postgres-data", "taylordash/postgres:17")
    for part in ("made by PostgreSQL 15", "runs PostgreSQL 17", "taylordash_postgres_upgrade=true",
                 "taylordash_postgres-data-pg15", "Nothing was changed"):
        assert part in text
