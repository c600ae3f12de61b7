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
    C(taylordash-ansiballz) beside that directory (C(~/.ansible/tmp) by default; a directory only this user can
    write, else nothing is kept or read), if every file it packed is, byte for byte, the file on disk under
    ansible-core's install or the collection it belongs to; with the size and modification time of each, the
    directory each collection resolves to and its C(meta/runtime.yml). Modules of a C(library/) directory and
    payloads with C(module_utils) of a C(module_utils/) directory are never kept. Later runs of the same
    ansible-core, Python and bytecode setting start with the kept payloads whose files are all as recorded, whose
    collections resolve to the same directories and which ansible-core's reader reads; any other is built again,
    as before.
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
        run) for nothing. Decided for the whole run by its first call; later calls keep that setting.
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
import pickle
import sys
import tempfile
import zipfile

from ansible.plugins.lookup import LookupBase

_MARK = "_taylordash_remembers"
_SHIPS = "_taylordash_ships_bytecode"
_PERSISTS = "_taylordash_persists_payloads"
_BYTECODE = "_taylordash_bytecode"
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


def _ansible_root():
    import ansible
    return os.path.realpath(os.path.dirname(ansible.__file__))


def _resolved(key, roots):
    """The directory of root `key` (ansible, or a collection ns.name), resolved once per run into `roots`."""
    if key not in roots:
        roots[key] = _ansible_root() if key == "ansible" else collection_root(*key.split(".", 1))
    return roots[key]


def source_of(arcname, roots):
    """(root key, file path) of a payload member: ansible/... in ansible-core's install, ansible_collections/ns/name/...
    in that collection's directory (`roots`: key -> directory, filled as found; ValueError when a collection does
    not resolve); None for any other member: a pyc this lookup added (derived from its source), the namespace
    packages above a collection that ansible-core makes up."""
    parts = arcname.split("/")
    if arcname.endswith(".pyc"):
        return None
    if parts[0] == "ansible" and len(parts) > 1:
        key, rest = "ansible", parts[1:]
    elif parts[0] == "ansible_collections" and len(parts) > 3:
        key, rest = "%s.%s" % (parts[1], parts[2]), parts[3:]
    elif parts[0] == "ansible_collections":
        return None
    else:
        raise ValueError("a payload member of no known root: %s" % arcname)
    if not _resolved(key, roots):
        raise ValueError("%s: collection %s does not resolve" % (arcname, key))
    return key, os.path.join(roots[key], *rest)


# Packages whose text ansible-core writes itself in every payload (of this ansible-core: the store's key).
_MADE_UP = frozenset(("ansible/__init__.py", "ansible/module_utils/__init__.py"))


def _stat(path):
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_size, found.st_mtime_ns]


def manifest_of(zip_data, roots):
    """What a payload was built from: every member's file with its size and modification time, each root's directory
    and its collection's meta/runtime.yml (its redirects). Each member must be the file's text now (checked between
    two stats of the file), or an empty package ansible-core makes up where there is no file (recorded as absent):
    ValueError otherwise, e.g. a module_utils file from a module_utils/ directory beside a playbook, or a file saved
    while the payload was built."""
    files, used = {}, set()
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(zip_data))) as payload:
        for info in payload.infolist():
            found = source_of(info.filename, roots)
            if found is None or info.filename in _MADE_UP:
                continue
            used.add(found[0])
            path, packed = found[1], payload.read(info)
            before = _stat(path)
            if before is None:
                if packed.strip():
                    raise ValueError("%s: packed from a file that is not %s" % (info.filename, path))
                files[path] = None
                continue
            with open(path, "rb") as handle:
                on_disk = handle.read()
            if on_disk != packed or _stat(path) != before:
                raise ValueError("%s: %s is not what was packed" % (info.filename, path))
            files[path] = before
    for key in used:
        if key != "ansible":
            runtime = os.path.join(roots[key], "meta", "runtime.yml")
            files[runtime] = _stat(runtime)
    return {"roots": dict((key, roots[key]) for key in sorted(used)), "files": files}


def manifest_holds(manifest, roots):
    """Whether every root still resolves to its directory and every file is as the manifest records it."""
    for key, directory in manifest.get("roots", {}).items():
        if _resolved(key, roots) != directory:
            return False
    return all(_stat(path) == recorded for path, recorded in manifest.get("files", {}).items())


def _private_dir(path):
    """`path` as a directory only this user can use, made if missing; False when it is someone else's or open."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    found = os.stat(path)
    return found.st_uid == os.getuid() and not found.st_mode & 0o077


def _private_store(store):
    """Whether the store and the directory above it are this user's only (made if missing)."""
    return _private_dir(os.path.dirname(store)) and _private_dir(store)


def _write(path, data):
    handle, part = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.rename(part, path)
    except BaseException:
        if os.path.exists(part):
            os.unlink(part)
        raise


def keep_payload(store, cached_path, zip_data, roots):
    """Keep the payload ansible-core just wrote to `cached_path` in `store`: one file, its manifest (one line of
    JSON) then the payload, written with one rename, so a reader never pairs one with another's."""
    manifest = manifest_of(zip_data, roots)
    if not _private_store(store):
        return
    with open(cached_path, "rb") as handle:
        data = handle.read()
    entry = json.dumps(manifest, sort_keys=True).encode("utf-8") + b"\n" + data
    _write(os.path.join(store, os.path.basename(cached_path) + ".kept"), entry)


def restore_payloads(store, run_cache, roots, load=None):
    """Copy every kept payload whose manifest still holds (and that `load`, ansible-core's reader of a payload,
    reads) into this run's cache; the names restored. A store someone else could write is not read."""
    restored = []
    try:
        if not _private_store(store):
            return restored
        entries = sorted(os.listdir(store))
    except OSError:
        return restored
    for entry in entries:
        if not entry.endswith(".kept"):
            continue
        name = entry[:-len(".kept")]
        try:
            with open(os.path.join(store, entry), "rb") as handle:
                header, _, data = handle.read().partition(b"\n")
            manifest = json.loads(header.decode("utf-8"))
            if not manifest_holds(manifest, roots) or os.path.exists(os.path.join(run_cache, name)):
                continue
            if load is not None:
                load(data)
            os.makedirs(run_cache, exist_ok=True)
            _write(os.path.join(run_cache, name), data)
            restored.append(name)
        except Exception:  # noqa: BLE001 - speed only: an entry that does not read is built again
            continue
    return restored


def payload_store(local_tmp, bytecode):
    """The directory of kept payloads for this ansible-core and Python, with or without bytecode."""
    from ansible.release import __version__
    key = "%s-py%s-%s" % (__version__, "".join(str(part) for part in sys.version_info[:2]),
                          "pyc-" + importlib.util.MAGIC_NUMBER.hex() if bytecode else "source")
    return os.path.join(os.path.dirname(os.path.realpath(local_tmp)), "taylordash-ansiballz", key)


def persist_payloads(module_common, local_tmp):
    """Start this run's payload cache from the kept payloads that still hold, and keep every payload a worker
    builds from now on (module_common._CachedModule.dump, which writes it); True when it does (now or already).
    Modules of a playbook's or role's library/ (ansible.legacy.*) are never kept: their files are the playbook's."""
    cached = getattr(module_common, "_CachedModule", None)
    original = getattr(cached, "dump", None)
    if not callable(original):
        return False
    if getattr(original, _PERSISTS, False):
        return True

    def ships():
        return bool(getattr(getattr(module_common, "recursive_finder", None), _SHIPS, False))

    def load(data):
        if not isinstance(pickle.loads(data), cached):
            raise ValueError("not a payload")

    run_cache = os.path.join(local_tmp, "ansiballz_cache")
    roots = {}
    restore_payloads(payload_store(local_tmp, ships()), run_cache, roots, load)

    def dump(self, path):
        original(self, path)
        try:
            if (not getattr(self, "source_mapping", None) and os.path.dirname(path) == run_cache
                    and not os.path.basename(path).startswith("ansible.legacy.")):
                keep_payload(payload_store(local_tmp, ships()), path, self.zip_data, roots)
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
            # The first call decides for the whole run, either way: the payloads kept and restored (persist) are
            # those of one setting, and a later call of another play must not switch it halfway.
            if getattr(module_common, _BYTECODE, None) is None:
                setattr(module_common, _BYTECODE, bool(self.get_option("bytecode")))
            if getattr(module_common, _BYTECODE) and not ship_bytecode(module_common):
                return [False]
            if self.get_option("persist"):
                from ansible import constants
                persist_payloads(module_common, constants.DEFAULT_LOCAL_TMP)
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
