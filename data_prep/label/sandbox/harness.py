"""The in-sandbox test runner: started as ``python -I harness.py`` in a fresh interpreter.

It is a standalone script (standard library only, never imported by the package). The parent
(``data_prep.label.sandbox.run``) starts it in the candidate's private working directory W with a scrubbed
environment, inside fresh network/PID/mount namespaces when the OS allows it. The harness

1. reads ``job.json`` (the candidate's code, the test inputs or the function-test code, the limits)
   and deletes it (a checker job also opens its ``cases.jsonl``);
2. in a private mount namespace, mounts size-bounded tmpfs over /tmp, /var/tmp, /dev/shm and over the
   working directory W (the host folder it was started in; any other file the parent placed there is
   copied in), and works in W from then on; when started as real root, drops to the unprivileged
   uid/gid chosen by the parent, so the candidate cannot write outside these or signal the labeller;
3. sets the resource limits (processes, file size, no core files);
4. for each test writes the test's files into W (``stdin.txt``, or the statement's input file such
   as ``input.txt``), forks a child that sets the CPU and address-space limits, connects
   stdin/stdout to files, runs the code and exits; the harness waits for it with a wall-clock limit
   and reads the output back (stdout, or the statement's output file such as ``output.txt``);
5. writes one JSON line per test to its stdout: ``{"test": i, "status": ..., "out": ...}`` and stops
   at the first test whose program did not finish normally. Expected outputs never enter a
   candidate's sandbox: the parent compares, or hands the outputs to a checker job, a sandbox of
   its own. A sandbox that cannot be set up reports ``{"setup_error": ...}`` instead.

Job kinds: ``stdio`` (a program run as ``__main__``), ``function`` (prelude + candidate + check in
one module, as LeetCodeDataset's evaluator runs it: it passes only by running to its end, so a
program that exits before check() finishes fails), ``checker`` (open-r1's generated checker, run
on each ``{"input", "expected", "output"}`` line of ``cases.jsonl``).

Statuses: ``ok``, ``wrong_answer`` (a failed assertion of a function test, a missing output file,
a checker score below 1), ``runtime_error``, ``timeout``, ``memory_limit``, ``output_limit`` (also: a
test after which W or a private tmpfs is full).
"""

import json
import os
import resource
import select
import signal
import stat
import sys
import traceback

MEMORY_ERROR_EXIT = 97  # the test child's exit code when the candidate raised MemoryError
ASSERTION_EXIT = 98  # ... when a function test's assertion failed (a wrong answer)
CHECK_DONE_EXIT = 96  # ... when a function test's program ran to its end (check() finished): the only pass
CHECKER_FILES = ("input.txt", "correct_output.txt", "solution_output.txt")  # open-r1's checker arguments
PRIVATE_TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
FULL_BELOW_BYTES = 64 << 10  # a tmpfs with less free space than this was filled by the candidate
MS_NOSUID, MS_NODEV = 2, 4
PR_SET_PDEATHSIG = 1


def _libc():
    import ctypes

    return ctypes, ctypes.CDLL(None, use_errno=True)


def _mount_tmpfs(target, size_bytes, mode, uid=None, gid=None):
    ctypes, libc = _libc()
    options = "size=%d,mode=%o" % (size_bytes, mode)
    if uid is not None:
        options += ",uid=%d,gid=%d" % (uid, gid)
    if libc.mount(b"tmpfs", target.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options.encode()) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "mount tmpfs on %s: %s" % (target, os.strerror(errno)))


def _private_mounts(job):
    """Size-bounded tmpfs over the world-writable directories and over W; cwd becomes the new W.

    Only inside a private mount namespace (the mounts vanish with it). Files the parent placed in the
    host folder (next to job.json) are copied into the new W."""
    host_folder = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for path in PRIVATE_TMP_DIRS:
            if os.path.isdir(path):
                _mount_tmpfs(path, int(job["tmp_bytes"]), 0o1777)
        workdir = job["workdir"]
        os.makedirs(workdir, exist_ok=True)  # W's host path may lie under the new /tmp
        _mount_tmpfs(workdir, int(job["workdir_bytes"]), 0o700, job.get("uid"), job.get("gid"))
        os.chdir(workdir)
        for name in os.listdir(host_folder):
            with open(name, "xb") as copy, open(os.open(name, os.O_RDONLY, dir_fd=host_folder), "rb") as original:
                copy.write(original.read())
    finally:
        os.close(host_folder)


def _filled(paths):
    """True when one of the private tmpfs (W first) has (almost) no room left."""
    for path in paths:
        stats = os.statvfs(path)
        if stats.f_bavail * stats.f_frsize < FULL_BELOW_BYTES:
            return True
    return False


def _keep_import_paths():
    """Reach the import path through directory descriptors opened before dropping privileges.

    The interpreter may live under a directory an unprivileged uid cannot traverse (e.g. pyenv under
    /root); ``/proc/self/fd/N`` paths keep the standard library importable after the drop. Packages
    already imported (``collections``, ``encodings``...) get their ``__path__`` rewritten the same way.
    """
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


def _drop_privileges(uid, gid):
    _keep_import_paths()
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    # the uid change cleared the parent-death signal (unshare --kill-child): arm it again
    _libc()[1].prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _set(limit, value, hard=None):
    try:
        resource.setrlimit(limit, (value, value if hard is None else hard))
    except (ValueError, OSError):
        pass


def _cpu_limit_s(cpu_s):
    """Whole CPU seconds of the rlimit (at least 1): the soft limit, where SIGXCPU arrives."""
    return max(1, int(cpu_s + 0.999))


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
        fd_in = os.open(stdin_path, os.O_RDONLY)
        fd_out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fd_err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd_in, 0)
        os.dup2(fd_out, 1)
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
        except AssertionError:
            traceback.print_exc()
            status = ASSERTION_EXIT if job["kind"] == "function" else 1
        except BaseException:
            traceback.print_exc()
            status = 1
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except MemoryError:
                status = MEMORY_ERROR_EXIT
            except BaseException:
                status = status or 1
        os._exit(status)
    except BaseException:
        os._exit(1)


def _wait(pid, wall_s):
    """Wait for the test child; kill it past ``wall_s``. Returns (wait status, CPU seconds, timed_out)."""
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], wall_s)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
        return status, usage.ru_utime + usage.ru_stime, not ready
    finally:
        os.close(pidfd)


def _status_of(wait_status, cpu_s, timed_out, cpu_limit_s):
    if timed_out:
        return "timeout"
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_s >= _cpu_limit_s(cpu_limit_s) - 0.05):
            return "timeout"
        if sig == signal.SIGXFSZ:
            return "output_limit"
        if sig in (signal.SIGABRT, signal.SIGBUS):
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


def _report(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main():
    with open("job.json", encoding="utf-8") as handle:
        job = json.load(handle)
    os.unlink("job.json")
    cases_handle = None
    if job["kind"] == "checker":
        cases_handle = open("cases.jsonl", encoding="utf-8")
        os.unlink("cases.jsonl")
    try:
        if job.get("private_mounts"):
            _private_mounts(job)
        if job.get("uid") is not None:
            _drop_privileges(job["uid"], job["gid"])
    except OSError as exc:
        _report({"setup_error": "%s: %s" % (type(exc).__name__, exc)})
        return
    # the tmpfs a candidate may fill (checked after each test); harness-local, not from the parent
    job["bounded_dirs"] = ["."] + [p for p in PRIVATE_TMP_DIRS if os.path.isdir(p)] if job.get("private_mounts") else []
    _set(resource.RLIMIT_NPROC, int(job["nproc"]))
    _set(resource.RLIMIT_FSIZE, int(job["output_bytes"]))
    _set(resource.RLIMIT_CORE, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)

    if job["kind"] == "stdio":
        cases = ({"input": text} for text in job["inputs"])
    elif job["kind"] == "function":  # prelude, candidate and check in one module
        cases = [{"input": ""}]
    else:  # checker: one line per test, {"input", "expected", "output"}, opened before the uid drop
        cases = (json.loads(line) for line in cases_handle)
    try:
        source = job["code"]
        if job["kind"] == "function":
            source = "\n\n".join(part for part in (job.get("prelude") or "", job["code"], job["check"]))
        code_obj = compile(source, "checker.py" if job["kind"] == "checker" else "<candidate>", "exec")
    except (SyntaxError, ValueError, MemoryError) as exc:
        _report({"test": 0, "status": "runtime_error", "out": "", "error": f"{type(exc).__name__}: {exc}"})
        return
    for index, case in enumerate(cases):
        message = _run_test(code_obj, job, index, case)
        _report(message)
        if message["status"] != "ok":
            return


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
        return handle.read(limit).decode("utf-8", errors="replace")


def _run_test(code_obj, job, index, case):
    """Lay out one test's files in the working directory, run it in a forked child, report it.

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
        return {"test": index, "status": "runtime_error", "out": "", "error": f"fork: {exc}"}
    if pid == 0:
        _child_run(code_obj, job, "stdin.txt", "stdout.txt", "stderr.txt")
    wait_status, cpu_s, timed_out = _wait(pid, float(job["wall_s"]))
    status = _status_of(wait_status, cpu_s, timed_out, float(job["cpu_s"]))
    if status in ("ok", "runtime_error", "wrong_answer") and _filled(job["bounded_dirs"]):
        status = "output_limit"
    message = {"test": index, "status": status, "out": ""}
    if status == "ok" and job["kind"] == "stdio":
        out = _read(output_file or "stdout.txt", int(job["output_bytes"]) + 1)
        if out is None:
            message.update(status="wrong_answer", error=f"no output file {output_file!r} written" if output_file
                           else "stdout is no longer a regular file")
        else:
            message["out"] = out
    elif status == "ok" and job["kind"] == "function" and os.WEXITSTATUS(wait_status) != CHECK_DONE_EXIT:
        message.update(status="runtime_error", error="the program ended before check() finished (sys.exit, exit(), "
                                                     "os._exit...): LeetCodeDataset's evaluator counts it a failure")
    elif status == "ok" and job["kind"] == "checker":
        message["out"] = _read("stdout.txt", 2000) or ""
        words = message["out"].split()
        if not words or _score(words[0]) < 1:
            message.update(status="wrong_answer",
                           error=f"checker score {message['out'][:200]!r}; {_read('stderr.txt', 500) or ''}")
    elif status in ("runtime_error", "wrong_answer"):
        message["error"] = _read("stderr.txt", 2000) or ""
    return message


def _score(word):
    try:
        return float(word)
    except ValueError:
        return -1.0


if __name__ == "__main__":
    main()
