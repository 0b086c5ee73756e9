"""Runs inside the sandbox: one candidate program against its tests (standalone, stdlib only).

Started by :mod:`data_prep.label.sandbox.run` as ``python -I -S harness.py`` in the host folder the
parent made for this candidate, with stdout connected to the parent's report socket. It

1. reads and deletes its job (``job``, :mod:`marshal`: code, test inputs, limits, the filesystem
   view; a checker job also opens its ``cases.jsonl``);
2. with a mount namespace, builds the candidate's filesystem (``_enter_view``): a new root that holds
   read-only bindings of the system directories and the Python installation, a fresh /proc when the
   PID namespace allows one, a few devices, size-bounded tmpfs for /tmp, /var/tmp, /dev/shm and the
   working directory W; then ``pivot_root`` into it, so nothing else of the host is reachable;
3. gives up every privilege (``_lock_down``): as root, a drop to the unprivileged uid chosen by the
   parent; in a user namespace, no further user namespaces and every capability dropped; always
   ``no_new_privs`` and not dumpable (so no process of the candidate, same uid or not, can open this
   harness's files through /proc or attach to it);
4. sets the candidate's import path (computed by the parent: that of ``python -I``) and what the
   ``site`` module would add to builtins (``exit``, ``quit``, ``help``...), and the resource limits
   (processes, file size, no core files);
5. for each test writes the test's files into W (``stdin.txt``, or the statement's input file such
   as ``input.txt``), forks a child that sets the CPU and address-space limits, connects
   stdin/stdout to files, runs the code and then ends as the interpreter would (``_finish``: waits
   for non-daemon threads, runs ``atexit`` handlers, flushes); the harness waits for it with a
   wall-clock limit and reads the output back (stdout, or the statement's output file);
6. reports each test on its stdout as a frame ``b"<test> <status> <len out> <len error>\\n"``
   followed by the raw output and error bytes, and stops at the first test whose program did not
   finish normally. Expected outputs never enter a candidate's sandbox: the parent compares, or hands
   the outputs to a checker job, a sandbox of its own. A sandbox that cannot be set up reports test
   -1 with status ``setup_error``.

Job kinds: ``stdio`` (a program run as ``__main__``), ``function`` (prelude + candidate + check in
one module, as LeetCodeDataset's evaluator runs it: it passes only by running to its end, so a
program that exits before check() finishes fails), ``checker`` (open-r1's generated checker, run
on each ``{"input", "expected", "output"}`` line of ``cases.jsonl``).

Statuses: ``ok``, ``wrong_answer`` (a failed assertion of a function test, a missing output file,
a checker score below 1), ``runtime_error``, ``timeout``, ``memory_limit``, ``output_limit`` (also: a
test after which W or a private tmpfs is full).

Imports are kept to builtin and small C modules (no ``json``, ``traceback`` or ``signal``, whose
imports cost more than the interpreter's own start): the harness starts once per candidate.
"""

import _signal
import atexit
import marshal
import os
import resource
import select
import stat
import sys

MEMORY_ERROR_EXIT = 97  # the test child's exit code when the candidate raised MemoryError
ASSERTION_EXIT = 98  # ... when a function test's assertion failed (a wrong answer)
CHECK_DONE_EXIT = 96  # ... when a function test's program ran to its end (check() finished): the only pass
CHECKER_FILES = ("input.txt", "correct_output.txt", "solution_output.txt")  # open-r1's checker arguments
PRIVATE_TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
FULL_BELOW_BYTES = 64 << 10  # a tmpfs with less free space than this was filled by the candidate
REPORT_FD = 1

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 8, 32, 4096, 16384
ENOSYS = 38
MNT_DETACH = 2
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 1, 2, 4
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
_SYSCALLS = {"x86_64": (155, 442, 126), "aarch64": (41, 442, 91)}  # (pivot_root, mount_setattr, capset)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CAPABILITY_VERSION_3 = 0x20080522
SIGKILL, SIGXCPU, SIGXFSZ, SIGABRT, SIGBUS = (_signal.SIGKILL, _signal.SIGXCPU, _signal.SIGXFSZ, _signal.SIGABRT,
                                              _signal.SIGBUS)


class _Libc:
    """The few system calls Python's os module lacks (mount, pivot_root, prctl, capset), via ctypes."""

    def __init__(self):
        import ctypes

        self.ctypes = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        machine = os.uname().machine
        self.pivot_root_nr, self.mount_setattr_nr, self.capset_nr = _SYSCALLS.get(machine, _SYSCALLS["x86_64"])

    def check(self, result, what):
        if result != 0:
            errno = self.ctypes.get_errno()
            raise OSError(errno, "%s: %s" % (what, os.strerror(errno)))

    def mount(self, source, target, fstype, flags, data=None):
        self.check(self.libc.mount(source.encode() if source else None, target.encode(),
                                   fstype.encode() if fstype else None, flags, data.encode() if data else None),
                   "mount %s on %s" % (source, target))

    def read_only(self, target, recursive=True):
        """Make the mount at ``target`` (and those below it) read-only, nosuid, nodev."""
        attr = (self.ctypes.c_uint64 * 4)(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
        if self.libc.syscall(self.mount_setattr_nr, AT_FDCWD, target.encode(), AT_RECURSIVE if recursive else 0,
                             attr, self.ctypes.sizeof(attr)) == 0:
            return
        if self.ctypes.get_errno() != ENOSYS:
            self.check(-1, "mount_setattr read-only %s" % target)
        # a kernel older than 5.12: the mount itself only (not the mounts below it)
        self.mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)

    def pivot_root_here(self):
        self.check(self.libc.syscall(self.pivot_root_nr, b".", b"."), "pivot_root")
        self.check(self.libc.umount2(b".", MNT_DETACH), "detach the old root")

    def prctl(self, option, arg2=0, arg3=0):
        self.check(self.libc.prctl(option, arg2, arg3, 0, 0), "prctl %d" % option)

    def drop_bounding_set(self):
        """Empty the bounding and ambient sets: no exec (of a uid-0 or file-capability program) can
        bring a capability back."""
        cap = 0
        while self.libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
            cap += 1
        self.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)

    def drop_capabilities(self):
        """No capability left in any set."""
        self.drop_bounding_set()
        header = (self.ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
        data = (self.ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: two words each, all zero
        self.check(self.libc.syscall(self.capset_nr, header, data), "capset")


def _mount_tmpfs(libc, target, size_bytes, mode, uid=None, gid=None):
    options = "size=%d,mode=%o" % (size_bytes, mode)
    if uid is not None:
        options += ",uid=%d,gid=%d" % (uid, gid)
    libc.mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)


def _under(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _enter_view(libc, job):
    """Build the candidate's root in a tmpfs over the host folder (the cwd), then pivot into it.

    ``job["view"]``: ``mounts`` in order, ``["bind", path]`` (a host folder or file shown read-only at
    the same path) or ``["hide", path]`` (an empty read-only folder over it), ``symlinks`` ((path,
    target), e.g. /bin -> usr/bin), ``devices`` (bound from the host's /dev),
    ``proc`` (mount a /proc for this PID namespace). Binds that land inside a private tmpfs (a
    Python installed under /tmp) get their first directory there bound read-only onto itself, so the
    candidate cannot move or shadow them. Files the parent placed in the host folder are copied
    into W."""
    view, workdir = job["view"], job["workdir"]
    host_folder = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        root = os.getcwd()
        _mount_tmpfs(libc, root, 1 << 20, 0o755)
        for path in PRIVATE_TMP_DIRS:
            os.makedirs(root + path, exist_ok=True)
            _mount_tmpfs(libc, root + path, int(job["tmp_bytes"]), 0o1777)
        os.makedirs(root + workdir, exist_ok=True)
        _mount_tmpfs(libc, root + workdir, int(job["workdir_bytes"]), 0o700, job.get("uid"), job.get("gid"))
        for name in os.listdir(host_folder):
            with open(root + workdir + "/" + name, "xb") as copy, \
                    open(os.open(name, os.O_RDONLY, dir_fd=host_folder), "rb") as original:
                copy.write(original.read())
        tops = set()
        for kind, path in view["mounts"]:
            target = root + path
            if kind == "hide":  # an empty, read-only folder over it
                _mount_tmpfs(libc, target, 4096, 0o555)
                libc.read_only(target, recursive=False)
                continue
            if os.path.isdir(path):
                os.makedirs(target, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "a").close()
            libc.mount(path, target, None, MS_BIND | MS_REC)
            libc.read_only(target)
            for private in (*PRIVATE_TMP_DIRS, workdir):
                if _under(path, private) and path != private:
                    tops.add(private.rstrip("/") + "/" + path[len(private):].strip("/").split("/")[0])
        for top in sorted(tops):
            libc.mount(root + top, root + top, None, MS_BIND | MS_REC)
            libc.read_only(root + top)
        for path, target in view["symlinks"]:
            if not os.path.lexists(root + path):
                os.makedirs(os.path.dirname(root + path), exist_ok=True)
                os.symlink(target, root + path)
        for device in view["devices"]:
            open(root + device, "a").close()
            libc.mount(device, root + device, None, MS_BIND)
        os.makedirs(root + "/proc", exist_ok=True)
        if view["proc"]:
            try:
                libc.mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
            except OSError:
                pass  # the host's /proc is partly masked (some containers): the candidate gets none
        libc.read_only(root, recursive=False)
        os.chdir(root)
        libc.pivot_root_here()
        os.chdir(workdir)
    finally:
        os.close(host_folder)


def _reach_import_path_through_fds():
    """Without a view, an unprivileged uid may not traverse the interpreter's folder (pyenv under
    /root): ``/proc/self/fd/N`` paths, opened before the uid drop, keep the import path reachable.
    Packages already imported get their ``__path__`` rewritten the same way."""
    moved = {}
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            moved[entry] = "/proc/self/fd/%d" % os.open(entry, os.O_RDONLY | os.O_DIRECTORY)

    def relocate(path):
        for old, new in moved.items():
            if path == old or path.startswith(old + os.sep):
                return new + path[len(old):]
        return path

    sys.path[:] = list(moved.values())
    for module in list(sys.modules.values()):
        package_path = getattr(module, "__path__", None)
        if isinstance(package_path, list):
            package_path[:] = [relocate(path) for path in package_path]
    sys.path_importer_cache.clear()


def _lock_down(libc, job):
    """Give up every privilege the candidate could use against the harness, the labeller or the host."""
    if job.get("uid") is not None:
        if job.get("view") is None:
            _reach_import_path_through_fds()
        libc.drop_bounding_set()
        os.setgroups([])
        os.setgid(job["gid"])
        os.setuid(job["uid"])  # clears the other capability sets
    elif job.get("userns"):
        libc.drop_capabilities()
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1)
    libc.prctl(PR_SET_DUMPABLE, 0)
    # a change of credentials clears the parent-death signal (unshare --kill-child): arm it again
    libc.prctl(PR_SET_PDEATHSIG, SIGKILL)


def _no_nested_user_namespaces():
    """In a user namespace: allow no namespace below it, which would hand the candidate a full set
    of capabilities again (over its own mounts, which stay locked: it could not reach the host's).
    Written through the host's /proc, before the view; where the kernel refuses, the sandbox goes on
    (a weaker mode would lose far more)."""
    try:
        with open("/proc/sys/user/max_user_namespaces", "w") as handle:
            handle.write("0")
    except OSError:
        pass


def _candidate_builtins():
    """What ``site`` adds for ``python3 sol.py`` (this interpreter runs with -S): exit, quit, help..."""
    import site

    site.setquit()
    site.setcopyright()
    site.sethelper()


def _set(limit, value, hard=None):
    try:
        resource.setrlimit(limit, (value, value if hard is None else hard))
    except (ValueError, OSError):
        pass


def _cpu_limit_s(cpu_s):
    """Whole CPU seconds of the rlimit (at least 1): the soft limit, where SIGXCPU arrives."""
    return max(1, int(cpu_s + 0.999))


def _print_exception(exc):
    """As the interpreter prints an uncaught exception (through ``sys.excepthook``), without the
    harness's own frame."""
    try:
        tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
    except BaseException:
        pass


def _finish(status):
    """End the test child as ``python3 sol.py`` ends: wait for non-daemon threads, run ``atexit``
    handlers, flush stdout and stderr; then exit with ``status`` (or a flush failure's)."""
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException as exc:
            _print_exception(exc)
    try:
        atexit._run_exitfuncs()
    except BaseException as exc:
        _print_exception(exc)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except MemoryError:
            status = MEMORY_ERROR_EXIT
        except BaseException:
            status = 1 if status in (0, CHECK_DONE_EXIT) else status
    os._exit(status)


def _child_run(code_obj, job, stdin_path, stdout_path, stderr_path):
    """In the forked test child: limits, redirections, run the candidate, never return.

    Function tests run the way LeetCodeDataset's evaluator (``eval_lcd/execution.py``) runs them:
    ``exec`` in a fresh namespace without ``__name__`` (so ``__name__`` is ``"builtins"`` and an
    ``if __name__ == "__main__":`` block does not run) with an unreadable stdin. Checkers get the
    open-r1/codeforces command line ``checker.py input correct_output solution_output``.
    """
    try:
        # SIGXCPU at the soft limit; SIGKILL a second later only as a backstop, so a CPU-bound
        # candidate reliably ends by SIGXCPU (a timeout) and not by a SIGKILL that looks like a crash
        cpu_limit = _cpu_limit_s(float(job["cpu_s"]))
        _set(resource.RLIMIT_CPU, cpu_limit, hard=cpu_limit + 1)
        _set(resource.RLIMIT_AS, int(job["memory_bytes"]))
        for fd in job.get("close_in_child", ()):
            os.close(fd)
        fd_in = os.open(stdin_path, os.O_RDONLY)
        fd_out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fd_err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd_in, 0)
        os.dup2(fd_out, 1)  # replaces the report socket: the candidate has no handle on it
        os.dup2(fd_err, 2)
        for fd in (fd_in, fd_out, fd_err):
            os.close(fd)
        sys.stdin = open(0, "r", closefd=False) if job["kind"] != "function" else open(os.devnull, "w")
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        if job["kind"] == "checker":
            sys.argv = ["checker.py", *CHECKER_FILES]
        namespace = {"__builtins__": __builtins__}
        if job["kind"] != "function":
            namespace["__name__"] = "__main__"
        status = 0
        try:
            exec(code_obj, namespace)
            if job["kind"] == "function":
                status = CHECK_DONE_EXIT
        except SystemExit as exc:
            status = 0 if exc.code in (None, 0) else 1
        except MemoryError:
            status = MEMORY_ERROR_EXIT
        except AssertionError as exc:
            _print_exception(exc)
            status = ASSERTION_EXIT if job["kind"] == "function" else 1
        except BaseException as exc:
            _print_exception(exc)
            status = 1
        _finish(status)
    except BaseException:
        os._exit(1)


def _wait(pid, wall_s):
    """Wait for the test child; kill it past ``wall_s``. Returns (wait status, CPU seconds, timed_out)."""
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], wall_s)
        if not ready:
            os.kill(pid, SIGKILL)
        _, status, usage = os.wait4(pid, 0)
        return status, usage.ru_utime + usage.ru_stime, not ready
    finally:
        os.close(pidfd)


def _status_of(wait_status, cpu_s, timed_out, cpu_limit_s):
    if timed_out:
        return "timeout"
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        if sig == SIGXCPU or (sig == SIGKILL and cpu_s >= _cpu_limit_s(cpu_limit_s) - 0.05):
            return "timeout"
        if sig == SIGXFSZ:
            return "output_limit"
        if sig in (SIGABRT, SIGBUS):
            return "memory_limit"  # what an address-space limit looks like to C code
        return "runtime_error"
    code = os.WEXITSTATUS(wait_status)
    if code in (0, CHECK_DONE_EXIT):
        return "ok"
    if code == MEMORY_ERROR_EXIT:
        return "memory_limit"
    if code == ASSERTION_EXIT:
        return "wrong_answer"
    return "runtime_error"


def _report(index, status, out=b"", error=""):
    error = error.encode("utf-8", errors="replace")
    frame = b"%d %s %d %d\n" % (index, status.encode(), len(out), len(error)) + out + error
    view = memoryview(frame)
    while view:
        view = view[os.write(REPORT_FD, view):]


def main():
    with open("job", "rb") as handle:
        job = marshal.load(handle)
    os.unlink("job")
    cases_handle = None
    if job["kind"] == "checker":
        cases_handle = open("cases.jsonl", "rb")
        os.unlink("cases.jsonl")
        job["close_in_child"] = [cases_handle.fileno()]
    sys.path[:] = job["sys_path"]
    try:
        libc = _Libc()
        if job.get("userns"):
            _no_nested_user_namespaces()
        if job.get("view") is not None:
            _enter_view(libc, job)
        _lock_down(libc, job)
        _candidate_builtins()
    except OSError as exc:
        _report(-1, "setup_error", error="%s: %s" % (type(exc).__name__, exc))
        return
    # the tmpfs a candidate may fill (checked after each test); harness-local, not from the parent
    job["bounded_dirs"] = ["."] + list(PRIVATE_TMP_DIRS) if job.get("view") is not None else []
    _set(resource.RLIMIT_NPROC, int(job["nproc"]))
    _set(resource.RLIMIT_FSIZE, int(job["output_bytes"]))
    _set(resource.RLIMIT_CORE, 0)
    _signal.signal(SIGXFSZ, _signal.SIG_DFL)

    if job["kind"] == "stdio":
        cases = ({"input": text} for text in job["inputs"])
    elif job["kind"] == "function":  # prelude, candidate and check in one module
        cases = [{"input": ""}]
    else:  # checker: one line per test, {"input", "expected", "output"}, opened before the uid drop
        cases = (_json_case(line) for line in cases_handle)
    try:
        source = job["code"]
        if job["kind"] == "function":
            source = "\n\n".join(part for part in (job.get("prelude") or "", job["code"], job["check"]))
        code_obj = compile(source, "checker.py" if job["kind"] == "checker" else "<candidate>", "exec")
    except (SyntaxError, ValueError, MemoryError) as exc:
        _report(0, "runtime_error", error="%s: %s" % (type(exc).__name__, exc))
        return
    for index, case in enumerate(cases):
        status, out, error = _run_test(code_obj, job, index, case)
        _report(index, status, out, error)
        if status != "ok":
            return


def _json_case(line):
    """A checker case line (written by the parent with json); json is imported only for checker jobs."""
    import json

    return json.loads(line)


def _write(name, text):
    """Create ``name`` afresh: whatever an earlier test left there (a symlink, a FIFO) is replaced."""
    if os.path.lexists(name):
        os.unlink(name)
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _read(name, limit):
    """At most ``limit`` bytes of ``name`` if it is a regular file (not a symlink, FIFO or device the
    candidate put there), else None."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read(limit)


def _filled(paths):
    """True when one of the private tmpfs (W first) has (almost) no room left."""
    for path in paths:
        stats = os.statvfs(path)
        if stats.f_bavail * stats.f_frsize < FULL_BELOW_BYTES:
            return True
    return False


def _run_test(code_obj, job, index, case):
    """Lay out one test's files in the working directory, run it in a forked child; returns
    (status, output bytes, error text).

    stdio: the input goes to stdin, or to the statement's ``input_file`` (stdin then empty); the
    output is read from stdout, or from the statement's ``output_file``. checker: the three files
    of ``CHECKER_FILES``; the first word of the checker's stdout is the score, 1 passes.
    """
    input_file, output_file = job.get("input_file"), job.get("output_file")
    if job["kind"] == "checker":
        for name, text in zip(CHECKER_FILES, (case["input"], case["expected"], case["output"])):
            _write(name, text)
        _write("stdin.txt", "")
    else:
        _write("stdin.txt", "" if input_file else case["input"])
        if input_file:
            _write(input_file, case["input"])
        if output_file and os.path.lexists(output_file):
            os.unlink(output_file)
    try:
        pid = os.fork()
    except OSError as exc:
        return "runtime_error", b"", "fork: %s" % exc
    if pid == 0:
        _child_run(code_obj, job, "stdin.txt", "stdout.txt", "stderr.txt")
    wait_status, cpu_s, timed_out = _wait(pid, float(job["wall_s"]))
    status = _status_of(wait_status, cpu_s, timed_out, float(job["cpu_s"]))
    if status in ("ok", "runtime_error", "wrong_answer") and _filled(job["bounded_dirs"]):
        status = "output_limit"
    if status == "ok" and job["kind"] == "stdio":
        out = _read(output_file or "stdout.txt", int(job["output_bytes"]) + 1)
        if out is None:
            return "wrong_answer", b"", ("no output file %r written" % output_file if output_file
                                         else "stdout is no longer a regular file")
        return "ok", out, ""
    if status == "ok" and job["kind"] == "function" and os.WEXITSTATUS(wait_status) != CHECK_DONE_EXIT:
        return "runtime_error", b"", ("the program ended before check() finished (sys.exit, exit(), os._exit...): "
                                      "LeetCodeDataset's evaluator counts it a failure")
    if status == "ok" and job["kind"] == "checker":
        out = _read("stdout.txt", 2000) or b""
        words = out.split()
        if not words or _score(words[0]) < 1:
            error = _read("stderr.txt", 500) or b""
            return "wrong_answer", out, "checker score %r; %s" % (out[:200].decode("utf-8", "replace"),
                                                                 error.decode("utf-8", "replace"))
        return "ok", out, ""
    if status in ("runtime_error", "wrong_answer"):
        return status, b"", (_read("stderr.txt", 2000) or b"").decode("utf-8", "replace")
    return status, b"", ""


def _score(word):
    try:
        return float(word)
    except ValueError:
        return -1.0


if __name__ == "__main__":
    main()
