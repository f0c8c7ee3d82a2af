"""The local Neo4j server the project installs and runs itself.

Neo4j publishes no server tarball on Maven Central, but the server's jars are there:
`org.neo4j:neo4j` (the community edition, with `org.neo4j.server.CommunityEntryPoint`) and
`org.neo4j.app:neo4j-server` (HTTP and bolt). Maven resolves them into
`$ATTRIB_HOME/neo4j-<version>/lib`; each instance (`default` for the demo, `test` for the
test suite) has its own conf, data, logs and password under `$ATTRIB_HOME/instances/`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from graph.errors import ServerError
from graph.settings import Settings

POM_TEMPLATE = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>attrib</groupId><artifactId>neo4j-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.neo4j</groupId><artifactId>neo4j</artifactId><version>{v}</version></dependency>
    <dependency><groupId>org.neo4j.app</groupId><artifactId>neo4j-server</artifactId><version>{v}</version></dependency>
  </dependencies>
</project>
"""

# The JVM options Neo4j's own launcher passes (minus the ones for tuning production hosts).
JVM_OPTIONS = [
    "-XX:+UseG1GC", "-XX:-OmitStackTraceInFastThrow", "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields", "-XX:+DisableExplicitGC", "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true", "-Dlog4j2.disable.jmx=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED",
]

ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
DEFAULT_BOLT_PORT = 7687
LOCALHOST = "127.0.0.1"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"


@dataclass
class Status:
    state: str  # running | stopped | external
    uri: str | None
    pid: int | None = None
    port: int | None = None
    rss_mb: float | None = None
    home: Path | None = None

    def describe(self) -> str:
        if self.state == "external":
            return f"using the external server at {self.uri} (NEO4J_URI); nothing is managed locally"
        if self.state == "running":
            mem = f", {self.rss_mb:.0f} MB resident" if self.rss_mb else ""
            return f"running at {self.uri} (pid {self.pid}{mem}); home {self.home}"
        return f"stopped (instance home {self.home}); run: attrib neo4j start"


class LocalServer:
    """Install, start, stop and inspect one local Neo4j instance."""

    def __init__(self, settings: Settings, log=None):
        self.s = settings
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.inst = settings.instance_dir
        self.lib = settings.neo4j_dir / "lib"

    # -- files ---------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.inst / "run" / "state.json"

    @property
    def password_file(self) -> Path:
        return self.inst / "password"

    @property
    def log_file(self) -> Path:
        return self.inst / "logs" / "neo4j.log"

    def password(self) -> str:
        if not self.password_file.exists():
            raise ServerError(f"no password file at {self.password_file}",
                              hint="run: attrib neo4j start")
        return self.password_file.read_text().strip()

    def _state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    # -- install -------------------------------------------------------------------------
    def installed(self) -> bool:
        return (self.s.neo4j_dir / ".complete").exists()

    def install(self) -> None:
        """Resolve the Neo4j jars from Maven Central into the project's home (first use)."""
        if self.installed():
            return
        mvn = shutil.which("mvn")
        if not mvn:
            raise ServerError("Maven (mvn) is not installed; it is needed once to fetch Neo4j",
                              hint="install it (Debian: apt-get install maven) or set NEO4J_URI "
                                   "to a server you run yourself")
        work = self.s.neo4j_dir / "maven"
        work.mkdir(parents=True, exist_ok=True)
        (work / "pom.xml").write_text(POM_TEMPLATE.format(v=self.s.neo4j_version))
        tmp_lib = self.s.neo4j_dir / "lib.partial"
        shutil.rmtree(tmp_lib, ignore_errors=True)
        self.log(f"Fetching Neo4j {self.s.neo4j_version} Community from Maven Central "
                 f"into {self.s.neo4j_dir} (first use only)")
        cmd = [mvn, "-B", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
               f"-DoutputDirectory={tmp_lib}", "-DincludeScope=runtime"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        fetched, tail = 0, []
        assert proc.stdout is not None
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-30:]
            if "Downloaded from" in line:
                fetched += 1
                if sys.stderr.isatty():
                    print(f"\r  downloaded {fetched} files", end="", file=sys.stderr, flush=True)
                elif fetched % 50 == 0:
                    self.log(f"  downloaded {fetched} files")
        if sys.stderr.isatty() and fetched:
            print(file=sys.stderr)
        if proc.wait() != 0:
            raise ServerError("Maven could not fetch Neo4j:\n  " + "\n  ".join(tail[-15:]),
                              hint="check that Maven Central is reachable, then run the command again")
        shutil.rmtree(self.lib, ignore_errors=True)
        tmp_lib.rename(self.lib)
        jars = len(list(self.lib.glob("*.jar")))
        (self.s.neo4j_dir / ".complete").write_text(f"{jars} jars\n")
        self.log(f"  Neo4j {self.s.neo4j_version}: {jars} jars ready ({fetched} files downloaded)")

    # -- lifecycle -----------------------------------------------------------------------
    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java or not Path(java).exists():
            raise ServerError("Java is not installed; Neo4j 5.26 needs Java 17 or 21",
                              hint="install it (Debian: apt-get install openjdk-17-jre-headless)")
        out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
        m = re.search(r'version "(\d+)', out)
        if not m or int(m.group(1)) < 17:
            raise ServerError(f"{java} is not Java 17 or newer ({out.splitlines()[0] if out else '?'})",
                              hint="install Java 17 and set JAVA_HOME to it")
        return java

    def _env(self) -> dict:
        env = dict(os.environ)
        env["NEO4J_HOME"] = str(self.inst)
        env["NEO4J_CONF"] = str(self.inst / "conf")
        return env

    def _write_conf(self, port: int) -> None:
        private_dir(self.inst)
        for d in ("conf", "data", "logs", "run", "import", "plugins"):
            private_dir(self.inst / d)
        (self.inst / "conf" / "neo4j.conf").write_text("\n".join([
            "# Written by attrib on every start; edit ATTRIB_* environment variables instead.",
            "server.default_listen_address=127.0.0.1",
            "server.default_advertised_address=127.0.0.1",
            f"server.bolt.listen_address=127.0.0.1:{port}",
            "server.http.enabled=false",
            "server.https.enabled=false",
            f"server.memory.heap.initial_size={self.s.heap}",
            f"server.memory.heap.max_size={self.s.heap}",
            f"server.memory.pagecache.size={self.s.pagecache}",
            "dbms.security.auth_enabled=true",
            "server.directories.import=import",
            "dbms.security.allow_csv_import_from_file_urls=true",
            "db.transaction.timeout=0",
            # One server: a bookmark it has not reached means the store was replaced (a dump
            # restored under a running app); say so in 1 s instead of waiting the default 30 s.
            "db.transaction.bookmark_ready_timeout=1s",
            "dbms.usage_report.enabled=false",
            "",
        ]))

    def _set_initial_password(self, java: str) -> None:
        if (self.inst / "data" / "dbms" / "auth.ini").exists() and self.password_file.exists():
            return
        # Hex, not token_urlsafe: a password starting with '-' is read by neo4j-admin as an option.
        password = secrets.token_hex(18)
        self.password_file.touch(mode=0o600)
        os.chmod(self.password_file, 0o600)
        self.password_file.write_text(password + "\n")
        out = subprocess.run([java, "-cp", str(self.lib / "*"), ADMIN_TOOL, "dbms",
                              "set-initial-password", password],
                             env=self._env(), capture_output=True, text=True, umask=PRIVATE_UMASK)
        if out.returncode != 0:
            raise ServerError("neo4j-admin could not set the initial password:\n" + out.stdout + out.stderr)

    def status(self) -> Status:
        if self.s.external:
            return Status("external", self.s.uri)
        st = self._state()
        if st and pid_alive(st["pid"]) and _port_open(st["port"]):
            return Status("running", f"bolt://127.0.0.1:{st['port']}", st["pid"], st["port"],
                          _rss_mb(st["pid"]), self.inst)
        return Status("stopped", None, home=self.inst)

    def start(self) -> Status:
        if self.s.external:
            self.log(f"NEO4J_URI is set: using the server at {self.s.uri}; not starting a local one")
            return self.status()
        current = self.status()
        if current.state == "running":
            self.log(f"Neo4j is already running at {current.uri}")
            return current
        st = self._state()
        if st and pid_alive(st["pid"]):
            raise ServerError(f"a Neo4j process (pid {st['pid']}) of this instance is alive but does not "
                              f"answer on port {st['port']}",
                              hint="wait a moment and retry, or run: attrib neo4j stop")
        self.install()
        java = self._java()
        port = self._choose_port()
        self._write_conf(port)
        self._set_initial_password(java)
        console = open(self.inst / "logs" / "console.log", "ab")
        heap = self.s.heap
        proc = subprocess.Popen(
            [java, f"-Xms{heap}", f"-Xmx{heap}", *JVM_OPTIONS, "-cp", str(self.lib / "*"), ENTRY_POINT,
             f"--home-dir={self.inst}", f"--config-dir={self.inst / 'conf'}"],
            env=self._env(), stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, umask=PRIVATE_UMASK)
        console.close()
        self.state_file.write_text(json.dumps({"pid": proc.pid, "port": port,
                                               "version": self.s.neo4j_version}))
        self.log(f"Starting Neo4j {self.s.neo4j_version} on 127.0.0.1:{port} "
                 f"(heap {heap}, page cache {self.s.pagecache}) ...")
        deadline = time.monotonic() + self.s.start_timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ServerError(f"Neo4j exited with status {proc.returncode} while starting.\n"
                                  + self.log_tail(), hint=f"see {self.inst / 'logs'}")
            if _port_open(port) and self._started_in_log():
                status = self.status()
                self.log(f"Neo4j is running at {status.uri}")
                return status
            time.sleep(0.3)
        raise ServerError(f"Neo4j did not answer on 127.0.0.1:{port} within {self.s.start_timeout_s} s.\n"
                          + self.log_tail(),
                          hint="raise ATTRIB_START_TIMEOUT on a slow machine, or run: attrib neo4j stop")

    def _choose_port(self) -> int:
        """ATTRIB_BOLT_PORT, else the port this instance used before, else 7687 or, when that is
        taken on a first start, a port outside the ephemeral range (which outgoing connections
        take from): kept from then on, so the URI of an instance never changes by itself. A
        given or kept port that is taken is an error naming its holder, never a silent move."""
        given = self.s.preferred_bolt_port or self._last_port()
        if given:
            if not port_free(given):
                low, high = ephemeral_range()
                why = (f"; it lies in the ephemeral range {low}-{high}, where outgoing connections take "
                       "their ports" if low <= given <= high else "")
                raise ServerError(f"port {given}, the bolt port of instance '{self.s.instance}', is "
                                  f"taken by {port_holder(given)}{why}",
                                  hint="stop that process, or move this instance for good: ATTRIB_BOLT_PORT="
                                       f"{stable_free_port(self.s.instance)} attrib neo4j start")
            return given
        if port_free(DEFAULT_BOLT_PORT):
            return DEFAULT_BOLT_PORT
        port = stable_free_port(self.s.instance)
        self.log(f"port {DEFAULT_BOLT_PORT} is taken; instance '{self.s.instance}' uses {port} from now on")
        return port

    def _last_port(self) -> int | None:
        """The port this instance used before (its conf is the record), so a restart keeps its URI."""
        try:
            conf = (self.inst / "conf" / "neo4j.conf").read_text()
        except FileNotFoundError:
            return None
        m = re.search(r"^server\.bolt\.listen_address=127\.0\.0\.1:(\d+)$", conf, flags=re.M)
        return int(m.group(1)) if m else None

    def _started_in_log(self) -> bool:
        try:
            return "Started." in self.log_file.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return False

    def log_tail(self, lines: int = 20) -> str:
        chunks = []
        for f in (self.log_file, self.inst / "logs" / "console.log"):
            if f.exists():
                text = f.read_text(errors="replace").splitlines()[-lines:]
                if text:
                    chunks.append(f"--- last lines of {f} ---\n" + "\n".join(text))
        return "\n".join(chunks) or "(Neo4j wrote no log)"

    def stop(self) -> bool:
        """Stop the instance; returns False if it was not running."""
        if self.s.external:
            self.log(f"NEO4J_URI is set: the server at {self.s.uri} is not managed here; nothing to stop")
            return False
        st = self._state()
        if not st or not pid_alive(st["pid"]):
            self.state_file.unlink(missing_ok=True)
            return False
        pid = st["pid"]
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.state_file.unlink(missing_ok=True)
        return True

    def restart(self) -> Status:
        """Stop and start the instance: the one way to end a query the server keeps evaluating
        after its transaction was terminated (a long expression; see graph/reads/console.py)."""
        if self.s.external:
            self.log(f"NEO4J_URI is set: the server at {self.s.uri} is not managed here; restart it yourself")
            return self.status()
        self.stop()
        return self.start()

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the running server process has used, from /proc; None when
        it is not running here. The machine may be shared: this is the server's own use."""
        st = self._state()
        if not st or not pid_alive(st["pid"]):
            return None
        try:
            fields = Path(f"/proc/{st['pid']}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def recreate_database(self) -> None:
        """Stop, delete the `neo4j` database's store and logs, start: an empty database in
        seconds however large it was (benchmarks; `attrib reset` deletes through Cypher)."""
        self.stop()
        for sub in ("databases", "transactions"):
            shutil.rmtree(self.inst / "data" / sub / "neo4j", ignore_errors=True)
        self.start()

    def store_size_mb(self) -> float:
        total = sum(f.stat().st_size for sub in ("databases", "transactions")
                    for f in (self.inst / "data" / sub / "neo4j").rglob("*") if f.is_file())
        return total / 2**20

    def admin(self, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        """Run neo4j-admin (AdminTool) against this instance, e.g. for offline imports."""
        self.install()
        java = self._java()
        out = subprocess.run([java, "-Xmx1g", "-cp", str(self.lib / "*"), ADMIN_TOOL, *args],
                             env=env or self._env(), capture_output=True, text=True, umask=PRIVATE_UMASK)
        if check and out.returncode != 0:
            raise ServerError(f"neo4j-admin {' '.join(args[:3])} failed:\n{out.stdout}{out.stderr}")
        return out


def pid_alive(pid: int) -> bool:
    """Is process `pid` running (a zombie counts as gone)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return True


def _port_open(port: int, host: str = LOCALHOST) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def port_free(port: int, host: str = LOCALHOST) -> bool:
    """Nothing listens on host:port and it can be bound (the app's port and Neo4j's)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return not _port_open(port, host)


def free_port(host: str = LOCALHOST) -> int:
    """A port the system says is free now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands to outgoing connections (and to bind(0))."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return low, high


def stable_free_port(name: str, host: str = LOCALHOST) -> int:
    """A free port between 7688 and the ephemeral range, tried from a place that depends on `name`
    only, so that instances started at once seldom pick the same one."""
    first, last = DEFAULT_BOLT_PORT + 1, ephemeral_range()[0] - 1
    if last < first:  # an ephemeral range starting low: take the ports above it
        first, last = ephemeral_range()[1] + 1, 65535
    span = last - first + 1
    start = int(hashlib.sha256(name.encode()).hexdigest(), 16) % span
    for i in range(span):
        port = first + (start + i) % span
        if port_free(port, host):
            return port
    raise ServerError(f"no free port between {first} and {last} for the local Neo4j")


def port_holder(port: int) -> str:
    """Who holds a local TCP port: 'pid N (command line)' from /proc, when this user may see it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] != "0":
                inodes.add(f"socket:[{fields[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                return f"pid {proc.name} ({cmd[:120]})"
        except OSError:  # gone, or another user's
            continue
    return "a process this user cannot see"


PRIVATE_UMASK = 0o077  # files the server and neo4j-admin write: the store, auth.ini, dumps


def private_dir(path: Path) -> Path:
    """Make `path` (and parents) a directory only its owner may read: 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None
