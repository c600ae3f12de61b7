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

import hashlib
import importlib.util
import marshal

from ansible.plugins.lookup import LookupBase

_MARK = "_taylordash_remembers"
_SHIPS = "_taylordash_ships_bytecode"
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
