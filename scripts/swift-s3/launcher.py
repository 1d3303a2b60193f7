"""Single-node OpenStack Swift with the s3api middleware, for tests, in one private directory.

Usage: launcher.py DIR [--watch-pid PID] [--timeout SECONDS] [--remove-on-orphan]

Writes every config file, ring and object under DIR, starts a private memcached and the
proxy, account, container and object servers on free 127.0.0.1 ports, waits until an
authenticated request passes through the whole pipeline, then prints
`endpoint=http://127.0.0.1:PORT` (also written to DIR/endpoint) and supervises:

- it is the leader of its own process group and session, so `kill -- -PGID` reaches everything;
- every child gets PR_SET_PDEATHSIG=SIGKILL, so nothing outlives the launcher, even a killed one;
- with --watch-pid it stops everything when that process exits (the test runner that asked for
  the server), so a crashed or killed test run never leaves servers behind (nor, with
  --remove-on-orphan, the directory);
- if any server exits on its own it stops the rest and exits non-zero.

Layout of DIR: etc/ (swift.conf, *-server.conf, rings), node/d1/ (the one device), log/ (one
log per process), pids/ (launcher.pid is also the process group id), endpoint.

S3 credentials (tempauth): access key `test:tester`, secret `testing`, region us-east-1.

What Swift 2.30's s3api does not do, which clients and tests must allow for:
- object tagging and conditional writes (If-None-Match / If-Match on PUT) answer 501;
- flexible checksums (x-amz-checksum-*) are ignored, and `aws-chunked` streaming uploads
  answer 501: SDK v3 clients need requestChecksumCalculation: "WHEN_REQUIRED";
- DeleteObjects demands Content-MD5 (400 without it), while recent SDK v3 sends only a CRC32
  checksum: clients add Content-MD5 themselves.
"""
import argparse
import ctypes
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"
S3_ACCESS_KEY = "test:tester"
S3_SECRET_KEY = "testing"
# Backend servers in start order; the proxy comes last (it needs the rings, not the servers).
BACKENDS = ("account", "container", "object")
PR_SET_PDEATHSIG = 1


def log(message: str) -> None:
    print(f"swift-s3 launcher[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


class StartupError(Exception):
    pass


def free_ports(count: int) -> list:
    """Distinct free ports, all held at once so the kernel cannot hand out one twice."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def common_server_conf(etc: str, devices: str, port: int, name: str) -> str:
    return f"""[DEFAULT]
bind_ip = {HOST}
bind_port = {port}
# Serve in the one process the launcher started: no forked workers to supervise.
workers = 0
swift_dir = {etc}
devices = {devices}
# The device is a plain directory, not a mount point.
mount_check = false
# Temp dirs live on whatever disk the test machine has; never refuse writes for free space.
disable_fallocate = true
fallocate_reserve = 0
log_name = {name}
log_level = INFO
"""


def write_configs(root: str, ports: dict) -> None:
    etc = os.path.join(root, "etc")
    devices = os.path.join(root, "node")
    write(
        os.path.join(etc, "swift.conf"),
        f"""[swift-hash]
swift_hash_path_prefix = {secrets.token_hex(8)}
swift_hash_path_suffix = {secrets.token_hex(8)}

[storage-policy:0]
name = Policy-0
default = yes
""",
    )
    write(
        os.path.join(etc, "account-server.conf"),
        common_server_conf(etc, devices, ports["account"], "account-server")
        + """
[pipeline:main]
pipeline = account-server

[app:account-server]
use = egg:swift#account
log_requests = false
""",
    )
    write(
        os.path.join(etc, "container-server.conf"),
        common_server_conf(etc, devices, ports["container"], "container-server")
        + """
[pipeline:main]
pipeline = container-server

[app:container-server]
use = egg:swift#container
log_requests = false
""",
    )
    write(
        os.path.join(etc, "object-server.conf"),
        common_server_conf(etc, devices, ports["object"], "object-server")
        + """
[pipeline:main]
pipeline = object-server

[app:object-server]
use = egg:swift#object
log_requests = false
# No object-updater runs here: a container update that misses the default 1 s deadline would
# become an async pending that is never applied, and listings would miss the object.
container_update_timeout = 30
""",
    )
    write(
        os.path.join(etc, "proxy-server.conf"),
        common_server_conf(etc, devices, ports["proxy"], "proxy-server")
        + f"""
[pipeline:main]
# The order of the stock sample pipeline; s3api must precede its auth middleware.
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
# tempauth accounts exist only once created; S3 clients never create accounts.
account_autocreate = true
# Generous backend timeouts: a loaded CI machine must slow the tests down, not fail them.
conn_timeout = 5
node_timeout = 30

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
# tempauth keeps its tokens in memcache and fails every request without one.
use = egg:swift#memcache
memcache_servers = {HOST}:{ports["memcached"]}

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
# Path-style addressing only (no storage_domain), bucket names as AWS allows them.
dns_compliant_bucket_names = true
# AWS's limits: ListObjects pages of up to 1000 keys, DeleteObjects of up to 1000 keys,
# multipart uploads of up to 10000 parts of at least 5 MiB (but the last).
max_bucket_listing = 1000
max_parts_listing = 1000
max_multi_delete_objects = 1000
allow_multipart_uploads = true
max_upload_part_num = 10000
min_segment_size = 5242880
# Swift ACLs, not S3 ACLs; the one tempauth user owns every bucket.
s3_acl = false
check_bucket_owner = false

[filter:tempauth]
use = egg:swift#tempauth
# The S3 access key is `account:user`, the secret is the tempauth key.
user_test_tester = {S3_SECRET_KEY} .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo
# A completed multipart upload is an SLO manifest with one segment per part.
max_manifest_segments = 10000

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
# s3api bucket versioning is built on object versioning, which needs symlink after it.
allow_object_versioning = true

[filter:symlink]
use = egg:swift#symlink
""",
    )


def build_rings(root: str, ports: dict) -> None:
    from swift.common.ring import RingBuilder

    for kind in BACKENDS:
        # 2^8 partitions, one replica, min_part_hours 1: one device holds everything.
        builder = RingBuilder(8, 1, 1)
        builder.add_dev(
            {
                "region": 1,
                "zone": 1,
                "ip": HOST,
                "port": ports[kind],
                "device": "d1",
                "weight": 100.0,
                "meta": "",
            }
        )
        builder.rebalance()
        builder.get_ring().save(os.path.join(root, "etc", f"{kind}.ring.gz"))


def die_with_launcher(launcher_pid: int):
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The launcher may have died between fork() and prctl().
        if os.getppid() != launcher_pid:
            os._exit(1)

    return preexec


class Swift:
    def __init__(self, root: str):
        self.root = root
        self.children = {}  # name -> Popen
        self.logs = []

    def spawn(self, name: str, argv: list, executable=None) -> None:
        log_file = open(os.path.join(self.root, "log", f"{name}.log"), "ab")
        self.logs.append(log_file)
        child = subprocess.Popen(
            argv,
            executable=executable,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_launcher(os.getpid()),
            close_fds=True,
        )
        self.children[name] = child
        write(os.path.join(self.root, "pids", f"{name}.pid"), f"{child.pid}\n")

    def start(self, ports: dict) -> None:
        memcached = shutil.which("memcached") or "/usr/bin/memcached"
        argv = [memcached, "-l", HOST, "-p", str(ports["memcached"]), "-U", "0", "-m", "64", "-t", "2"]
        if os.geteuid() == 0:
            argv += ["-u", "root"]  # memcached refuses to run as root without it
        self.spawn("memcached", argv)
        etc = os.path.join(self.root, "etc")
        runner = os.path.join(HERE, "run_server.py")
        for kind in BACKENDS + ("proxy",):
            conf = os.path.join(etc, f"{kind}-server.conf")
            self.spawn(f"{kind}-server", [sys.executable, runner, etc, conf, f"{kind}-server"])

    def exited(self):
        """(name, returncode) of the first child that is no longer running, or None."""
        for name, child in self.children.items():
            code = child.poll()
            if code is not None:
                return name, code
        return None

    def stop(self, grace: float = 5.0) -> None:
        # Proxy first, memcached last: the reverse of the start order. memcached holds nothing
        # worth a graceful stop, and takes a second to act on SIGTERM: kill it.
        for name, child in reversed(list(self.children.items())):
            if child.poll() is None:
                child.kill() if name == "memcached" else child.terminate()
        deadline = time.monotonic() + grace
        for child in self.children.values():
            try:
                child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for name in self.children:
            try:
                os.unlink(os.path.join(self.root, "pids", f"{name}.pid"))
            except FileNotFoundError:
                pass
        self.children = {}
        for f in self.logs:
            f.close()
        self.logs = []


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def request(url: str, headers=None, method: str = "GET"):
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers
    except OSError:
        return None, None


def wait_ready(swift: Swift, ports: dict, deadline: float, stopping: list) -> None:
    """Until a tempauth token works against the account: memcached, proxy and backends are up."""
    proxy = f"http://{HOST}:{ports['proxy']}"
    while True:
        if stopping:
            raise StartupError(f"{stopping[0]} received during start-up")
        exited = swift.exited()
        if exited:
            raise StartupError(f"{exited[0]} exited with status {exited[1]} during start-up")
        if time.monotonic() > deadline:
            raise StartupError("not ready before the start-up timeout")
        if all(port_open(ports[k]) for k in ("memcached",) + BACKENDS):
            status, headers = request(
                f"{proxy}/auth/v1.0", {"X-Auth-User": S3_ACCESS_KEY, "X-Auth-Key": S3_SECRET_KEY}
            )
            if status == 200:
                status, _ = request(
                    headers["X-Storage-Url"], {"X-Auth-Token": headers["X-Auth-Token"]}, "HEAD"
                )
                if status is not None and 200 <= status < 300:
                    return
        time.sleep(0.05)


def watch(pid: int):
    """A poll()able fd that becomes readable when `pid` exits, or None to fall back to kill(0)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("dir", help="private directory for config, rings, data, logs and pids")
    parser.add_argument("--watch-pid", type=int, default=0, help="stop when this process exits (0: never)")
    parser.add_argument("--timeout", type=float, default=60.0, help="start-up timeout in seconds")
    parser.add_argument(
        "--remove-on-orphan",
        action="store_true",
        help="remove DIR itself when the watched process exits without stopping us (DIR is its temp dir)",
    )
    args = parser.parse_args()

    # Leader of a new session and process group: `swift-s3 stop` kills the group, and signals
    # meant for the caller's terminal group do not hit the servers mid-shutdown.
    try:
        os.setsid()
    except OSError:
        pass

    root = os.path.abspath(args.dir)
    for sub in ("etc", "node/d1", "log", "pids"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    write(os.path.join(root, "pids", "launcher.pid"), f"{os.getpid()}\n")

    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda signum, _frame: stopping.append(signal.Signals(signum).name))
    # A signal also writes a byte here, which wakes the supervision poll() at once.
    wakeup_read, wakeup_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wakeup_write)

    watched = watch(args.watch_pid) if args.watch_pid > 0 else None
    if args.watch_pid > 0 and not alive(args.watch_pid):
        log(f"watched process {args.watch_pid} is not running")
        return 1

    started = time.monotonic()
    deadline = started + args.timeout
    swift = Swift(root)
    # A free port can be taken by someone else between our probe and the server's bind();
    # start again on fresh ports when that happens.
    for attempt in range(1, 4):
        ports = dict(zip(("proxy", "memcached") + BACKENDS, free_ports(5)))
        write_configs(root, ports)
        build_rings(root, ports)
        swift.start(ports)
        try:
            wait_ready(swift, ports, deadline, stopping)
            break
        except StartupError as e:
            log(f"attempt {attempt}: {e}; see {root}/log/")
            swift.stop(grace=1.0)
            if attempt == 3 or time.monotonic() > deadline or stopping:
                return 1

    endpoint = f"endpoint=http://{HOST}:{ports['proxy']}"
    tmp = os.path.join(root, "endpoint.tmp")
    write(tmp, endpoint + "\n")
    os.replace(tmp, os.path.join(root, "endpoint"))
    log(f"ready in {time.monotonic() - started:.1f} s: {endpoint}")
    print(endpoint, flush=True)

    code = 0
    orphaned = False
    poller = select.poll()
    poller.register(wakeup_read, select.POLLIN)
    if watched is not None:
        poller.register(watched, select.POLLIN)
    while not stopping:
        ready = [fd for fd, _ in poller.poll(500)]
        if watched is not None:
            orphaned = watched in ready
        else:
            orphaned = args.watch_pid > 0 and not alive(args.watch_pid)
        if orphaned:
            log(f"watched process {args.watch_pid} exited; stopping")
            break
        exited = swift.exited()
        if exited:
            log(f"{exited[0]} exited with status {exited[1]}; stopping; see {root}/log/{exited[0]}.log")
            code = 1
            break
    if stopping:
        log(f"{stopping[0]} received; stopping")
    swift.stop()
    try:
        os.unlink(os.path.join(root, "endpoint"))
    except FileNotFoundError:
        pass
    os.unlink(os.path.join(root, "pids", "launcher.pid"))
    if orphaned:
        # Nobody is left to remove what the dead test run wrote. Keep logs and config for a
        # post-mortem unless the caller said DIR is a temp dir of its own.
        shutil.rmtree(root if args.remove_on_orphan else os.path.join(root, "node"), ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
