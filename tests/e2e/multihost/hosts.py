"""Docker-in-Docker test hosts reachable over SSH, for multi-host e2e tests.

Each host is a container ``tdmh-<name>`` of the image built from this directory:
Debian 13 with the engine packages installed but not running, sshd in the
foreground, root by key only. It has a fixed address on the bridge network
``taylordash-mh`` and its sshd published on 127.0.0.1::

    hosts = TestHosts(["core", "app1"]).start()
    inventory = hosts.inventory({"core": ["proxy", "data"], "app1": ["app"]})
    hosts.exec("app1", "docker", "info")
    hosts.stop()

``cleanup()`` removes what a crashed run left (by name prefix); ``start()``
calls it first. Nothing here depends on pytest.
"""

import hashlib
import ipaddress
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
IMAGE = "taylordash/testhost:13"
BASE = "taylordash/debian:13"
LABEL = "taylordash.testhost.context-sha256"
PREFIX = "tdmh-"
NETWORK = "taylordash-mh"
# The hosts' network: the first of these subnets that no route of this machine
# overlaps. Docker hands out 172.17-31.0.0/16 to new networks in turn, so on a
# busy engine any fixed choice in that range can be taken.
SUBNETS = [ipaddress.ip_network(net) for net in ("172.31.250.0/24", "10.213.250.0/24", "10.214.250.0/24",
                                                  "192.168.250.0/24")]
SSH_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ControlMaster=auto -o ControlPersist=120s"
# What the host's dockerd needs without --privileged (which fails on the CI machine).
# systempaths=unconfined: a writable /proc/sys, where dockerd (26) turns IPv6 off on
# each container's interface; with it read-only no inner container starts.
RUN_FLAGS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "MKNOD", "--cap-add", "SYS_PTRACE",
    "--cap-add", "NET_RAW", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",
    "--device-cgroup-rule", "a *:* rwm", "--tmpfs", "/run", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
]


def free_subnet():
    """The first of SUBNETS that overlaps no route of this machine (every Docker bridge has one)."""
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True, check=True).stdout
    taken = []
    for line in routes.splitlines():
        first = line.split()[0] if line.split() else ""
        if first != "default":
            try:
                taken.append(ipaddress.ip_network(first, strict=False))
            except ValueError:
                continue
    for subnet in SUBNETS:
        if not any(subnet.overlaps(net) for net in taken):
            return subnet
    raise RuntimeError("every candidate subnet for the test hosts overlaps a route: %s" % routes)


def docker(*args, input=None, check=True, timeout=600):
    """Run the docker CLI; raise with its stderr when check and it fails."""
    proc = subprocess.run(["docker", *args], input=input, capture_output=True, text=True, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        raise RuntimeError("docker %s failed (rc=%s): %s" % (" ".join(args), proc.returncode, proc.stderr.strip()))
    return proc


def context_sha256():
    """sha256 over the build context (the Dockerfile and the files it copies)."""
    digest = hashlib.sha256()
    for path in sorted(HERE.iterdir()):
        if path.is_file() and path.suffix != ".py" and not path.name.startswith("."):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def ensure_image(base=BASE):
    """Build IMAGE unless an image with that tag and this context's hash exists; True when it built."""
    wanted = context_sha256()
    found = docker("image", "inspect", "--format", '{{index .Config.Labels "%s"}}' % LABEL, IMAGE, check=False)
    if found.returncode == 0 and found.stdout.strip() == wanted:
        return False
    proc = subprocess.run(["docker", "build", "--build-arg", "BASE=" + base, "--label", "%s=%s" % (LABEL, wanted),
                           "-t", IMAGE, str(HERE)], env=dict(os.environ, DOCKER_BUILDKIT="1"),
                          capture_output=True, text=True, timeout=1800, check=False)
    if proc.returncode != 0:
        raise RuntimeError("building %s failed:\n%s" % (IMAGE, (proc.stdout + proc.stderr)[-4000:]))
    return True


def cleanup(prefix=PREFIX, network=NETWORK):
    """Remove the containers and volumes named prefix*, and the network (leftovers of a crashed run)."""
    names = docker("ps", "-a", "--filter", "name=^" + prefix, "--format", "{{.Names}}").stdout.split()
    names = [name for name in names if name.startswith(prefix)]
    for name in names:
        # The hosts share the machine's cgroup tree: an inner container killed with its host
        # would leave its cgroup directories behind, so its own engine removes it first.
        docker("exec", name, "sh", "-c", "command -v docker >/dev/null && docker ps -aq | xargs -r docker rm -f",
               check=False, timeout=120)
    if names:
        docker("rm", "-f", "-v", *names)
    volumes = [v for v in docker("volume", "ls", "-q").stdout.split() if v.startswith(prefix)]
    if volumes:
        docker("volume", "rm", "-f", *volumes)
    if docker("network", "inspect", network, check=False).returncode == 0:
        docker("network", "rm", network)


class TestHosts:
    """N test hosts on one network, with one SSH key pair for root."""

    __test__ = False  # not a pytest test class

    def __init__(self, names, workdir=None):
        self.names = list(names)
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="tdmh-"))
        self.key = self.workdir / "id_ed25519"
        self.subnet = None
        self.gateway = None
        self.ips = {}
        self.ports = {}
        self.inventory_path = None

    def start(self, timeout=60):
        """Build the image if needed, start every host, install the key and wait for sshd."""
        ensure_image()
        cleanup()
        self.subnet = free_subnet()
        hosts = self.subnet.hosts()
        self.gateway = next(hosts)
        self.ips = {name: str(ip) for name, ip in zip(self.names, list(hosts)[9:])}  # .11, .12, ...
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tdmh", "-f", str(self.key)],
                       check=True, capture_output=True)
        docker("network", "create", "--driver", "bridge", "--subnet", str(self.subnet), "--gateway", str(self.gateway),
               "--label", "taylordash.testhost=1", NETWORK)
        public = self.key.with_suffix(".pub").read_text()
        for name in self.names:
            docker("run", "-d", "--name", PREFIX + name, "--hostname", name, "--label", "taylordash.testhost=1",
                   "--network", NETWORK, "--ip", self.ips[name], "-p", "127.0.0.1::22",
                   "-v", "%s%s-docker:/var/lib/docker" % (PREFIX, name), *RUN_FLAGS, IMAGE)
            self.exec(name, "sh", "-c", "umask 077 && cat > /root/.ssh/authorized_keys", input=public)
            port = docker("port", PREFIX + name, "22/tcp").stdout.split("\n")[0].rsplit(":", 1)[1]
            self.ports[name] = int(port)
        for name in self.names:
            self.wait_ssh(name, timeout)
        return self

    def wait_ssh(self, host, timeout=60):
        """Wait until root logs in to host over SSH with the key."""
        deadline = time.monotonic() + timeout
        while True:
            proc = subprocess.run(self.ssh_command(host, "true"), capture_output=True, text=True, timeout=30,
                                  check=False)
            if proc.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("sshd of %s does not answer: %s" % (host, proc.stderr.strip()))
            time.sleep(0.5)

    def ssh_command(self, host, *cmd):
        """argv of an ssh call to host as root (no control master: a one-off)."""
        return ["ssh", "-i", str(self.key), "-p", str(self.ports[host]), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "root@127.0.0.1", *cmd]

    def exec(self, host, *cmd, input=None, check=True, timeout=600):
        """docker exec cmd in host (input: text for its stdin)."""
        flags = ["-i"] if input is not None else []
        return docker("exec", *flags, PREFIX + host, *cmd, input=input, check=check, timeout=timeout)

    def ip(self, host):
        """The fixed address other hosts reach host by."""
        return self.ips[host]

    def inventory(self, groups, group_vars=None, path=None):
        """Write an inventory YAML: groups maps host -> [group, ...]; group_vars go to `all`. Returns its path."""
        members = {}
        for host, names in groups.items():
            for group in names:
                members.setdefault(group, {})[host] = None
        hostvars = {host: {"ansible_host": "127.0.0.1", "ansible_port": self.ports[host], "ansible_user": "root",
                           "ansible_ssh_private_key_file": str(self.key), "ansible_ssh_common_args": SSH_ARGS,
                           "ansible_python_interpreter": "/usr/bin/python3", "taylordash_address": self.ips[host]}
                    for host in self.names}
        data = {"all": {"hosts": hostvars, "vars": dict(group_vars or {}),
                        "children": {group: {"hosts": hosts} for group, hosts in members.items()}}}
        path = Path(path or self.workdir / "inventory.yml")
        path.write_text("---\n" + yaml.safe_dump(data, default_flow_style=False, sort_keys=False))
        self.inventory_path = path
        return path

    def stop(self):
        """Remove the hosts, their volumes, the network and the key directory."""
        cleanup()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
