"""A throwaway PostgreSQL cluster for the tests: initdb into a temp folder, a loopback port.

The binaries come from the distribution's packages (``pg_config --bindir``, else
``/usr/lib/postgresql/<version>/bin``); ``.ci/run`` installs them when absent.
``initdb`` refuses to run as root, so under root the cluster belongs to an
unprivileged user (``postgres``, which the Debian package creates, else
``nobody``) and its commands run through ``runuser``/``setpriv``. Clients log
in with a password taken from a ``PGPASSFILE``, never from the URL, like a team
would.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field

__all__ = ["Cluster", "find_bindir"]

USER = "orchestra"
PASSWORD = "s3cret-never-shown"  # tests assert it never appears in output


def find_bindir() -> str:
    """Folder with initdb/pg_ctl; a clear error (not a skip) when PostgreSQL is missing."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                check=False)
        candidates.append(result.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit()
                         else 0, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(os.path.dirname(initdb))
    for folder in candidates:
        if folder and os.path.exists(os.path.join(folder, "initdb")):
            return folder
    raise RuntimeError("PostgreSQL server binaries not found (initdb); install the "
                       "distribution's postgresql package (.ci/run does)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner() -> tuple[list[str], int | None, int | None]:
    """(command prefix, uid, gid) to run the server as an unprivileged user when root."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return [], None, None
    import pwd

    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if shutil.which("runuser"):
            return ["runuser", "-u", name, "--"], entry.pw_uid, entry.pw_gid
        return (["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                 "--clear-groups"], entry.pw_uid, entry.pw_gid)
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) for initdb")


@dataclass
class Cluster:
    root: str  #: a temp folder: server/ (owned by the server's user) and the client's pgpass
    port: int
    bindir: str
    prefix: list[str] = field(default_factory=list)

    @property
    def server(self) -> str:
        return os.path.join(self.root, "server")

    @property
    def data(self) -> str:
        return os.path.join(self.server, "data")

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    @property
    def passfile(self) -> str:
        return os.path.join(self.root, "pgpass")

    def client_env(self) -> dict[str, str]:
        """What a client needs besides the URL: the password comes from PGPASSFILE."""
        return {"PGPASSFILE": self.passfile}

    @classmethod
    def create(cls) -> Cluster:
        bindir = find_bindir()
        prefix, uid, gid = _as_owner()
        root = tempfile.mkdtemp(prefix="orchestra-pg-")  # not below pytest's 0700 root folder
        os.chmod(root, 0o755)
        cluster = cls(root=root, port=_free_port(), bindir=bindir, prefix=prefix)
        os.mkdir(cluster.server, 0o700)
        pwfile = os.path.join(cluster.server, "pw")
        with open(pwfile, "w", encoding="utf-8") as fh:
            fh.write(PASSWORD + "\n")
        if uid is not None and gid is not None:
            os.chown(cluster.server, uid, gid)
            os.chown(pwfile, uid, gid)
        fd = os.open(cluster.passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"127.0.0.1:*:*:{USER}:{PASSWORD}\n")
        cluster._run("initdb", "-D", cluster.data, "-U", USER, "-A", "scram-sha-256",
                     f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync", "--no-instructions")
        os.unlink(pwfile)
        cluster.start()
        return cluster

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([*self.prefix, os.path.join(self.bindir, tool), *args],
                                capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): "
                               f"{result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   "-c unix_socket_directories= -c fsync=off -c max_connections=200")
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l",
                  os.path.join(self.server, "server.log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
