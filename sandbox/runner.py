"""The in-container runner: PID 1 of every sandbox container. Runs nowhere else.

It reads one JSON job per line on stdin and answers one JSON result per line on stdout. Each candidate runs in a
child forked from this warm interpreter, so a candidate costs a fork, not an interpreter start; pytest and
hypothesis are imported here once, the first time a job uses them. Isolation between candidates that share the
container:

- the child gets its own session (process group), its own fresh work dir, rlimits, and is killed at its timeout;
- after each job every other process in the container is killed (a daemon that left its group dies too), every
  writable directory is emptied and System V IPC objects are removed, so the next candidate sees nothing of the
  last one (a runner that cannot empty them exits, and the host replaces the container);
- this process is PID 1 of its PID namespace and ignores SIGINT, so a candidate cannot kill it, and it is not
  dumpable, so a candidate running as the same user cannot ptrace it or open its /proc files;
- the child wipes its copy of the runner's input buffer, which holds the jobs queued behind it.

Known limit: the child is a copy of this process, so freed memory that once held earlier jobs is in it too; a
candidate that scans raw memory could find fragments of them. Tests also run in the candidate's own process.

Test protocol: the job's ``program`` is written to ``solution.py`` and its ``tests`` to ``test_solution.py``; every
top-level ``test_*`` function of the tests is called in order. An AssertionError fails a test; any other exception
is an error. The runner must stay compatible with the image's Python (3.11) and use only the standard library.
"""

import contextlib
import ctypes
import importlib
import json
import os
import re
import resource
import select
import shutil
import signal
import sys
import time
import traceback
import types

WRITABLE_DIRS = ("/work", "/tmp", "/dev/shm", "/dev/mqueue")
CHILD_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/work", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
RESULT_CAP = 1 << 20
PR_SET_DUMPABLE = 4

HEAVY_MODULES = re.compile(r"\b(pytest|hypothesis)\b")


def preload(job):
    """Import pytest or hypothesis here, once, when a job's code mentions them: every later child inherits them.
    Not at start-up: a lean parent forks three times faster, and most tests need neither."""
    for name in set(HEAVY_MODULES.findall(job["tests"] + "\n" + job["program"])):
        if name not in sys.modules:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)


class JobReader:
    """Job lines from stdin, read raw into one buffer that a forked candidate wipes in its own copy: the jobs
    queued behind it are not the candidate's to read."""

    def __init__(self):
        self.buffer = bytearray()

    def __iter__(self):
        while True:
            while b"\n" not in self.buffer:
                chunk = os.read(0, 1 << 20)
                if not chunk:
                    return
                self.buffer += chunk
                del chunk  # no copy of queued jobs may outlive the buffer the child wipes
            end = self.buffer.index(b"\n") + 1
            line = bytes(self.buffer[:end])
            self.buffer[:end] = b""
            yield line

    def wipe(self):
        self.buffer[:] = bytes(len(self.buffer))


READER = JobReader()


def main():
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # PID 1 keeps Python's handler otherwise: kill -INT 1 would work
    sys.stdin = sys.__stdin__ = None
    for seq, line in enumerate(READER):
        job = json.loads(line)
        reply = {"id": job.get("id"), "pong": True} if job.get("op") == "ping" else run_job(job, f"/work/j{seq}")
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def run_job(job, workdir):
    preload(job)
    cap = int(job.get("output_cap", 65536))
    timeout = float(job["timeout"])
    os.mkdir(workdir, 0o700)
    for name, text in (("solution.py", job["program"]), ("test_solution.py", job["tests"])):
        with open(os.path.join(workdir, name), "w") as f:
            f.write(text)
    pipes = [os.pipe() for _ in range(3)]  # stdout, stderr, result
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            child(job, workdir, [w for _, w in pipes])
        finally:
            os._exit(70)
    for _, w in pipes:
        os.close(w)
    streams, timed_out, status = collect(pid, [r for r, _ in pipes], start + timeout, cap)
    duration = time.monotonic() - start
    wipe()
    out, err, res = streams
    reply = {"id": job.get("id"), "duration": round(duration, 4)}
    reply["stdout"], reply["stdout_truncated"] = out.text(), out.truncated
    reply["stderr"], reply["stderr_truncated"] = err.text(), err.truncated
    if timed_out:
        reply.update(verdict="TIMEOUT", detail=f"killed after {timeout:g}s wall clock")
        return reply
    reply.update(child_result(res.text()) or {"verdict": "ERROR", "detail": describe_exit(status)})
    return reply


def child_result(text):
    """The child's report, if it is one a test run can give (the candidate shares the child: it could write any)."""
    try:
        result = json.loads(text)
    except ValueError:
        return None
    ok = (
        isinstance(result, dict)
        and result.get("verdict") in ("PASS", "FAIL", "ERROR")
        and all(type(result.get(k)) is int and result[k] >= 0 for k in ("passed", "total"))
    )
    return {k: result[k] for k in ("verdict", "passed", "total", "detail") if k in result} if ok else None


class Capped:
    """Keeps the first ``cap`` bytes of a stream and counts the rest."""

    def __init__(self, cap):
        self.cap, self.data, self.size = cap, bytearray(), 0

    def add(self, chunk):
        self.size += len(chunk)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    @property
    def truncated(self):
        return self.size > len(self.data)

    def text(self):
        return self.data.decode("utf-8", "replace")


def collect(pid, fds, deadline, cap):
    """Read the child's pipes until it exits or the deadline passes; return (streams, timed_out, wait status).

    Every other process in the container is dead when this returns.
    """
    streams = [Capped(cap), Capped(cap), Capped(RESULT_CAP)]
    open_fds = dict(zip(fds, streams, strict=False))
    try:
        exit_fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        exit_fd = None  # no pidfd: poll
    status, timed_out = None, False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            kill_group(pid)
            status = os.waitpid(pid, 0)[1]
            break
        watch = list(open_fds) + ([exit_fd] if exit_fd is not None else [])
        ready, _, _ = select.select(watch, [], [], left if exit_fd is not None else min(left, 0.01))
        for fd in ready:
            if fd in open_fds and not read_into(fd, open_fds):
                del open_fds[fd]
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    kill_everything()
    # Writers are dead now: what is left in the pipes is finite.
    for fd in list(open_fds):
        while read_into(fd, open_fds):
            pass
    for fd in fds + ([exit_fd] if exit_fd is not None else []):
        os.close(fd)
    return streams, timed_out, status


def read_into(fd, open_fds):
    chunk = os.read(fd, 1 << 16)
    if chunk:
        open_fds[fd].add(chunk)
    return bool(chunk)


def kill_group(pid):
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def kill_everything():
    """SIGKILL every process in the container but this one, until none is left (fork bombs included)."""
    me = os.getpid()
    for _ in range(1000):
        alive = False
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) != me:
                try:
                    os.kill(int(name), signal.SIGKILL)
                    alive = True
                except OSError:
                    pass
        reap()
        if not alive:
            return
    sys.exit("runner: could not clear the container")  # the host replaces a container whose runner exits


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def wipe():
    """Empty every writable place; a runner that cannot exits, and the host replaces its container."""
    for top in WRITABLE_DIRS:
        try:
            names = os.listdir(top)
        except OSError:
            continue
        for name in names:
            path = os.path.join(top, name)
            if os.path.isdir(path) and not os.path.islink(path):
                _unlock(path)
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        with contextlib.suppress(OSError):
            if os.listdir(top):
                sys.exit(f"runner: could not empty {top}")
    remove_ipc_objects()


def _unlock(top):
    """Give back the permission bits a candidate may have taken off its own directories, so they can be removed."""
    with contextlib.suppress(OSError):
        os.chmod(top, 0o700)
    for root, dirs, _ in os.walk(top):
        for name in dirs:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o700)


IPC_RMID = 0


def remove_ipc_objects():
    """System V shared memory, semaphores and message queues outlive their process: remove what is left."""
    libc = ctypes.CDLL(None, use_errno=True)
    for kind, remove in (("shm", libc.shmctl), ("sem", libc.semctl), ("msg", libc.msgctl)):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                ids = [int(line.split()[1]) for line in f.readlines()[1:] if line.strip()]
        except (OSError, ValueError, IndexError):
            continue
        for ipc_id in ids:
            if kind == "sem":
                remove(ipc_id, 0, IPC_RMID, None)
            else:
                remove(ipc_id, IPC_RMID, None)


def describe_exit(status):
    if status is None:
        return "no exit status"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        hint = " (memory limit?)" if sig == signal.SIGKILL else ""
        return f"killed by signal {signal.Signals(sig).name}{hint} before reporting"
    return f"exited with status {os.WEXITSTATUS(status)} before reporting"


def child(job, workdir, write_fds):
    out_w, err_w, res_w = write_fds
    READER.wipe()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.setsid()
    with contextlib.suppress(OSError):  # the OOM killer takes a candidate, never the runner
        adj = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        os.write(adj, b"1000")
        os.close(adj)
    limits = job.get("rlimits", {})
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    res = os.dup2(res_w, 3, inheritable=False)
    os.closerange(4, 1 << 16)
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(CHILD_ENV)
    # stdout and stderr (unbuffered: the runner runs with -u) already write to fds 1 and 2, now the pipes.
    sys.stdin = sys.__stdin__ = open(0)  # noqa: SIM115 - /dev/null, for as long as the child lives
    sys.path.insert(0, workdir)
    sys.dont_write_bytecode = True
    result = run_tests(bool(job.get("fail_fast", False)))
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(res, json.dumps(result).encode())
    os._exit(0)


def load(name, workdir):
    """Import ``workdir/name.py`` without the import system's path search (a millisecond per candidate)."""
    path = os.path.join(workdir, name + ".py")
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    with open(path) as f:
        code = compile(f.read(), path, "exec", dont_inherit=True)
    exec(code, module.__dict__)  # noqa: S102 - this is the sandboxed child, the one place candidate code runs
    return module


def run_tests(fail_fast):
    try:
        load("solution", os.getcwd())
        module = load("test_solution", os.getcwd())
    except BaseException as e:  # noqa: BLE001 - any failure to load is the candidate's error
        return {"verdict": "ERROR", "passed": 0, "total": 0, "detail": short_trace(e)}
    # Only the tests' own test_* functions: `from solution import *` also brings in any the candidate wrote.
    tests = [
        (n, f)
        for n, f in vars(module).items()
        if n.startswith("test_") and callable(f) and getattr(f, "__module__", None) == module.__name__
    ]
    passed, failures, errors = 0, [], []
    for name, test in tests:
        try:
            test()
        except AssertionError as e:
            failures.append(f"{name}: {short_trace(e)}")
        except BaseException as e:  # noqa: BLE001 - SystemExit and friends from a candidate are its errors
            errors.append(f"{name}: {short_trace(e)}")
        else:
            passed += 1
            continue
        if fail_fast:
            break
    verdict = "PASS" if passed == len(tests) and tests else "FAIL" if failures else "ERROR"
    detail = "\n".join(failures + errors) if tests else "no test_* functions in the tests"
    return {"verdict": verdict, "passed": passed, "total": len(tests), "detail": detail[:8192]}


def short_trace(exc):
    """The traceback without the runner's own frames: what a model needs to see to repair its code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__][-4:]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    return "".join(lines).strip()[-4000:]


if __name__ == "__main__":
    main()
