# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License
"""Thin adapters over module_utils/_settings.py: the checks an argument spec cannot express, each
returning the list of messages (empty when the settings can be used)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.taylordash.ops.plugins.module_utils import _port_plan, _settings


def _kind_of(path):
    """What a path on the controller is: 'd', 'f' or None."""
    return "d" if os.path.isdir(path) else "f" if os.path.isfile(path) else None


def image_errors(images):
    return _settings.image_errors(images)


def offline_errors(images, source, service_images):
    return _settings.offline_errors(images, source, service_images)


def shared_errors(deploy_dir, project_name, domain):
    return _settings.shared_errors(deploy_dir, project_name, domain)


def rotation_errors(names, rotation_id, known):
    return _settings.rotation_errors(names, rotation_id, known)


def dev_app_errors(apps, plan):
    return _settings.dev_app_errors(apps, plan)


def port_plan_errors(plan, variable_name="taylordash_port_plan"):
    """The port plan's own problems (ranges, protocols, clashes), as the port_plan module words them; the
    host's listening sockets are the phases' check (the module), not this one."""
    entries, problems = _port_plan.validate_plan(plan, variable_name)
    return [_port_plan.failure_message(problems, [], variable_name)] if problems else []


def infrastructure_errors(settings, port_map, published, enabled, plan):
    return _settings.infrastructure_errors(settings, port_map, published, enabled, plan)


def proxy_errors(tls_names, dashboard_host, tls, dashboard_user):
    return _settings.proxy_errors(tls_names, dashboard_host, tls, dashboard_user)


def application_errors(builds, apps, plugins, plan, workers, ports):
    """The application's checks; the source trees are read on the controller, where they are."""
    return _settings.application_errors(builds, apps, plugins, plan, workers, ports, _kind_of)


def role_options(spec_documents):
    return _settings.role_options(spec_documents)


def host_address_errors(hosts, hostvars):
    """taylordash_address of every inventory host that sets it (each host checks them all, so a bad address of
    one host stops every host before anything changes)."""
    return _settings.address_errors(dict((host, hostvars[host].get("taylordash_address")) for host in hosts))


def cleanup_errors(settings, dev_apps, project_name):
    return _settings.cleanup_errors(settings, dev_apps, project_name)


def docker_engine_errors(settings, platforms, facts):
    return _settings.docker_engine_errors(settings, platforms, facts)


def backup_role_errors(label, identity_file):
    """The backup role's checks; the identity file is read on the controller, where it is."""
    return _settings.backup_errors(label, identity_file, _kind_of)


def audit_errors(fail_on, scan_roots):
    return _settings.audit_errors(fail_on, scan_roots)


class FilterModule(object):
    def filters(self):
        return {"image_errors": image_errors, "offline_errors": offline_errors, "shared_errors": shared_errors,
                "dev_app_errors": dev_app_errors, "infrastructure_errors": infrastructure_errors,
                "rotation_errors": rotation_errors,
                "proxy_errors": proxy_errors, "port_plan_errors": port_plan_errors,
                "application_errors": application_errors, "role_options": role_options,
                "host_address_errors": host_address_errors, "cleanup_errors": cleanup_errors,
                "docker_engine_errors": docker_engine_errors, "backup_role_errors": backup_role_errors,
                "audit_errors": audit_errors}
