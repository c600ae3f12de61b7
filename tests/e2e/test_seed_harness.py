"""Self-test of the seed harness: the layout starts, every server listens, teardown leaves nothing."""

import os
import urllib.request

import seed as seedlib


def test_seed_starts_every_server_and_stops_cleanly(tmp_path):
    seed = seedlib.start(tmp_path)
    try:
        by_port = {(entry["port"], entry["family"]): entry for entry in seed.servers}
        expected = [(3000, "ipv4"), (8000, "ipv4"), (8000, "ipv6")] + [(port, "ipv4") for port in range(5173, 5179)]
        assert sorted(by_port) == sorted(expected), seed
        for port, family in expected:
            assert seed.listening(port, family), "%s/%s does not listen\n%r" % (port, family, seed)
        assert seed.listening(8000, "ipv6", host="::1") and not seed.listening(8000, "ipv6", host="::")
        for decoy in seed.decoys:
            assert seed.listening(decoy["port"], "ipv4"), decoy
        assert sorted(d["port"] for d in seed.decoys) == [5180, 8090, 8091, 8092]

        # Planned ports are the product's port plan; every planned app has a server on it.
        assert seed.port_plan == {"backend": 3000, "frontend": 5173, "mcp-manager": 5174,
                                  "projects-manager": 5175, "midnight-hud": 5177}
        for app, port in seed.port_plan.items():
            assert by_port[(port, "ipv4")]["app"] == app

        # The backend is a real ASGI app behind uvicorn, on both address families.
        for url in ("http://127.0.0.1:3000/", "http://127.0.0.1:8000/", "http://[::1]:8000/"):
            with urllib.request.urlopen(url, timeout=5) as resp:
                assert resp.status == 200 and resp.read() == b"ok"

        # Each listener is held by the recorded pid's tree; --reload has a worker child.
        for entry in seed.servers + seed.decoys:
            tree = {entry["pid"]} | seed.descendants(entry["pid"])
            assert tree & seed.owners(entry["port"], entry["family"]), entry
        reload_server = by_port[(3000, "ipv4")]
        assert "--reload" in reload_server["argv"]
        assert len(seed.descendants(reload_server["pid"])) >= 1

        # The two 8000 instances run from two Python installs: the venv and the base interpreter.
        # (The venv's python is a symlink to the base one, so /proc/<pid>/exe is the same file;
        # the command lines and sys.prefix differ.)
        v4, v6 = by_port[(8000, "ipv4")], by_port[(8000, "ipv6")]
        argv0 = {pid: open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")[0] for pid in (v4["pid"], v6["pid"])}
        assert argv0[v4["pid"]] != argv0[v6["pid"]], argv0

        # Seed servers share one process group (and session), not pytest's; decoys are outside it.
        groups = {os.getpgid(entry["pid"]) for entry in seed.servers}
        assert len(groups) == 1 and groups != {os.getpgid(0)}, groups
        assert groups == {os.getsid(entry["pid"]) for entry in seed.servers}
        assert not groups & {os.getpgid(decoy["pid"]) for decoy in seed.decoys}

        everything = set(seed.pids())
        for pid in list(everything):
            everything |= seed.descendants(pid)
        assert all(seed.alive(pid) for pid in seed.pids())
    finally:
        seed.stop()

    assert not [pid for pid in everything if seedlib.alive(pid)]
    for entry in seed.servers + seed.decoys:
        assert not seedlib.listening(entry["port"], entry["family"], entry["host"]), entry
    assert not seed.root.exists() and not seed.other.exists()
