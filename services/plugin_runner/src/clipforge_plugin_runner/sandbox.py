"""What a plugin process may see and use: its environment, its user, its resource limits.

Plugin code never runs in the worker. Each plugin runs in a host process of its own (see
`plugin_host`), and so does discovery (which imports plugin code to read its metadata). Such a
process starts
- with an environment built from scratch (`plugin_env`): a PATH, a locale, a private HOME and
  TMPDIR, and nothing of the worker's settings: no database URL, no Kafka or S3 credentials, no
  API keys;
- as the unprivileged `CLIPFORGE_PLUGIN_USER` (default `nobody`) when the worker runs as root
  (as the worker's own user otherwise: a process cannot drop privileges it does not have);
- in a session of its own, so that killing it reaches every process it started;
- under resource limits (`Limits`): address space, CPU time, open files, processes. The operator
  sets them (`CLIPFORGE_PLUGIN_MEMORY_MB`, ...); a plugin's configuration may lower them, never
  raise them (`Limits.lowered_by`).

A plugin process sets the limits on itself (`limit_self`) before it reads its first request, so
no plugin code runs without them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import resource
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clipforge.sdk.execution import HOST_THREADS

if TYPE_CHECKING:  # not imported in plugin processes: it costs them half a second to start
    from clipforge.settings import Settings

log = logging.getLogger(__name__)

THREAD_ALLOWANCE = HOST_THREADS + 4
"""Tasks a host needs of its own (its threads), on top of a plugin's `max_procs`."""

LIMIT_KEYS = {"memory_mb": 64, "cpu_s": 1, "max_files": 16, "max_procs": 1}
"""The configuration keys that lower a plugin's limits, with the lowest value each may take."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one plugin process (and of each process it starts)."""

    memory_mb: int = 2048  # address space (RLIMIT_AS)
    cpu_s: int = 600  # CPU time of the host process (RLIMIT_CPU); it is replaced before half is used
    max_files: int = 256  # open files (RLIMIT_NOFILE)
    max_procs: int = 64  # processes and threads it may start (RLIMIT_NPROC, see `HEADROOM`)

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            memory_mb=settings.plugin_memory_mb,
            cpu_s=settings.plugin_cpu_s,
            max_files=settings.plugin_max_files,
            max_procs=settings.plugin_max_procs,
        )

    def lowered_by(self, config: Mapping[str, Any]) -> tuple[Limits, list[str]]:
        """These limits, lowered where the plugin's configuration asks for less; a value above
        the operator's is clamped to it. Also returns what was wrong with the values ignored."""
        changes: dict[str, int] = {}
        problems = []
        for key, floor in LIMIT_KEYS.items():
            if key not in config:
                continue
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                problems.append(f"{key}: {value!r} is not a number")
                continue
            changes[key] = max(floor, min(int(value), getattr(self, key)))
        return replace(self, **changes), problems


@dataclass(frozen=True)
class PluginUser:
    """Who plugin processes run as: None for the worker's own user."""

    uid: int
    gid: int
    name: str


@dataclass
class Isolation:
    """How the worker starts plugin processes."""

    limits: Limits = field(default_factory=Limits)
    user_name: str = "nobody"
    reachable: list[Path] = field(default_factory=list)  # folders plugins must reach (media, scratch)
    scratch_root: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "clipforge")
    plugin_folders: list[Path] = field(default_factory=list)
    processes: int = 4  # plugin processes the worker runs at once, about (see `HEADROOM`)
    _user: PluginUser | None = field(default=None, init=False, repr=False)
    _user_resolved: bool = field(default=False, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Isolation:
        return cls(
            limits=Limits.from_settings(settings),
            user_name=settings.plugin_user,
            reachable=[settings.media_dir, settings.scratch_dir],
            scratch_root=settings.scratch_dir,
        )

    @property
    def user(self) -> PluginUser | None:
        """The plugin user, when the worker is root and can switch to it; else None (and it
        says so in the log, once)."""
        if not self._user_resolved:
            self._user_resolved = True
            if os.geteuid() != 0:
                log.warning(
                    "the worker is not root: plugins run as its own user (uid %d), which cannot be "
                    "dropped; their environment is still private and their limits still apply",
                    os.geteuid(),
                )
            else:
                try:
                    entry = pwd.getpwnam(self.user_name)
                except KeyError:
                    raise RuntimeError(f"CLIPFORGE_PLUGIN_USER {self.user_name!r}: no such user") from None
                if entry.pw_uid == 0:
                    raise RuntimeError(f"CLIPFORGE_PLUGIN_USER {self.user_name!r} is root")
                self._user = PluginUser(entry.pw_uid, entry.pw_gid, self.user_name)
                log.info("plugins run as %s (uid %d)", self.user_name, entry.pw_uid)
        return self._user

    def prepare(self) -> None:
        """Make sure the plugin user can reach what it must: the interpreter and the libraries
        it imports, the plugin folders, the media library and the scratch space. Checked before
        every plugin process starts (a few stats): something else may have changed them."""
        user = self.user
        if user is None:
            return
        searchable = [Path(sys.executable), *(Path(p) for p in sys.path if p)]
        searchable += [Path(sys.prefix), Path(sys.base_prefix), *self.reachable, self.scratch_root]
        folders = self.plugin_folders
        wanted = {(d, stat.S_IXOTH) for p in [*searchable, *folders] for d in _dirs_to(p)}
        wanted |= {(f, stat.S_IXOTH | stat.S_IROTH) for f in folders if f.is_dir()}  # discovery lists them
        for folder, bits in sorted(wanted):
            _grant(folder, bits, user)

    def home(self, name: str) -> Path:
        """A new, private HOME (and TMPDIR) for one plugin process (removed when it ends; named
        after the worker, so that a later worker removes those of one that was killed)."""
        self.scratch_root.mkdir(parents=True, exist_ok=True)
        home = Path(tempfile.mkdtemp(prefix=f"{HOME_PREFIX}{os.getpid()}-{name}-", dir=self.scratch_root))
        if (user := self.user) is not None:
            os.chown(home, user.uid, user.gid)
        return home

    def give(self, folder: Path) -> None:
        """Hand a folder the worker made to the plugin user (its artifacts folder)."""
        if (user := self.user) is not None:
            os.chown(folder, user.uid, user.gid)

    def take_back(self, folder: Path) -> None:
        """Take a plugin's folder back once its call is over: it can no longer add, remove or
        swap what is in it (a symlink to a secret, say) while the worker reads it."""
        if self.user is not None:
            with contextlib.suppress(FileNotFoundError):
                os.chown(folder, 0, 0)
                os.chmod(folder, 0o755)


HOME_PREFIX = "plugin-home-"


def remove_stale_homes(root: Path) -> None:
    """Remove the plugin HOMEs left by workers that are gone (killed, say)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            if not entry.name.startswith(HOME_PREFIX):
                continue
            pid = entry.name.removeprefix(HOME_PREFIX).split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dirs_to(path: Path) -> list[Path]:
    """The folders one passes through to reach `path` (symlinks followed), and `path` itself
    when it is a folder."""
    found: list[Path] = []
    for candidate in {path.absolute(), path.resolve()}:
        if not candidate.exists():
            continue
        chain = [candidate] if candidate.is_dir() else []
        chain += list(candidate.parents)
        found += [p for p in chain if p not in found]
    return found


def _grant(folder: Path, bits: int, user: PluginUser) -> None:
    """Give "other" users `bits` on a folder the plugin user cannot otherwise use that way:
    only the search bit (reach a known name) unless listing is needed (a plugin folder)."""
    try:
        st = folder.stat()
    except OSError:
        return
    if st.st_uid == user.uid:
        return
    mode = st.st_mode
    if (mode & bits) == bits or (st.st_gid == user.gid and (mode & (bits << 3)) == bits << 3):
        return
    if st.st_uid != os.geteuid():
        log.warning(
            "plugin user %s cannot use %s (not ours to change): plugins will fail there", user.name, folder
        )
        return
    os.chmod(folder, stat.S_IMODE(mode) | bits)
    what = "searchable" if bits == stat.S_IXOTH else "readable"
    log.warning(
        "made %s %s by other users so that plugin user %s can reach what it needs", folder, what, user.name
    )


def plugin_env(home: Path) -> dict[str, str]:
    """A plugin process's whole environment: nothing of the worker's own."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(home),
        "TMPDIR": str(home),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONNOUSERSITE": "1",
        # few malloc arenas: each reserves 64 MiB of address space, which RLIMIT_AS counts
        "MALLOC_ARENA_MAX": "2",
    }
    if os.environ.get("PYTHONPATH"):  # how this worker finds its own code, when it is set
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def limits_spec(limits: Limits, user: PluginUser | None, processes: int) -> dict[str, int]:
    """What a plugin process limits itself to, first thing, before any plugin code runs (the
    worker cannot set another user's limits without CAP_SYS_RESOURCE; lowering one's own needs
    nothing): see `limit_self`. `processes`: how many plugin processes the worker runs."""
    uid = user.uid if user is not None else os.getuid()
    return {
        "memory_mb": limits.memory_mb,
        "cpu_s": limits.cpu_s,
        "max_files": limits.max_files,
        "nproc": tasks_of(uid) + processes * THREAD_ALLOWANCE + limits.max_procs + HEADROOM,
    }


HEADROOM = 32
"""RLIMIT_NPROC counts every task of the process's real user, not of the process: all the
plugin processes of one user share one count, and a limit once set cannot be raised (that needs
CAP_SYS_RESOURCE). So each gets as its limit: the tasks that user has when it starts, the
threads of every plugin process the worker runs (each starts its threads before it limits
itself, see `plugin_host`), its own `max_procs`, and this much more. A fork bomb fails at that
limit and becomes its plugin's error; its process is then replaced, its whole tree killed."""


def limit_self(spec: dict[str, int]) -> float:
    """Set this process's limits (in a plugin process). Returns the CPU seconds used so far:
    the CPU time budget counts from there."""
    used = cpu_seconds()
    memory = spec["memory_mb"] * 1024 * 1024
    cpu = int(used) + 1 + spec["cpu_s"]
    _lower(resource.RLIMIT_AS, memory)
    _lower(resource.RLIMIT_CPU, cpu, cpu + 2)  # SIGXCPU at the limit, SIGKILL 2s later
    _lower(resource.RLIMIT_NOFILE, spec["max_files"])
    _lower(resource.RLIMIT_CORE, 0)  # a crash leaves no core file
    _lower(resource.RLIMIT_NPROC, spec["nproc"])
    return used


def _lower(which: int, soft: int, hard: int | None = None) -> None:
    hard = soft if hard is None else hard
    current = resource.getrlimit(which)[1]
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(which, (soft, hard))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tasks_of(uid: int) -> int:
    """How many tasks (processes and threads) the user has: what RLIMIT_NPROC counts."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            uid_line = threads = None
            with open(f"/proc/{entry.name}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"Uid:"):
                        uid_line = line
                    elif line.startswith(b"Threads:"):
                        threads = line
                        break
            if uid_line is not None and threads is not None and int(uid_line.split()[1]) == uid:
                count += int(threads.split()[1])
    return count


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.scandir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task.name}/children") as f:
                found += [int(c) for c in f.read().split()]
    return found


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (the host is a subreaper: orphans stay in its tree)."""
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p not in tree:
            tree.append(p)
            todo += _children(p)
    return tree


def kill_tree(pid: int) -> None:
    """Kill a plugin process and everything it started: stop the tree (so a fork bomb cannot
    outrun the walk), kill it, then its process group for anything that left the tree."""
    stopped: set[int] = set()
    for _ in range(20):
        new = [p for p in process_tree(pid) if p not in stopped]
        if not new:
            break
        for p in new:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(p, signal.SIGSTOP)
        stopped.update(new)
    for p in stopped | {pid}:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def exit_reason(returncode: int, limits: Limits) -> str:
    """Why a plugin process ended, in words."""
    if returncode >= 0:
        return f"plugin process exited with code {returncode}"
    number = -returncode
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGXCPU:
        return f"plugin process went over its CPU time limit ({limits.cpu_s} s) (signal {number}: {name})"
    if number == signal.SIGKILL:  # not by the worker (it says why when it kills): the kernel's
        return (
            f"plugin process was killed (signal {number}: {name}): over its CPU time limit "
            f"({limits.cpu_s} s), or out of memory"
        )
    return f"plugin process died (signal {number}: {name})"


def remove_home(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)
