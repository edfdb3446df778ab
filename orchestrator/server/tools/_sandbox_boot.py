"""The program a code-interpreter execution runs as: ``python -I -u -B _sandbox_boot.py``.

Not imported by the server: :mod:`orchestrator.server.tools.code_interpreter` starts it
as a script, with the working directory as cwd and a scrubbed environment, and sends a
length-prefixed JSON payload (the code, the isolation mode, the limits) on stdin. Stdin
then stays open as a lifeline: if the server goes away, the sandbox is killed.

Two processes, both this file:

- the **supervisor** (this process) enters the new network/pid/ipc/uts namespaces
  (``unshare`` only affects children for pid), brings loopback up, forks, waits for
  the child and reports how it ended on the result pipe;
- the **cell** (the child, pid 1 of the new pid namespace, so every process the code
  starts dies with it) builds a private root filesystem, drops privileges, sets the
  resource limits and runs the code like a notebook cell.

Only the standard library, since it runs before anything else and for any interpreter.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import ctypes
import fcntl
import json
import linecache
import os
import platform
import resource
import select
import signal
import socket
import struct
import sys
import traceback
import types

CELL = "<cell>"
SANDBOX_DIR = "/mnt/data"  # where the working directory appears (as on OpenAI's)
SETUP_FAILED = 70  # exit status when the sandbox could not be built

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2

AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
OPEN_TREE_CLONE = 0x1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4

# New mount API syscalls share one number on every architecture but alpha.
SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
SYS_MOUNT_SETATTR = 442
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
MAX_USER_NAMESPACES = "/proc/sys/user/max_user_namespaces"

# Host paths the private root shows read-only, besides the Python installation.
SYSTEM_PATHS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt")
DEVICES = ("null", "zero", "full", "random", "urandom")

LINUX = sys.platform.startswith("linux")
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class SetupError(Exception):
    """The sandbox could not be built (reported, never retried silently)."""


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")
    return result


def _b(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None
) -> None:
    _check(
        _libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)),
        f"mount {target}",
    )


def clone_tree(path: str) -> int:
    """A detached copy of the mount tree at ``path`` (taken before anything is covered)."""
    flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE
    return _check(
        _libc.syscall(
            ctypes.c_long(SYS_OPEN_TREE), ctypes.c_int(AT_FDCWD), _b(path), ctypes.c_uint(flags)
        ),
        f"open_tree {path}",
    )


def attach_tree(fd: int, target: str) -> None:
    _check(
        _libc.syscall(
            ctypes.c_long(SYS_MOVE_MOUNT),
            ctypes.c_int(fd),
            b"",
            ctypes.c_int(AT_FDCWD),
            _b(target),
            ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH),
        ),
        f"move_mount {target}",
    )
    os.close(fd)


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


def set_tree_attrs(fd: int, attrs: int) -> bool:
    """Apply mount attributes to a whole detached tree (submounts too); False if unsupported."""
    attr = _MountAttr(attrs, 0, 0, 0)
    result = _libc.syscall(
        ctypes.c_long(SYS_MOUNT_SETATTR),
        ctypes.c_int(fd),
        b"",
        ctypes.c_uint(AT_EMPTY_PATH | AT_RECURSIVE),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )
    return result == 0


def remount_flags(target: str, extra: int) -> None:
    """Remount one bind mount with ``extra`` flags, keeping the ones it already has
    (a user namespace may not clear locked flags such as nodev)."""
    st = os.statvfs(target).f_flag
    kept = 0
    for st_flag, ms_flag in (
        (os.ST_NOSUID, MS_NOSUID),
        (os.ST_NODEV, MS_NODEV),
        (os.ST_NOEXEC, MS_NOEXEC),
        (os.ST_NOATIME, 0x400),
        (os.ST_NODIRATIME, 0x800),
        (os.ST_RELATIME, 1 << 21),
    ):
        if st & st_flag:
            kept |= ms_flag
    mount(None, target, None, MS_REMOUNT | MS_BIND | kept | extra, None)


def pivot_root(new_root: str) -> None:
    """Make ``new_root`` the root and drop the old one (pivot_root(".", ".") idiom)."""
    os.chdir(new_root)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if hasattr(_libc, "pivot_root") or number is not None:
        if hasattr(_libc, "pivot_root"):
            _check(_libc.pivot_root(b".", b"."), "pivot_root")
        else:
            _check(_libc.syscall(ctypes.c_long(number), b".", b"."), "pivot_root")
        _check(_libc.umount2(b".", ctypes.c_int(MNT_DETACH)), "umount old root")
    else:  # unknown syscall number: move the new root over / and chroot into it
        mount(".", "/", None, MS_MOVE, None)
        os.chroot(".")
    os.chdir("/")


def report(fd: int, record: dict[str, object]) -> None:
    """One JSON line on the result pipe (best effort: the server also sees exit codes)."""
    with contextlib.suppress(OSError):
        os.write(fd, (json.dumps(record) + "\n").encode())


def read_payload() -> dict[str, object]:
    header = _read_exact(0, 8)
    (size,) = struct.unpack(">Q", header)
    return json.loads(_read_exact(0, size))


def _read_exact(fd: int, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = os.read(fd, size - len(chunks))
        if not chunk:
            raise SystemExit(SETUP_FAILED)
        chunks += chunk
    return bytes(chunks)


# --------------------------------------------------------------------------- supervisor


def enter_namespaces(mode: str, memory_bytes: int) -> None:
    """Enter a new user namespace and, owned by it, new network/pid/ipc/uts namespaces.

    The user namespace comes first in both modes: it needs no capability (so this works
    as root without CAP_SYS_ADMIN, as in a default container), and inside it nested user
    namespaces are switched off, so the code cannot make its own user+mount namespace
    and mount a tmpfs that no limit counts."""
    if mode not in ("namespaces", "user-namespaces"):
        return
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if mode == "namespaces":
        # Every id this process can use maps to itself: the cell then becomes a separate
        # sandbox uid, as without the user namespace.
        unshare_with_identity_map(flags)
    else:
        unshare(flags)
        # Map our own ids only: the code keeps the server user's file permissions.
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    _write(MAX_USER_NAMESPACES, "0")
    # System V shared memory outlives the processes that map it (no sum over them sees
    # it): the new IPC namespace gets no more than the memory budget. Only the namespace's
    # root may set that; with our own uid mapped alone (user-namespaces) nobody is.
    try:
        _write("/proc/sys/kernel/shmmax", str(memory_bytes))
        _write("/proc/sys/kernel/shmall", str(-(-memory_bytes // os.sysconf("SC_PAGE_SIZE"))))
    except SetupError:
        if mode == "namespaces":
            raise
    with contextlib.suppress(OSError):
        socket.sethostname("sandbox")
    loopback_up()


def unshare_with_identity_map(flags: int) -> None:
    """``unshare(flags)`` (with CLONE_NEWUSER) and map every id of this namespace to
    itself in the new one. A map of more than one's own id must be written from the
    parent namespace (with CAP_SETUID there): a forked helper does it."""
    uid_map, gid_map = _identity_map("/proc/self/uid_map"), _identity_map("/proc/self/gid_map")
    me = os.getpid()
    go_r, go_w = os.pipe()
    helper = os.fork()
    if helper == 0:
        status = 1
        try:
            os.close(go_w)
            if os.read(go_r, 1) == b"x":  # the parent has unshared
                for name, text in (("uid_map", uid_map), ("gid_map", gid_map)):
                    with open(f"/proc/{me}/{name}", "w") as f:
                        f.write(text)
                status = 0
        except BaseException:
            status = 1
        os._exit(status)
    os.close(go_r)
    try:
        unshare(flags)
        os.write(go_w, b"x")
    finally:
        os.close(go_w)
        _, status = os.waitpid(helper, 0)
    if status != 0:
        raise SetupError("could not map the sandbox's user ids (no CAP_SETUID?)")


def _identity_map(path: str) -> str:
    """The ids of this user namespace, each mapped to itself (for a child namespace)."""
    with open(path) as f:
        fields = f.read().split()
    return "\n".join(f"{fields[i]} {fields[i]} {fields[i + 2]}" for i in range(0, len(fields), 3))


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as exc:
        raise SetupError(f"{path}: {exc.strerror}") from None


def loopback_up() -> None:
    """Loopback inside the empty network namespace, so local sockets between the code's
    own processes work; nothing outside is reachable."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            req = struct.pack("16sH22x", b"lo", 0)
            flags = struct.unpack("16sH22x", fcntl.ioctl(s, siocgifflags, req))[1]
            fcntl.ioctl(s, siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up))
    except OSError:
        pass


def kill_descendants() -> None:
    """Kill whatever the cell left behind, even processes that left its process group:
    as a child subreaper, this process inherits every orphan below it. (In the namespace
    modes the end of the pid namespace has done this already; this finds nothing.)"""
    if not LINUX:
        return
    me = os.getpid()
    for _ in range(1000):
        children = _children_of(me)
        if not children:
            break
        for child in children:
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)
        _reap()
        select.select([], [], [], 0.002)  # let the killed ones become zombies
    _reap()


def _children_of(parent: int) -> list[int]:
    children = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if len(fields) > 1 and int(fields[1]) == parent:
            children.append(int(name))
    return children


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def supervise(pid: int, result_fd: int, cell_r: int) -> int:
    """Wait for the cell; kill it if the server closes our stdin (it went away)."""
    lifeline: int | None = 0
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd, lifeline = None, None
    while pidfd is not None:
        watched = [pidfd] if lifeline is None else [pidfd, lifeline]
        ready, _, _ = select.select(watched, [], [])
        if pidfd in ready:
            break
        if lifeline in ready:
            try:
                data = os.read(lifeline, 4096)
            except OSError:
                data = b""
            if not data:
                lifeline = None
                os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    kill_descendants()
    relay_exception(cell_r, result_fd)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        report(result_fd, {"kind": "signal", "signal": sig})
        return 128 + sig
    code = os.WEXITSTATUS(status)
    report(result_fd, {"kind": "exit", "code": code})
    return code


# --------------------------------------------------------------------------- the cell


def python_dirs() -> list[str]:
    """Directories the interpreter needs, bound at the same paths in the private root."""
    import site

    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
        os.path.dirname(os.path.abspath(sys.executable)),
    }
    with contextlib.suppress(AttributeError):
        candidates.update(site.getsitepackages())
    dirs = sorted({os.path.realpath(p) for p in candidates if p and os.path.isdir(p)})
    kept: list[str] = []
    for d in dirs:
        covered = any(d == k or d.startswith(k.rstrip("/") + "/") for k in kept)
        covered = covered or any(d == s or d.startswith(s + "/") for s in SYSTEM_PATHS)
        if not covered and d != "/":
            kept.append(d)
    return kept


def build_root(tmp_bytes: int, shm_bytes: int) -> None:
    """A private root: system and Python directories read-only, the working directory at
    /mnt/data, fresh /proc, private /tmp and /dev/shm, a handful of device nodes. The rest
    of the host's files (projects, databases, home directories) is not there at all."""
    unshare(CLONE_NEWNS)
    mount(None, "/", None, MS_REC | MS_PRIVATE, None)

    # Clone every source tree first: mounting the new root may cover any host path.
    readonly: list[tuple[str, int]] = []
    links: list[tuple[str, str]] = []
    for path in SYSTEM_PATHS:
        if os.path.islink(path):
            links.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            readonly.append((path, clone_tree(path)))
    readonly += [(path, clone_tree(path)) for path in python_dirs()]
    devices = [(f"/dev/{name}", clone_tree(f"/dev/{name}")) for name in DEVICES]
    workdir = clone_tree(".")

    for _, fd in readonly:
        set_tree_attrs(fd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
    set_tree_attrs(workdir, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)

    new_root = next(p for p in ("/tmp", "/mnt", "/var", "/") if os.path.isdir(p))
    mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")

    def inside(path: str) -> str:
        return new_root.rstrip("/") + path

    # Parents before children, so a bind under /tmp lands on the private /tmp.
    for path, target in links:
        os.symlink(target, inside(path))
    os.makedirs(inside("/tmp"), mode=0o755)
    mount("tmpfs", inside("/tmp"), "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={tmp_bytes}")
    for path, fd in sorted(readonly, key=lambda item: item[0].count("/")):
        os.makedirs(inside(path), mode=0o755, exist_ok=True)
        attach_tree(fd, inside(path))
        if os.statvfs(inside(path)).f_flag & os.ST_RDONLY == 0:  # no mount_setattr
            remount_flags(inside(path), MS_RDONLY | MS_NOSUID)
    os.makedirs(inside("/dev/shm"), mode=0o755)
    mount("tmpfs", inside("/dev/shm"), "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={shm_bytes}")
    for path, fd in devices:
        with open(inside(path), "w"):
            pass
        attach_tree(fd, inside(path))
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, inside(f"/dev/{name}"))
    os.makedirs(inside("/proc"), mode=0o555)
    # This process is pid 1 of the new pid namespace: /proc shows only the sandbox.
    mount("proc", inside("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    os.makedirs(inside(SANDBOX_DIR), mode=0o755)
    attach_tree(workdir, inside(SANDBOX_DIR))

    pivot_root(new_root)
    remount_flags("/", MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(SANDBOX_DIR)


def drop_privileges(mode: str, uid: int | None, gid: int | None) -> None:
    if mode == "namespaces" and uid is not None and gid is not None:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)  # leaving uid 0 clears every capability
    elif mode == "user-namespaces":
        # Same uid as before, but the capabilities the new user namespace granted go.
        header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
        data = (ctypes.c_uint32 * 6)()
        _check(_libc.capset(header, data), "capset")
    if LINUX:
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")


def set_limits(limits: dict[str, int]) -> None:
    def cap(which: int, value: int) -> None:
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            if LINUX:  # every limit is enforceable there; elsewhere some are not
                raise

    cpu = limits["cpu_seconds"]
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    if cpu_hard == resource.RLIM_INFINITY or cpu_hard > cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL
    cap(resource.RLIMIT_AS, limits["memory_bytes"])
    cap(resource.RLIMIT_FSIZE, limits["file_bytes"])
    cap(resource.RLIMIT_NOFILE, limits["open_files"])
    cap(resource.RLIMIT_CORE, 0)
    if limits.get("processes"):
        cap(resource.RLIMIT_NPROC, limits["processes"])


def install_network_guard() -> None:
    """Fallback when no network namespace is available: refuse sockets to the network
    from Python code in this process (not from native code or child programs)."""
    blocked_families = {socket.AF_INET, socket.AF_INET6}
    lookups = {
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
    }

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event in lookups:
            raise PermissionError("network access is disabled in the sandbox")
        if event in ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind"):
            sock = args[0]
            if getattr(sock, "family", None) in blocked_families:
                raise PermissionError("network access is disabled in the sandbox")

    sys.addaudithook(hook)


def error_line(exc: BaseException) -> str:
    line = traceback.format_exception_only(type(exc), exc)[-1].strip()
    if isinstance(exc, SyntaxError) and exc.lineno:
        line += f" (line {exc.lineno})"
    return line[:1000]


def print_traceback(exc: BaseException) -> None:
    """The traceback from the cell's first frame on; the bootstrap's frames are noise."""
    if isinstance(exc, SyntaxError):  # where in the cell is all there is to say
        sys.stderr.write("".join(traceback.format_exception_only(type(exc), exc)))
        return
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb, file=sys.stderr)


def run_cell(code: str, result_fd: int, memory_mb: int) -> int:
    """Run ``code`` as ``__main__``; echo the last expression's value like a notebook."""
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = main
    sys.argv = [""]
    sys.path.insert(0, "")  # modules in the working directory are importable
    linecache.cache[CELL] = (len(code), None, code.splitlines(True), CELL)
    try:
        tree = ast.parse(code, CELL, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, CELL, "exec"), main.__dict__)
        if last is not None:
            value = eval(compile(last, CELL, "eval"), main.__dict__)
            if value is not None:
                sys.displayhook(value)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException as exc:
        line = error_line(exc)
        if isinstance(exc, MemoryError):
            detail = line.partition(":")[2].strip() or "out of memory"
            line = f"MemoryError: {detail} (memory limit {memory_mb} MB)"
        try:
            print_traceback(exc)
        except BaseException:  # e.g. MemoryError again while formatting
            print(line, file=sys.stderr)
        report(result_fd, {"kind": "exception", "error": line})
        return 1
    return 0


def cell(payload: dict, result_fd: int, cell_fd: int) -> int:
    mode = payload["mode"]
    limits = payload["limits"]
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # the lifeline is the supervisor's, not the code's
        os.close(devnull)
        if mode in ("namespaces", "user-namespaces"):
            build_root(limits["tmp_bytes"], limits["shm_bytes"])
        drop_privileges(mode, payload.get("uid"), payload.get("gid"))
        # After the credential change, which clears it: die with the supervisor.
        if LINUX:
            _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
        set_limits(limits)
        if mode == "audit-hook":
            install_network_guard()
    except Exception as exc:  # any failure here is ours, not the code's
        report(result_fd, {"kind": "setup_error", "error": f"{type(exc).__name__}: {exc}"})
        return SETUP_FAILED
    # The code must not reach the server's result pipe (it could forge how the execution
    # ended or inject log lines): from here on the cell only has its own pipe to the
    # supervisor, which takes nothing from it but an exception line.
    os.close(result_fd)
    return run_cell(payload["code"], cell_fd, payload["memory_mb"])


def relay_exception(cell_r: int, result_fd: int) -> None:
    """Forward the cell's exception line, if any, to the server (as a sanitised string:
    whatever the code wrote there, it could as well have raised)."""
    os.set_blocking(cell_r, False)
    data = b""
    with contextlib.suppress(OSError):
        while len(data) < 65536:
            chunk = os.read(cell_r, 65536)
            if not chunk:
                break
            data += chunk
    for line in reversed(data.splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("error"), str):
            error = "".join(c if c.isprintable() else " " for c in record["error"])[:1000]
            report(result_fd, {"kind": "exception", "error": error})
            return


def main() -> None:
    payload = read_payload()
    # Keep the result pipe away from low descriptor numbers the code may use.
    result_fd = fcntl.fcntl(payload["result_fd"], fcntl.F_DUPFD_CLOEXEC, 200)
    os.close(payload["result_fd"])
    try:
        enter_namespaces(payload["mode"], payload["limits"]["memory_bytes"])
    except SetupError as exc:
        report(result_fd, {"kind": "setup_error", "error": str(exc)})
        raise SystemExit(SETUP_FAILED) from None
    if LINUX:
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    cell_r, cell_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(cell_r)
        # The cell exits through SystemExit so that the code's files get flushed and
        # closed and its atexit handlers run, as in a normal interpreter shutdown.
        raise SystemExit(cell(payload, result_fd, cell_w))
    os.close(cell_w)
    if LINUX:  # same-uid code (audit-hook mode) may not open our fds through /proc
        _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    raise SystemExit(supervise(pid, result_fd, cell_r))


if __name__ == "__main__":
    main()
