"""plugins/lookup/module_preload.py: the parse of a module's imports is remembered, and with the ansible-core
this collection pins the workers' packing goes through the remembered parse."""

import base64
import importlib.util
import io
import json
import os
import subprocess
import sys
import types
import zipfile

from ansible.executor import module_common

from ansible_collections.taylordash.ops.plugins.lookup import module_preload


def test_a_parse_is_remembered_by_name_and_text_and_the_wrapper_is_installed_once():
    calls = []
    fake = types.SimpleNamespace(_compile_module_ast=lambda name, source: calls.append((name, source)) or object())
    assert module_preload.remember_parses(fake) is True
    wrapper = fake._compile_module_ast
    first = wrapper("ansible.module_utils.basic", b"x = 1\n")
    assert wrapper("ansible.module_utils.basic", b"x = 1\n") is first
    assert wrapper("ansible.module_utils.basic", b"x = 2\n") is not first  # other text: parsed again
    assert len(calls) == 2
    assert module_preload.remember_parses(fake) is True and fake._compile_module_ast is wrapper


def test_without_the_parse_function_it_does_nothing():
    assert module_preload.remember_parses(types.SimpleNamespace()) is False


def test_the_pinned_ansible_core_packs_modules_through_the_function_it_replaces():
    # recursive_finder finds _compile_module_ast as a module global at each call, so replacing the global
    # takes effect; should a release bind it otherwise, this fails and the preload is dead weight.
    assert callable(module_common._compile_module_ast)
    assert "_compile_module_ast" in module_common.recursive_finder.__code__.co_names


def _lookup_twice(first, second):
    """In a child process (the test process keeps ansible-core unpatched), the lookup as a run calls it: ping with
    bytecode=first, then stat with bytecode=second; what the process then does."""
    script = """
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])  # as ansible-playbook does at its start
from ansible.executor import module_common
from ansible.plugins.loader import lookup_loader
LookupModule = lambda: lookup_loader.get("taylordash.ops.module_preload")  # as a run loads it (its options)
first = LookupModule().run(["ansible.builtin.ping"], bytecode=sys.argv[2] == "True")
shipping = hasattr(module_common.recursive_finder, "compiled")
second = LookupModule().run(["ansible.builtin.stat"], bytecode=sys.argv[3] == "True")
compiled = getattr(module_common.recursive_finder, "compiled", {})
print(json.dumps({"first": first, "second": second, "shipping_after_first": shipping,
                  "shipping_after_second": hasattr(module_common.recursive_finder, "compiled"),
                  "trees": sorted(name for name, _ in module_common._compile_module_ast.trees),
                  "compiled": sorted(name for name, _ in compiled)}))
"""
    collections = os.path.join(os.path.dirname(__file__), *[os.pardir] * 4, "collections")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(collections))
    proc = subprocess.run([sys.executable, "-c", script, os.path.abspath(collections), str(first), str(second)],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["first"] == [True] and found["second"] == [True], found
    assert "ansible.module_utils.basic" in found["trees"], found
    return found


def test_the_lookup_parses_a_modules_imports_once_for_the_process_and_its_forks():
    found = _lookup_twice(True, False)
    assert found["shipping_after_first"] is True and found["shipping_after_second"] is True
    assert "ansible/module_utils/basic.py" in found["compiled"], found


def test_the_first_call_decides_bytecode_for_the_run_and_a_later_one_cannot_switch_it_on():
    # deploy-prod.yml's first play decides from every host (SSH hosts: no bytecode); a later play's call on
    # localhost alone must not turn it on halfway (the payloads kept between runs are those of one setting).
    found = _lookup_twice(False, True)
    assert found["shipping_after_first"] is False and found["shipping_after_second"] is False, found
    assert found["compiled"] == []


def _zip(entries, bytecode=True):
    """A payload zip written through _BytecodeZip (or plainly), as module_common writes one."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        target = module_preload._BytecodeZip(zf, {}) if bytecode else zf
        for name, text in entries:
            target.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


def _run_from_zip(tmp_path, data, code="import pkg.mod; print(pkg.mod.VALUE)"):
    payload = tmp_path / "payload.zip"
    payload.write_bytes(data)
    script = "import sys; sys.path.insert(0, sys.argv[1]); " + code
    proc = subprocess.run([sys.executable, "-c", script, str(payload)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_each_python_file_gets_an_unchecked_hash_pyc_next_to_it_and_other_files_none(tmp_path):
    data = _zip([("pkg/__init__.py", b""), ("pkg/mod.py", "VALUE = 6 * 7\n"), ("pkg/data.json", b"{}"),
                 ("pkg/broken.py", b"def (:\n")])
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    # An empty __init__.py has nothing to compile; a file that does not compile ships as source only.
    assert names == ["pkg/__init__.py", "pkg/mod.py", "pkg/mod.pyc", "pkg/data.json", "pkg/broken.py"]
    compiled = zipfile.ZipFile(io.BytesIO(data)).read("pkg/mod.pyc")
    assert compiled[:4] == importlib.util.MAGIC_NUMBER and compiled[4:8] == (1).to_bytes(4, "little")
    assert compiled[8:16] == importlib.util.source_hash(b"VALUE = 6 * 7\n")
    assert _run_from_zip(tmp_path, data) == "42"


def test_the_pyc_is_what_python_imports_from_the_zip(tmp_path):
    # Same source text, so the same hash: if the importer used the source, the value would be 1.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("pkg/__init__.py", b"")
        zf.writestr("pkg/mod.py", b"VALUE = 1\n")
        zf.writestr("pkg/mod.pyc", module_preload.pyc("pkg/mod.py", b"VALUE = 2\n"))
    assert _run_from_zip(tmp_path, buffer.getvalue()) == "2"


def test_a_pyc_of_another_python_version_is_skipped_for_its_source(tmp_path):
    # A host whose Python is not the controller's: the pyc's magic number differs, zipimport uses the source.
    buffer = io.BytesIO()
    foreign = b"\x00\x00\r\n" + module_preload.pyc("pkg/mod.py", b"VALUE = 2\n")[4:]
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("pkg/__init__.py", b"")
        zf.writestr("pkg/mod.py", b"VALUE = 1\n")
        zf.writestr("pkg/mod.pyc", foreign)
    assert _run_from_zip(tmp_path, buffer.getvalue()) == "1"


def test_compiled_without_the_callers_future_flags_or_optimisation(monkeypatch):
    # A payload file keeps its own semantics: no flag of the compiling module, and its asserts (optimize=0,
    # whatever -O the controller runs with).
    calls = []
    real = compile
    monkeypatch.setattr(module_preload, "compile", lambda *args, **kwargs: calls.append(kwargs) or real(*args, **kwargs),
                        raising=False)
    assert module_preload.pyc("pkg/mod.py", b"assert True\n")
    assert calls == [{"dont_inherit": True, "optimize": 0}]


def test_a_file_is_compiled_once_per_name_and_text():
    compiled = {}
    for _ in range(2):
        with zipfile.ZipFile(io.BytesIO(), "w") as zf:
            module_preload._BytecodeZip(zf, compiled).writestr("a/b.py", b"X = 1\n")
    assert list(compiled) == [("a/b.py", __import__("hashlib").sha256(b"X = 1\n").hexdigest())]


def test_ship_bytecode_wraps_the_module_utils_writer_once_and_leaves_the_modules_own_file_as_source():
    seen = []
    module_writer = lambda zf, *rest: seen.append(zf)  # noqa: E731
    fake = types.SimpleNamespace(recursive_finder=lambda name, fqn, data, zf, *rest: seen.append(zf),
                                 _add_module_to_zip=module_writer)
    assert module_preload.ship_bytecode(fake) is True
    wrapped = fake.recursive_finder
    assert module_preload.ship_bytecode(fake) is True and fake.recursive_finder is wrapped
    assert fake._add_module_to_zip is module_writer  # the module's frames keep the payload's path
    with zipfile.ZipFile(io.BytesIO(), "w") as zf:
        fake.recursive_finder("m", "ns.m", b"", zf, None, None)
    assert [type(item).__name__ for item in seen] == ["_BytecodeZip"]
    assert module_preload.ship_bytecode(types.SimpleNamespace()) is False


def test_the_pinned_ansible_core_writes_module_utils_through_the_function_it_wraps():
    # _find_module_utils calls it as a module global, with the zip where ship_bytecode expects it.
    import inspect
    assert "recursive_finder" in module_common._find_module_utils.__code__.co_names
    assert list(inspect.signature(module_common.recursive_finder).parameters)[3] == "zf"


# Payloads kept between runs (persist=true).

def _payload(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return base64.b64encode(out.getvalue())


NAME = "ansible_collections.example.coll.plugins.modules.thing-ZIP_STORED-none"


def _collection(tmp_path, monkeypatch, text="x = 1\n"):
    """A collection example.coll in tmp_path, the loader resolving it there; its payload (with ansible-core's own
    __init__.py and basic.py as they are, the namespace packages ansible-core makes up, and a pyc)."""
    root = tmp_path / "coll"
    (root / "plugins" / "module_utils").mkdir(parents=True)
    (root / "plugins" / "modules").mkdir()
    (root / "meta").mkdir()
    (root / "meta" / "runtime.yml").write_text("requires_ansible: '>=2.19'\n")
    (root / "plugins" / "module_utils" / "helper.py").write_text(text)
    (root / "plugins" / "modules" / "thing.py").write_text("from ..module_utils import helper\n")
    monkeypatch.setattr(module_preload, "collection_root",
                        lambda namespace, name: str(root) if (namespace, name) == ("example", "coll") else None)
    ansible_dir = os.path.dirname(__import__("ansible").__file__)
    members = {"ansible/__init__.py": open(os.path.join(ansible_dir, "__init__.py"), "rb").read(),
               "ansible/module_utils/basic.py": open(os.path.join(ansible_dir, "module_utils", "basic.py"), "rb").read(),
               "ansible_collections/__init__.py": "", "ansible_collections/example/__init__.py": "",
               "ansible_collections/example/coll/plugins/__init__.py": "",
               "ansible_collections/example/coll/plugins/module_utils/helper.py": text,
               "ansible_collections/example/coll/plugins/module_utils/helper.pyc": "bytecode",
               "ansible_collections/example/coll/plugins/modules/thing.py": "from ..module_utils import helper\n"}
    return root, members


def _keep(tmp_path, members, name=NAME):
    """Keep a payload as a worker would, after ansible-core wrote it to the run's cache; the store."""
    built = tmp_path / ("run-%d" % len(list(tmp_path.iterdir()))) / "ansiballz_cache"
    built.mkdir(parents=True)
    (built / name).write_bytes(b"pickled payload")
    store = tmp_path / "tmp" / "taylordash-ansiballz" / "key"
    module_preload.keep_payload(str(store), str(built / name), _payload(members), {})
    return store


def _restored(tmp_path, store, load=None):
    run_cache = tmp_path / ("run-%d" % len(list(tmp_path.iterdir()))) / "ansiballz_cache"
    return module_preload.restore_payloads(str(store), str(run_cache), {}, load), run_cache


def test_a_kept_payload_records_every_file_it_packed_and_each_roots_directory(tmp_path, monkeypatch):
    root, members = _collection(tmp_path, monkeypatch)
    store = _keep(tmp_path, members)
    header, _, data = (store / (NAME + ".kept")).read_bytes().partition(b"\n")
    manifest = json.loads(header)
    import ansible
    assert manifest["roots"] == {"ansible": os.path.realpath(os.path.dirname(ansible.__file__)),
                                 "example.coll": str(root)}
    helper = str(root / "plugins" / "module_utils" / "helper.py")
    assert manifest["files"][helper] == [6, os.stat(helper).st_mtime_ns]
    # A package the collection does not have (ansible-core makes it up): recorded as absent.
    assert manifest["files"][str(root / "plugins" / "__init__.py")] is None
    assert manifest["files"][str(root / "meta" / "runtime.yml")] is not None  # the collection's redirects
    assert not any(path.endswith(".pyc") for path in manifest["files"])  # derived from its source
    assert data == b"pickled payload"
    assert oct((store).stat().st_mode & 0o777) == "0o700" and oct(store.parent.stat().st_mode & 0o777) == "0o700"


def test_a_payload_whose_files_are_as_recorded_starts_the_next_runs_cache(tmp_path, monkeypatch):
    _, members = _collection(tmp_path, monkeypatch)
    store = _keep(tmp_path, members)
    names, run_cache = _restored(tmp_path, store)
    assert names == [NAME] and (run_cache / NAME).read_bytes() == b"pickled payload"
    # Already in the run's cache (a worker built it): left alone.
    assert module_preload.restore_payloads(str(store), str(run_cache), {}) == []
    # One that ansible-core's reader does not read is built again.
    assert _restored(tmp_path, store, load=lambda data: (_ for _ in ()).throw(ValueError("bad pickle")))[0] == []


def test_a_changed_added_or_moved_file_or_collection_means_the_payload_is_built_again(tmp_path, monkeypatch):
    root, members = _collection(tmp_path, monkeypatch)
    store = _keep(tmp_path, members)
    helper = root / "plugins" / "module_utils" / "helper.py"
    os.utime(helper, ns=(1, 1))  # same size and text, another modification time
    assert _restored(tmp_path, store)[0] == []
    store = _keep(tmp_path, members)
    assert _restored(tmp_path, store)[0] == [NAME]
    (root / "plugins" / "__init__.py").write_text("")  # a file where none was
    assert _restored(tmp_path, store)[0] == []
    (root / "plugins" / "__init__.py").unlink()
    (root / "meta" / "runtime.yml").write_text("plugin_routing: {}\n")  # other redirects
    assert _restored(tmp_path, store)[0] == []
    store = _keep(tmp_path, members)
    assert _restored(tmp_path, store)[0] == [NAME]
    monkeypatch.setattr(module_preload, "collection_root", lambda namespace, name: str(tmp_path / "elsewhere"))
    assert _restored(tmp_path, store)[0] == []  # the collection now resolves to another directory


def test_a_payload_not_built_from_the_files_on_disk_is_not_kept(tmp_path, monkeypatch):
    root, members = _collection(tmp_path, monkeypatch)
    for other in [
            dict(members, **{"ansible_collections/example/coll/plugins/module_utils/helper.py": "x = 2\n"}),  # saved since
            dict(members, **{"ansible/module_utils/mine.py": "y = 1\n"}),  # a playbook's module_utils/ directory
            dict(members, **{"ansible/legacy/foo.py": "z = 1\n"}),  # a playbook's library/ module
            dict(members, **{"ansible_collections/other/coll/plugins/module_utils/x.py": ""}),  # does not resolve
            dict(members, **{"elsewhere/thing.py": ""})]:
        try:
            module_preload.keep_payload(str(tmp_path / "store"), str(tmp_path / "unused"), _payload(other), {})
        except ValueError:
            continue
        raise AssertionError("kept a payload whose files it cannot check: %s" % sorted(other))
    assert not (tmp_path / "store").exists()


def test_a_store_another_user_could_write_is_neither_read_nor_written(tmp_path, monkeypatch):
    _, members = _collection(tmp_path, monkeypatch)
    store = _keep(tmp_path, members)
    store.chmod(0o777)
    assert _restored(tmp_path, store)[0] == []
    (store / (NAME + ".kept")).unlink()
    _keep(tmp_path, members)
    assert not (store / (NAME + ".kept")).exists()


def test_the_store_is_per_ansible_core_python_and_bytecode(tmp_path):
    from ansible.release import __version__
    source = module_preload.payload_store(str(tmp_path / "ansible-local-1"), False)
    compiled = module_preload.payload_store(str(tmp_path / "ansible-local-1"), True)
    assert os.path.dirname(source) == str(tmp_path / "taylordash-ansiballz")
    assert os.path.basename(source).startswith(__version__ + "-py%d%d-" % sys.version_info[:2])
    assert source != compiled and importlib.util.MAGIC_NUMBER.hex() in compiled


def test_persist_wraps_the_payload_writer_once_and_keeps_what_a_worker_builds_but_a_library_module(tmp_path, monkeypatch):
    _, members = _collection(tmp_path, monkeypatch)

    class Cached(object):
        def __init__(self):
            self.zip_data, self.source_mapping = _payload(members), {}

        def dump(self, path):
            with open(path, "wb") as handle:
                handle.write(b"payload")

    fake = types.SimpleNamespace(_CachedModule=Cached, recursive_finder=lambda: None)
    local_tmp = tmp_path / "tmp" / "ansible-local-1"
    (local_tmp / "ansiballz_cache").mkdir(parents=True)
    assert module_preload.persist_payloads(fake, str(local_tmp)) is True
    wrapper = Cached.dump
    assert module_preload.persist_payloads(fake, str(local_tmp)) is True and Cached.dump is wrapper
    Cached().dump(str(local_tmp / "ansiballz_cache" / "mod-ZIP_STORED-none"))
    Cached().dump(str(local_tmp / "ansiballz_cache" / "ansible.legacy.foo-ZIP_STORED-none"))
    store = module_preload.payload_store(str(local_tmp), False)
    assert sorted(os.listdir(store)) == ["mod-ZIP_STORED-none.kept"]
    # With bytecode shipped from then on, its payloads go to the bytecode store.
    setattr(fake.recursive_finder, "_taylordash_ships_bytecode", True)
    Cached().dump(str(local_tmp / "ansiballz_cache" / "other-ZIP_STORED-none"))
    assert sorted(os.listdir(module_preload.payload_store(str(local_tmp), True))) == ["other-ZIP_STORED-none.kept"]
    assert module_preload.persist_payloads(types.SimpleNamespace(), str(local_tmp)) is False


def test_real_payloads_are_kept_by_one_run_and_start_the_next_ones_cache(tmp_path):
    # Two child processes, as two runs: each initialises the plugin loader as ansible-playbook does, calls the
    # lookup with persist=true (the second finds the first's payloads), then packs two modules as a worker would.
    script = """
import json, os, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible import constants
from ansible.executor import module_common
from ansible.plugins.loader import lookup_loader, module_loader
from ansible.template import Templar
from ansible.parsing.dataloader import DataLoader
cache = os.path.join(constants.DEFAULT_LOCAL_TMP, "ansiballz_cache")
lookup_loader.get("taylordash.ops.module_preload").run([], persist=True)
restored = sorted(os.listdir(cache)) if os.path.isdir(cache) else []
for name in ["ansible.builtin.ping", "taylordash.ops.path_state"]:
    found = module_loader.find_plugin_with_context(name)
    module_common.modify_module(module_name=found.resolved_fqcn, module_path=found.plugin_resolved_path,
                                module_args={}, templar=Templar(loader=DataLoader()),
                                task_vars={"ansible_python_interpreter": sys.executable})
print(json.dumps({"restored": restored, "store": sorted(os.listdir(os.path.join(os.path.dirname(
    constants.DEFAULT_LOCAL_TMP), "taylordash-ansiballz")))}))
"""
    collections = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 4, "collections"))
    env = dict(os.environ, PYTHONPATH=collections, ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", script, collections], capture_output=True, text=True, env=env,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert runs[0]["restored"] == [] and len(runs[0]["store"]) == 1
    assert sorted(name.split("-")[0] for name in runs[1]["restored"]) == [
        "ansible.modules.ping", "ansible_collections.taylordash.ops.plugins.modules.path_state"], runs


def test_the_pinned_ansible_core_writes_payloads_through_the_method_it_wraps_and_checks_the_path_first():
    # _find_module_utils loads a payload from the run's cache when the file exists, else builds it and calls
    # _CachedModule.dump; should a release do otherwise, this fails and persist is dead weight.
    source = __import__("inspect").getsource(module_common._find_module_utils)
    assert "os.path.exists(cached_module_filename)" in source and ".dump(cached_module_filename)" in source
    assert "'ansiballz_cache'" in source
