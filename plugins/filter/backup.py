# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Filters of the backup settings and status: thin adapters over module_utils/_backup.py (the logic the
backup container runs too)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible.errors import AnsibleFilterError

from ansible_collections.taylordash.ops.plugins.module_utils import _backup


def backup_settings_errors(settings, inventory_hosts):
    """Messages naming each wrong taylordash_backup_* setting ([] when all are right)."""
    return _backup.settings_errors(settings or {}, list(inventory_hosts or []))


def backup_offsite(targets, addresses, ssh=None):
    """The off-host targets as the backup service reads them: kind, bucket and prefix (S3), or host, address,
    port, user and dir (another inventory host, over SSH); and url. `addresses`: host -> its address."""
    try:
        return _backup.offsite_targets(targets, dict(addresses or {}), dict(ssh or {}))
    except ValueError as exc:
        raise AnsibleFilterError("taylordash_backup_offsite: %s" % exc)


def backup_known_hosts(slurped, addresses, port):
    """known_hosts pinning each host's key: `slurped` is a looped slurp of its ssh_host_ed25519_key.pub
    (item = the host), `addresses` host -> the address the backup service reaches it by."""
    lines = []
    results = slurped.get("results", []) if isinstance(slurped, dict) else list(slurped or [])
    for result in results:
        host = result["item"]
        try:
            key = base64.b64decode(result["content"]).decode()
            lines.append(_backup.known_hosts_line(addresses[host], int(port), key))
        except (KeyError, ValueError, TypeError) as exc:
            raise AnsibleFilterError("taylordash_backup_offsite: no SSH host key of %s (%s)" % (host, exc))
    return "".join(line + "\n" for line in lines)


def backup_interval(schedule):
    """Seconds between scheduled backups."""
    try:
        return _backup.parse_interval(schedule)
    except ValueError as exc:
        raise AnsibleFilterError("taylordash_backup_schedule: %s" % exc)


def backup_health(status, schedule, now):
    """health-check.yml's verdict on one host's backups: ok, age, message."""
    return _backup.backup_health(status or {}, backup_interval(schedule), None, float(now))


def backup_pick(names, wanted):
    """The backup a restore takes (`latest` or a name), or an error naming the newest that exist."""
    try:
        return _backup.pick(list(names or []), wanted)
    except ValueError as exc:
        raise AnsibleFilterError("backup_restore_id: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"backup_settings_errors": backup_settings_errors, "backup_offsite": backup_offsite,
                "backup_known_hosts": backup_known_hosts,
                "backup_interval": backup_interval, "backup_health": backup_health, "backup_pick": backup_pick}
