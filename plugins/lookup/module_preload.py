# -*- coding: utf-8 -*-
# Copyright: taylordash-ops developers
# MIT License

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: module_preload
short_description: Speed only - parse the module_utils the run's modules ship once, in the controller's main process
version_added: 0.1.0
description:
  - Before a module runs, the worker process that ansible-playbook forks for the task walks the module's imports to
    pack every C(module_utils) file it needs, parsing each into a syntax tree (ansible.builtin.setup and every module
    built on C(AnsibleModule) share most of them). A worker's parse dies with it, so every module type of a run
    parses the same files again - about 0.3 s each, a quarter of a no-op deploy.
  - Called in the main process (from a meta task's condition), this lookup makes that parse remember its trees for
    the rest of the run and parses the C(module_utils) of the modules named in O(_terms) once; the workers forked
    afterwards inherit them. A tree depends only on the file's text, so what a worker packs does not change.
  - With O(bytecode=true) it also ships bytecode - every C(module_utils) file packed into a module's payload gets
    its compiled form next to it (C(name.pyc), an unchecked hash-based pyc of this controller's Python, compiled
    without optimisation), compiled once per file and text for the run. A host whose Python is the controller's
    version imports them without compiling (about 0.15 s of every module run); any other version finds a pyc of
    another magic number, which Python's zipimport skips for the source next to it. The module's own file is left
    as source, so its frames keep the payload's path (a deprecation it raises is still attributed to it).
    Tracebacks through C(module_utils) show the file's path inside the payload.
  - With O(persist=true) the payloads outlive the run - ansible-core keeps each module's payload (its zip of the
    module and every C(module_utils) file) in the run's own temporary directory, so every run builds every payload
    again, about 0.1 s per module type and 2 s of a no-op deploy. Each payload a worker builds is also kept in
    C(taylordash-ansiballz) beside that directory (C(~/.ansible/tmp) by default; mode 0700), with the path, size
    and modification time of every file it packed and the directory of every collection it packed from. Later
    runs of the same ansible-core and Python start with the kept payloads whose files are all as recorded and
    whose collections resolve to the same directories; any other is built again, as before.
  - Never fails a run - with an ansible-core whose internals differ it does nothing and returns V(false).
    C(tests/unit/plugins/lookup/test_module_preload.py) checks that it still takes effect with the ansible-core
    this collection pins.
author: taylordash-ops developers
options:
  _terms:
    description: Fully qualified names of modules whose imports to parse now.
    required: true
  bytecode:
    description:
      - Ship the bytecode of each C(module_utils) file in the payloads. Worth it only when the hosts run the
        controller's Python (the local connection); on others the payload is larger (about 0.5 MB more per module
        run) for nothing. Decided for the whole run at the first call that sets it.
    type: bool
    default: false
  persist:
    description:
      - Keep the payloads built in this run for later runs, and start from those kept by earlier ones whose files
        have not changed since. Decided for the whole run at the first call that sets it.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Parse the modules' imports once (speed only)
  ansible.builtin.meta: flush_handlers
  when: lookup('taylordash.ops.module_preload', 'ansible.builtin.setup', 'taylordash.ops.path_state') and false
"""

RETURN = r"""
_raw:
  description: One element - whether the parses are remembered for this run.
  type: list
  elements: bool
"""

import base64
import hashlib
import importlib.util
import io
import json
import marshal
import os
import sys
import zipfile

from ansible.plugins.lookup import LookupBase

_MARK = "_taylordash_remembers"
_SHIPS = "_taylordash_ships_bytecode"
_PERSISTS = "_taylordash_persists_payloads"
# An unchecked hash-based pyc (PEP 552): the importer neither stats nor hashes the source it sits next to.
_UNCHECKED_HASH = (1).to_bytes(4, "little")


def remember_parses(module_common):
    """Make module_common's parse of a module's source remember its tree (by name and text) for the life of
    this process and of the processes it forks; True when it does (now or already)."""
    original = getattr(module_common, "_compile_module_ast", None)
    if original is None or not callable(original):
        return False
    if getattr(original, _MARK, False):
        return True
    trees = {}

    def parse_once(*args, **kwargs):
        # As the pinned release calls it: (module_name, source_code). Any other call goes through untouched.
        if len(args) != 2 or kwargs:
            return original(*args, **kwargs)
        module_name, source_code = args
        text = source_code if isinstance(source_code, bytes) else str(source_code).encode("utf-8", "surrogateescape")
        key = (module_name, hashlib.sha256(text).hexdigest())
        if key not in trees:
            trees[key] = original(module_name, source_code)
        return trees[key]

    setattr(parse_once, _MARK, True)
    parse_once.trees = trees
    module_common._compile_module_ast = parse_once
    return True


def pyc(path, source):
    """The bytes of an unchecked hash-based pyc of `source` (text or bytes) as this Python compiles it for `path`
    (a payload's inner path, e.g. ansible/module_utils/basic.py), or None when it does not compile."""
    data = source if isinstance(source, bytes) else str(source).encode("utf-8", "surrogateescape")
    try:
        code = compile(data, path, "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError):
        return None
    return importlib.util.MAGIC_NUMBER + _UNCHECKED_HASH + importlib.util.source_hash(data) + marshal.dumps(code)


class _BytecodeZip(object):
    """A payload's zip as module_common writes it, with each .py file's pyc written next to it."""

    def __init__(self, zf, compiled):
        self._zf = zf
        self._compiled = compiled

    def writestr(self, zinfo_or_arcname, data, *args, **kwargs):
        self._zf.writestr(zinfo_or_arcname, data, *args, **kwargs)
        name = getattr(zinfo_or_arcname, "filename", zinfo_or_arcname)
        if not isinstance(name, str) or not name.endswith(".py") or not data:
            return
        raw = data if isinstance(data, bytes) else str(data).encode("utf-8", "surrogateescape")
        key = (name, hashlib.sha256(raw).hexdigest())
        if key not in self._compiled:
            self._compiled[key] = pyc(name, raw)
        if self._compiled[key] is not None and name + "c" not in self._zf.NameToInfo:
            self._zf.writestr(name + "c", self._compiled[key], compress_type=getattr(zinfo_or_arcname, "compress_type", None))

    def __getattr__(self, attr):
        return getattr(self._zf, attr)


def ship_bytecode(module_common):
    """Make module_common's writer of a payload's module_utils (recursive_finder, which takes the zip as its 4th
    argument) add each file's pyc; True when it does (now or already)."""
    original = getattr(module_common, "recursive_finder", None)
    if not callable(original):
        return False
    if getattr(original, _SHIPS, False):
        return True
    compiled = {}

    def with_bytecode(*args, **kwargs):
        if len(args) <= 3 or not hasattr(args[3], "writestr"):
            return original(*args, **kwargs)
        args = list(args)
        args[3] = _BytecodeZip(args[3], compiled)
        return original(*args, **kwargs)

    setattr(with_bytecode, _SHIPS, True)
    with_bytecode.compiled = compiled
    module_common.recursive_finder = with_bytecode
    return True


def collection_root(namespace, name):
    """The directory ansible-core's collection loader resolves the collection namespace.name to, or None."""
    try:
        spec = importlib.util.find_spec("ansible_collections.%s.%s" % (namespace, name))
    except (ImportError, ValueError, AttributeError):
        return None
    locations = list(getattr(spec, "submodule_search_locations", None) or []) if spec else []
    return os.path.realpath(locations[0]) if locations else None


def source_of(arcname, roots):
    """(root key, file path) of a payload member: ansible/... in ansible-core's install, ansible_collections/ns/name/...
    in that collection's directory (`roots`: key -> directory, filled as found); None for any other member: a pyc
    this lookup added (derived from its source), the namespace packages above a collection ansible-core makes up."""
    parts = arcname.split("/")
    if arcname.endswith(".pyc"):
        return None
    if parts[0] == "ansible" and len(parts) > 1:
        if "ansible" not in roots:
            import ansible
            roots["ansible"] = os.path.realpath(os.path.dirname(ansible.__file__))
        return "ansible", os.path.join(roots["ansible"], *parts[1:])
    if parts[0] == "ansible_collections" and len(parts) > 3:
        key = "%s.%s" % (parts[1], parts[2])
        if key not in roots:
            roots[key] = collection_root(parts[1], parts[2])
        return (key, os.path.join(roots[key], *parts[3:])) if roots[key] else None
    return None


def _stat(path):
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_size, found.st_mtime_ns]


def manifest_of(zip_data, roots):
    """What a payload was built from: every member's file with its size and modification time (None when it is
    not a file: the namespace packages ansible-core makes up), and the directory of each root."""
    names = zipfile.ZipFile(io.BytesIO(base64.b64decode(zip_data))).namelist()
    files = {}
    used = set()
    for name in names:
        found = source_of(name, roots)
        if found is not None:
            used.add(found[0])
            files[found[1]] = _stat(found[1])
        elif not (name.endswith(".pyc") or name.startswith("ansible_collections/")):
            raise ValueError("a payload member of no known root: %s" % name)
    return {"roots": dict((key, roots[key]) for key in sorted(used)), "files": files}


def manifest_holds(manifest, roots):
    """Whether every root still resolves to its directory and every file is as the manifest records it."""
    for key, directory in manifest.get("roots", {}).items():
        if key not in roots:
            roots[key] = (os.path.realpath(os.path.dirname(__import__("ansible").__file__)) if key == "ansible"
                          else collection_root(*key.split(".", 1)))
        if roots[key] != directory:
            return False
    return all(_stat(path) == recorded for path, recorded in manifest.get("files", {}).items())


def _write(path, data):
    part = "%s.part-%d" % (path, os.getpid())
    with open(part, "wb") as handle:
        handle.write(data)
    os.rename(part, path)


def keep_payload(store, cached_path, zip_data, roots):
    """Keep the payload ansible-core just wrote to `cached_path` in `store`, with its manifest."""
    manifest = manifest_of(zip_data, roots)
    os.makedirs(store, mode=0o700, exist_ok=True)
    name = os.path.basename(cached_path)
    with open(cached_path, "rb") as handle:
        _write(os.path.join(store, name), handle.read())
    _write(os.path.join(store, name + ".json"), json.dumps(manifest, sort_keys=True).encode("utf-8"))


def restore_payloads(store, run_cache, roots):
    """Copy every kept payload whose manifest still holds into this run's cache; the names restored."""
    restored = []
    try:
        entries = sorted(os.listdir(store))
    except OSError:
        return restored
    for entry in entries:
        if not entry.endswith(".json") or ".part-" in entry:
            continue
        name = entry[:-len(".json")]
        try:
            with open(os.path.join(store, entry), "rb") as handle:
                manifest = json.loads(handle.read().decode("utf-8"))
            if not manifest_holds(manifest, roots) or os.path.exists(os.path.join(run_cache, name)):
                continue
            with open(os.path.join(store, name), "rb") as handle:
                data = handle.read()
            os.makedirs(run_cache, exist_ok=True)
            _write(os.path.join(run_cache, name), data)
            restored.append(name)
        except (OSError, ValueError):
            continue
    return restored


def payload_store(local_tmp, bytecode):
    """The directory of kept payloads for this ansible-core and Python, with or without bytecode."""
    from ansible.release import __version__
    key = "%s-py%s-%s" % (__version__, "".join(str(part) for part in sys.version_info[:2]),
                          "pyc-" + importlib.util.MAGIC_NUMBER.hex() if bytecode else "source")
    return os.path.join(os.path.dirname(os.path.realpath(local_tmp)), "taylordash-ansiballz", key)


def persist_payloads(module_common, local_tmp, bytecode):
    """Start this run's payload cache from the kept payloads that still hold, and keep every payload a worker
    builds from now on (module_common._CachedModule.dump, which writes it); True when it does (now or already)."""
    cached = getattr(module_common, "_CachedModule", None)
    original = getattr(cached, "dump", None)
    if not callable(original):
        return False
    if getattr(original, _PERSISTS, False):
        return True
    store = payload_store(local_tmp, bytecode)
    run_cache = os.path.join(local_tmp, "ansiballz_cache")
    roots = {}
    restore_payloads(store, run_cache, roots)

    def dump(self, path):
        original(self, path)
        try:
            if not getattr(self, "source_mapping", None) and os.path.dirname(path) == run_cache:
                keep_payload(store, path, self.zip_data, roots)
        except Exception:  # noqa: BLE001 - speed only: a payload not kept is built again next run
            pass

    setattr(dump, _PERSISTS, True)
    cached.dump = dump
    return True


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        try:
            from ansible.executor import module_common
            from ansible.plugins.loader import module_loader
        except ImportError:
            return [False]
        try:
            if not remember_parses(module_common):
                return [False]
            if self.get_option("bytecode") and not ship_bytecode(module_common):
                return [False]
            if self.get_option("persist"):
                from ansible import constants
                persist_payloads(module_common, constants.DEFAULT_LOCAL_TMP,
                                 getattr(module_common.recursive_finder, _SHIPS, False))
        except Exception:  # noqa: BLE001 - speed only: whatever changed in ansible-core, the run goes on as before
            return [False]
        for name in terms:
            try:
                found = module_loader.find_plugin_with_context(name)
                if found.resolved:
                    # Packs the module as a worker would (the imports are parsed first, then the rest may need
                    # the host's variables, which it does not get here: that part may fail, and is not needed).
                    module_common.modify_module(module_name=found.resolved_fqcn, module_path=found.plugin_resolved_path,
                                                module_args={}, templar=self._templar, task_vars={})
            except Exception:  # noqa: BLE001 - see above
                continue
        return [True]
