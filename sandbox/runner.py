"""The in-container runner: PID 1 of every sandbox container. Runs nowhere else.

It reads one JSON job per line on stdin and answers one JSON result per line on stdout, the jobs of a chunk (ended
by a ``flush`` line) in one write. Each candidate runs in a child forked from this warm interpreter, so a candidate
costs a fork, not an interpreter start. What every candidate would otherwise repeat is done here once, before the
fork: pytest, hypothesis and the standard modules generated code imports most are imported the first time a job
imports them, the tests of a run of jobs that share them are compiled once, and each program is compiled (compiling
runs no code; a program that does not compile needs no child). Isolation between candidates that share the container:

- the child gets its own session (process group), its own fresh work dir (checked private and empty, and its
  HOME), rlimits, an environment in which no planted hook runs (breakpoint() is off), and is killed at its timeout;
- after each job every other process in the container is killed (a daemon that left its group dies too), every
  writable directory is emptied (its mode restored first) and System V IPC objects are removed, so the next
  candidate sees nothing of the last one (a runner that cannot list or empty one exits, and the host replaces the
  container);
- this process is PID 1 of its PID namespace and ignores SIGINT, so a candidate cannot kill it, and it is not
  dumpable, so a candidate running as the same user cannot ptrace it or open its /proc files;
- the child wipes its copies of the runner's input buffer, which holds the jobs queued behind it, and of its
  output buffer, which holds the replies to the jobs before it in the batch; no frame it can walk to holds another
  job's data, and compiled tests are kept for the last task only, so a child holds no other task's tests.

A job marked ``split`` is judged where no candidate code runs: its tests run in a child of this process that
calls the candidate's functions in another process, forked from a zygote started before the first job
(``Zygote``, ``split.py``). The tests' process is kept for the next job with the same tests (``TestsServer``: a
task's candidates come in a row), so that a split candidate costs one fork. The zygote, and the tests' process
between two jobs of its task, are the processes the wipe spares; neither ever runs candidate code.

Known limit: a child is a copy of this process (or the zygote), so freed memory that once held earlier jobs is in
it too; a candidate that scans raw memory could find fragments of them. Unsplit, the tests run in the candidate's
own process.

Test protocol: the job's ``program`` is written to ``solution.py`` and its ``tests`` to ``test_solution.py``; every
top-level ``test_*`` function of the tests is called in order. An AssertionError fails a test; any other exception
is an error. The runner must stay compatible with the image's Python (3.11) and use only the standard library.
"""

import _signal
import contextlib
import ctypes
import gc
import importlib
import json
import linecache
import marshal
import os
import re
import resource
import select
import shutil
import signal
import socket
import stat
import struct
import sys
import time
import types
import warnings

if __package__:  # imported on the host, as sandbox.runner
    from sandbox import split
else:  # PID 1 of a container, run with -I, which leaves the script's own (read-only) dir off sys.path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import split

WRITABLE_DIRS = ("/work", "/tmp", "/dev/shm", "/dev/mqueue")
WORKDIR = "/work/job"  # every job's, emptied in between: compiled tests name the right file
# HOME is the job's own fresh dir, and no hook a candidate could plant runs: breakpoint() does nothing (a planted
# .pdbrc forged a verdict; the child turns it off itself, as -I ignores this variable), and a Python a candidate
# starts reads no user site-packages and no script dir.
CHILD_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": WORKDIR, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
             "PYTHONBREAKPOINT": "0", "PYTHONNOUSERSITE": "1", "PYTHONSAFEPATH": "1"}  # fmt: skip
RESULT_CAP = 1 << 20
PRECOMPILE_MAX = 1 << 16  # bytes of source; larger texts compile in the child, under its rlimits
PR_SET_DUMPABLE = 4

# Modules the runner imports once, the first time a job's code imports them, so that every later child inherits
# them: a child that imports typing itself spends about 5 ms on it, ten times its fork. Only modules whose
# import does nothing outside themselves (random reseeds itself in each child). Not at start-up: a lean parent forks
# faster (three times, without pytest and hypothesis), and most jobs need few of these.
PRELOADABLE = frozenset({
    "pytest", "hypothesis", "typing", "collections", "itertools", "functools", "math", "cmath", "re", "string",
    "heapq", "bisect", "statistics", "fractions", "decimal", "numbers", "datetime", "operator", "copy",
    "dataclasses", "enum", "json", "hashlib", "textwrap", "unicodedata", "array", "random",
})  # fmt: skip
IMPORTED = re.compile(r"^[ \t]*(?:from|import)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def preload(names):
    for name in names - sys.modules.keys():
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def preloadable(text):
    return set(IMPORTED.findall(text)) & PRELOADABLE


def wipe_bytes(buffer):
    """Zero a buffer in place (a forked child's copy of what it must not read)."""
    if buffer:
        ctypes.memset((ctypes.c_char * len(buffer)).from_buffer(buffer), 0, len(buffer))


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

    def has_line(self):
        return b"\n" in self.buffer


class Outbox:
    """Replies held back to be sent with the rest of their batch in one write, in one buffer that a forked
    candidate wipes in its own copy: earlier candidates' output and failures are not the next one's to read."""

    def __init__(self):
        self.buffer = bytearray()

    def add(self, reply):
        self.buffer += reply

    def send(self):
        write_all(self.buffer)
        self.buffer.clear()


READER, OUTBOX = JobReader(), Outbox()
LIBC = ctypes.CDLL(None, use_errno=True)


def main():
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    os.environ.clear()  # once, here: every child inherits exactly this environment
    os.environ.update(CHILD_ENV)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # PID 1 keeps Python's handler otherwise: kill -INT 1 would work
    sys.stdin = sys.__stdin__ = None
    for top in WRITABLE_DIRS:
        with contextlib.suppress(OSError):
            os.listdir(top)
            TOP_MODES[top] = stat.S_IMODE(os.lstat(top).st_mode)
    ZYGOTE.start()  # before the first job: it must never hold one
    for line in READER:
        reply = answer(line)
        if reply is not None:
            OUTBOX.add(reply)
        if reply is None or not READER.has_line():  # the end of a chunk, or of what has come: answer in one write
            OUTBOX.send()


def answer(line):
    """The reply to one job line, encoded; None to the line that ends a chunk of jobs (``flush``), which asks for
    the replies held. Nothing of it stays in a frame a later job's child could walk to."""
    job = json.loads(line)
    if job.get("op") == "flush":
        return None
    reply = {"id": job.get("id"), "pong": True} if job.get("op") == "ping" else run_job(job)
    return json.dumps(reply).encode() + b"\n"


def precompile(text, name):
    """(code, None) for ``text`` compiled here, before the fork: compiling in a forked child costs about 0.6 ms of
    copied pages, here a tenth of that, and compiling runs none of the code. (None, error) for text that is not
    Python: the SyntaxError the child would report, so no child is needed. (None, None) for text best left to the
    child: a compile warning would print here rather than in the child's stderr; other errors it reports itself."""
    if len(text) > PRECOMPILE_MAX:
        return None, None
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            code = compile(text, os.path.join(WORKDIR, name + ".py"), "exec", dont_inherit=True)
        except SyntaxError as e:
            return None, (None if warned else e)
        except Exception:  # noqa: BLE001 - whatever it is, the child meets it again and reports it
            return None, None
    return (None, None) if warned else (code, None)


class LastTests:
    """The last job's tests, compiled once, and the modules they import: a task's candidates come in a row and
    share them. Only one is kept, so a child holds no other job's tests."""

    def __init__(self):
        self.text, self.code, self.imports = None, None, set()

    def get(self, text):
        if text != self.text:
            self.text, self.code, self.imports = text, precompile(text, "test_solution")[0], preloadable(text)
        return self.code


LAST_TESTS = LastTests()


def write_all(data):
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


def run_job(job):
    program, not_python = precompile(job["program"], "solution")
    if not_python:
        return {"id": job.get("id"), "duration": 0.0, "stdout": "", "stderr": "", **load_error(not_python)}
    sources = {"solution": program or job["program"], "test_solution": LAST_TESTS.get(job["tests"]) or job["tests"]}
    program_imports = preloadable(job["program"])
    preload(LAST_TESTS.imports | program_imports)
    cap = int(job.get("output_cap", 65536))
    timeout = float(job["timeout"])
    isolated = bool(job.get("split"))
    os.mkdir(WORKDIR, 0o700)
    check_fresh(WORKDIR)
    files = {"solution.py": job["program"]}
    if not isolated:  # split, the tests never touch a disk the candidate can read
        files["test_solution.py"] = job["tests"]
    for name, text in files.items():
        with open(os.path.join(WORKDIR, name), "w") as f:  # for tracebacks, and for tests that read them
            f.write(text)
    pipes = [os.pipe() for _ in range(3)]  # stdout, stderr, result
    gc.freeze()  # a collection in the child would touch, and so copy, every page of this parent's heap
    start = time.monotonic()
    write_fds = [w for _, w in pipes]
    if isolated:
        TESTS.keep_for(job)
        tests_end, candidate_end = socket.socketpair()
        ZYGOTE.spawn(sources["solution"], program_imports, job.get("rlimits", {}), candidate_end, pipes[1][1])
        candidate_end.close()
        pid = TESTS.run(job, sources["test_solution"], write_fds, tests_end)
        tests_end.close()
        ZYGOTE.spawned()
    else:
        TESTS.stop()  # it holds one task's tests: no other task's child may share the container with it
        pid = os.fork()
        if pid == 0:
            try:
                child(job, sources, write_fds)
            finally:
                os._exit(70)
    for w in write_fds:
        os.close(w)
    streams, timed_out, status = collect(pid, [r for r, _ in pipes], start + timeout, cap, TESTS.line(pid))
    duration = time.monotonic() - start
    wipe()
    out, err, res = streams
    reply = {"id": job.get("id"), "duration": round(duration, 4), "judged": "split" if isolated else "shared"}
    reply["stdout"], reply["stdout_truncated"] = out.text(), out.truncated
    reply["stderr"], reply["stderr_truncated"] = err.text(), err.truncated
    if timed_out:
        reply.update(verdict="TIMEOUT", detail=f"killed after {timeout:g}s wall clock")
        return reply
    result = child_result(res.text()) or {"verdict": "ERROR", "detail": describe_exit(status)}
    if isolated and result.pop("needs_shared", False):  # said by the tests' process alone: run it shared
        return run_job({**job, "split": False})
    reply.update(result)
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
    keys = ("verdict", "passed", "total", "detail", "needs_shared")
    return {k: result[k] for k in keys if k in result} if ok else None


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


def collect(pid, fds, deadline, cap, done=None):
    """Read the child's pipes until it exits, or the tests' server says on ``done`` that the job is done, or the
    deadline passes; return (streams, timed_out, wait status: None from a server that is done).

    Every other process in the container is dead when this returns (but the zygote, and a server that is done).
    """
    streams = [Capped(cap), Capped(cap), Capped(RESULT_CAP)]
    open_fds = dict(zip(fds, streams, strict=False))
    pidfd = None
    if done is None:
        with contextlib.suppress(AttributeError, OSError):  # no pidfd: poll
            pidfd = os.pidfd_open(pid)
    exit_fd = done.fileno() if done is not None else pidfd
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
        if done is None:
            exited, status = os.waitpid(pid, os.WNOHANG)
            if exited:
                break
        elif exit_fd in ready:
            if done.recv(1):
                break  # the server closed its ends of the job's pipes, and waits for the next job
            kill_group(pid)  # the line closed: it is dying
            status = os.waitpid(pid, 0)[1]
            break
    if status is not None:
        TESTS.forget(pid)  # reaped: its pid may be anyone's now, and must not be spared
    kill_everything()
    # Writers are dead now (or, the server's, closed): what is left in the pipes is finite.
    for fd in list(open_fds):
        while read_into(fd, open_fds):
            pass
    for fd in fds + ([pidfd] if pidfd is not None else []):
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
    """SIGKILL every process in the container but this one, the zygote and the tests' server, and reap them (fork
    bombs included). Orphans become ours (PID 1 of the container's PID namespace); the zygote reaps its own
    children."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        others = [pid for pid in processes() if pid not in (os.getpid(), ZYGOTE.pid, TESTS.pid)]
        if not others:
            return
        exits = []
        for pid in others:
            with contextlib.suppress(OSError):
                exits.append(os.pidfd_open(pid))
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        # Woken as each exits (a split job's candidate is usually still there when its tests are done, and
        # takes tens of microseconds to die); without pidfds, a short sleep.
        for fd in exits:
            select.select([fd], [], [], 0.01)
            os.close(fd)
        with contextlib.suppress(ChildProcessError):
            while reaped := os.waitpid(-1, os.WNOHANG)[0]:
                if reaped == ZYGOTE.pid:  # a candidate killed it: its pid is spared no more (it could be reused)
                    ZYGOTE.pid = 0
                if reaped == TESTS.pid:
                    TESTS.forget(reaped)
        if not exits:
            time.sleep(0.0002)  # those left are dying, or not ours yet: their parents are still dying
    sys.exit("runner: could not clear the container")  # the host replaces a container whose runner exits


def processes():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


TOP_MODES = {}
"""Each writable dir's mode at start (those the runner can list): a candidate may change the mode of one it owns."""


def check_fresh(path):
    """A job's dir (its work dir and HOME) is the runner's own, private and empty, or the runner exits."""
    st = os.lstat(path)
    private = stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) == 0o700
    if not private or os.listdir(path):
        sys.exit(f"runner: {path} is not a fresh private dir")


def wipe():
    """Empty every writable place; a runner that cannot (not even list one) exits, and the host replaces its
    container: nothing of one job may reach the next."""
    for top, mode in TOP_MODES.items():
        try:
            if stat.S_IMODE(os.lstat(top).st_mode) != mode:  # a candidate locked it (0o300 hides what it holds)
                os.chmod(top, mode)
            names = os.listdir(top)
        except OSError as e:
            sys.exit(f"runner: could not list {top} ({e})")
        for name in names:
            path = os.path.join(top, name)
            if os.path.isdir(path) and not os.path.islink(path):
                remove_dir(path)
                if os.path.lexists(path):  # a candidate took permission bits off; rarely, so not walked each time
                    _unlock(path)
                    shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        try:
            left = os.listdir(top)
        except OSError:
            left = ["?"]
        if left:
            sys.exit(f"runner: could not empty {top}")
    remove_ipc_objects()


def remove_dir(path):
    """Remove a dir and what it holds. A job's work dir holds a file or two: removed by name, that is a fifth of
    what rmtree's safe walk costs; anything else is left to rmtree (no candidate runs while the runner wipes)."""
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    raise IsADirectoryError(entry.path)
                os.unlink(entry.path)
        os.rmdir(path)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)


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
IPC_COUNTS = (  # (kind, its *ctl, the INFO command, the index of "sets in use" in the int array it fills)
    ("shm", 14, 0),  # SHM_INFO: shm_info.used_ids
    ("sem", 19, 7),  # SEM_INFO: seminfo.semusz
    ("msg", 12, 0),  # MSG_INFO: msginfo.msgpool
)
IPC_INFO_BUFFER = (ctypes.c_int * 16)()


def remove_ipc_objects():
    """System V shared memory, semaphores and message queues outlive their process: remove what is left. The
    kernel's counts say first whether there is any (three calls; the /proc listings cost ten times as much)."""
    for kind, info, used in IPC_COUNTS:
        ctl = getattr(LIBC, f"{kind}ctl")
        args = (0, 0, info, IPC_INFO_BUFFER) if kind == "sem" else (0, info, IPC_INFO_BUFFER)
        if ctl(*args) >= 0 and IPC_INFO_BUFFER[used] == 0:
            continue
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                ids = [int(line.split()[1]) for line in f.readlines()[1:] if line.strip()]
        except (OSError, ValueError, IndexError):
            continue
        for ipc_id in ids:
            if kind == "sem":
                ctl(ipc_id, 0, IPC_RMID, None)
            else:
                ctl(ipc_id, IPC_RMID, None)


def describe_exit(status):
    if status is None:
        return "no exit status"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        hint = " (memory limit?)" if sig == signal.SIGKILL else ""
        return f"killed by signal {signal.Signals(sig).name}{hint} before reporting"
    return f"exited with status {os.WEXITSTATUS(status)} before reporting"


def child(job, sources, write_fds):
    out_w, err_w, res_w = write_fds
    start_tests_process(job, out_w, err_w)
    res = move_fd(res_w, 3)
    os.closerange(4, 1 << 16)
    os.chdir(WORKDIR)
    # stdout and stderr (unbuffered: the runner runs with -u) already write to fds 1 and 2, now the pipes.
    sys.path.insert(0, WORKDIR)
    result = run_tests(sources["test_solution"], bool(job.get("fail_fast")),
                       lambda: load("solution", sources["solution"]))  # fmt: skip
    report(res, result)
    os._exit(0)


class TestsServer:
    """The tests' process of split jobs, kept for the next candidate with the same tests (a task's candidates come
    in a row): a candidate then costs one fork, not two, and the runner, which no longer forks, keeps its pages its
    own. It never loads candidate code and holds one task's tests, as the runner does. A candidate can still send
    it signals (the same user): a signal during a job kills it (that job's verdict is the candidate's loss), and
    one sent between jobs stays pending, so that the runner replaces it rather than reuse it (``quiet``)."""

    def __init__(self):
        self.pid, self.control, self.key = 0, None, None

    @staticmethod
    def key_of(job):
        return job["tests"], bool(job.get("fail_fast")), server_rlimits(job)

    def keep_for(self, job):
        """Stop the server unless it may judge ``job``: the same tests, and untouched by the last candidate's
        signals. Before the job's candidate starts, so that no candidate meets another task's tests' process."""
        if self.pid and not (self.key == self.key_of(job) and quiet(self.pid)):
            self.stop()

    def run(self, job, tests, write_fds, line):
        """Have the server (kept for ``job``, or a new one) run its tests against the candidate at the other end of
        ``line``; its pid."""
        if self.pid:
            try:
                socket.send_fds(self.control, [b"j"], [line.fileno(), *write_fds])
                return self.pid
            except OSError:
                self.stop()
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                serve_tests(job, tests, write_fds, line, theirs)
            finally:
                os._exit(70)
        theirs.close()
        self.pid, self.control, self.key = pid, ours, self.key_of(job)
        return pid

    def line(self, pid):
        """The control line on which the server says a job is done, if ``pid`` is the server."""
        return self.control if pid and pid == self.pid else None

    def forget(self, pid):
        """The server ``pid`` is dead and reaped."""
        if pid and pid == self.pid:
            self.control.close()
            self.pid, self.control, self.key = 0, None, None

    def stop(self):
        if self.pid:
            kill_group(self.pid)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.forget(self.pid)


TESTS = TestsServer()


def server_rlimits(job):
    """A job's rlimits but its CPU seconds, which would add up over the jobs a server runs (the runner's deadline
    bounds each job's time)."""
    return {k: v for k, v in job.get("rlimits", {}).items() if k != "RLIMIT_CPU"}


def quiet(pid):
    """Whether ``pid`` runs or sleeps (is not stopped, nor dying) with no signal pending: a server that a
    candidate's signal reached is not reused."""
    try:
        fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
        try:
            status = os.read(fd, 1 << 16)
        finally:
            os.close(fd)
        state, pending, shared = (status_field(status, name) for name in (b"State", b"SigPnd", b"ShdPnd"))
        return state[:1] in (b"R", b"S") and int(pending, 16) == int(shared, 16) == 0
    except (OSError, ValueError):
        return False


def status_field(status, name):
    """A field's value in the text of /proc/PID/status (a job's few microseconds: parsed whole, it cost 30)."""
    start = status.index(b"\n" + name + b":\t") + len(name) + 3
    return status[start : status.index(b"\n", start)]


def serve_tests(job, tests, write_fds, line, control):
    """The tests' side of split jobs: for each, the tests import a stand-in for the candidate's module, whose
    functions call the candidate's process over ``line`` (``split``), and this process alone writes the verdict.
    It never loads candidate code, and no writable dir is on its path. After each job it closes its ends of the
    job's pipes, says so on ``control``, and waits there for the next job's line and pipes."""
    out_w, err_w, res_w = write_fds
    start_tests_process({**job, "rlimits": server_rlimits(job)}, out_w, err_w)
    # A signal kills it, and one sent between jobs waits, blocked, where the runner sees it (``quiet``): none
    # reaches Python, where it would be raised a moment later, in the next candidate's job.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    move_fd(res_w, 3)
    move_fd(line.detach(), 4)
    move_fd(control.detach(), 5)
    os.closerange(6, 1 << 16)
    control = socket.socket(fileno=5)
    os.chdir("/")  # read-only: nothing the candidate wrote is found relative to it
    text = job["tests"]  # for tracebacks, from memory: a file of that name would be the candidate's
    cached = (len(text), None, text.splitlines(True), "")
    fail_fast = bool(job.get("fail_fast"))
    while True:
        linecache.cache[os.path.join(WORKDIR, "test_solution.py")] = cached
        candidate = split.Candidate(socket.socket(fileno=4))
        result = run_tests(tests, fail_fast, lambda c=candidate: sys.modules.update(solution=split.stand_in(c)))
        if candidate.needs_shared:
            result = {"verdict": "ERROR", "passed": 0, "total": 0, "needs_shared": True}
        report(3, result)
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        candidate.sock.detach()  # its fd is replaced below, and its number is the next job's line
        del candidate, result
        sys.modules.pop("solution", None)
        sys.modules.pop("test_solution", None)
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2, 3, 4):  # the job's pipes and line closed; the numbers held, so the next job's land above
            os.dup2(devnull, fd, inheritable=fd < 3)
        os.close(devnull)
        control.sendall(b"1")
        message, fds, _, _ = socket.recv_fds(control, 1, 4)
        if message != b"j" or len(fds) != 4:
            os._exit(0)  # the runner stopped it
        for received, target in zip(fds, (4, 1, 2, 3), strict=True):  # the line, stdout, stderr, the verdict's fd
            os.dup2(received, target, inheritable=target < 3)
            os.close(received)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signal.valid_signals())


def start_tests_process(job, out_fd, err_fd):
    """The start of a child of the runner that runs a job's tests: the runner's buffers wiped in its copy (the
    jobs queued behind it, the replies held before it), Ctrl-C a KeyboardInterrupt again, a session of its own,
    and what ``setup_process`` gives."""
    wipe_bytes(READER.buffer)
    wipe_bytes(OUTBOX.buffer)
    _signal.signal(signal.SIGINT, _signal.default_int_handler)  # see candidate_process
    os.setsid()
    setup_process(job, out_fd, err_fd)


def report(res, result):
    """The verdict, written to the result fd once the test output is flushed."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(res, split.to_json(result).encode())  # not json.dumps, for the reason split gives


def move_fd(fd, target):
    """``fd`` as ``target``, not inherited by what the process starts (dup3 refuses a move onto itself)."""
    if fd == target:
        os.set_inheritable(fd, False)
        return fd
    return os.dup2(fd, target, inheritable=False)


def setup_process(job, out_fd, err_fd):
    """What every process that runs a job's code gets: ``job_process_basics`` and ``job_limits_and_output``."""
    job_process_basics()
    job_limits_and_output(job, out_fd, err_fd)


def job_process_basics():
    """The OOM killer's first pick, stdin from /dev/null and breakpoint() off: what a process that runs job code
    has, set once in the zygote for every candidate it forks (done in each candidate, it took about a quarter of a
    millisecond of its set-up)."""
    # The OOM killer takes a candidate (or the zygote, which costs a new container), never the runner.
    with contextlib.suppress(OSError):
        adj = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        os.write(adj, b"1000")
        os.close(adj)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = sys.__stdin__ = open(0)  # noqa: SIM115 - /dev/null, for as long as the process lives
    sys.dont_write_bytecode = True
    sys.breakpointhook = no_breakpoint  # the runner runs isolated (-I): PYTHONBREAKPOINT is not read here


def job_limits_and_output(job, out_fd, err_fd):
    """The job's rlimits, and its output into the job's pipes."""
    for name, value in job.get("rlimits", {}).items():
        resource.setrlimit(getattr(resource, name), (value, value))
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)


class Zygote:
    """The parent of every split job's candidate process: forked before the runner reads its first job, so a
    candidate forked from it holds no tests, no other job and none of the runner's state. It gets each program
    with two fds (the line to the tests, and stderr for the candidate's output), forks, and says the pid."""

    HEADER = struct.Struct("!I")

    def __init__(self):
        self.pid, self.control = 0, None

    def start(self):
        ours, theirs = socket.socketpair()
        self.pid = os.fork()
        if self.pid == 0:
            ours.close()
            try:
                self.serve(theirs)
            finally:
                os._exit(0)
        theirs.close()
        self.control = ours
        self.control.settimeout(10)

    def spawn(self, program, imports, rlimits, line, err_fd):
        """Have the zygote fork the candidate's process for ``program`` (its code, compiled here, or its text),
        with the standard modules it imports loaded first; a zygote that does not, or is gone, means a container
        that can no longer be trusted: the runner exits and the host replaces it."""
        payload = marshal.dumps((program, sorted(imports), rlimits))  # the zygote's work is a fork, little more
        if not self.pid:
            sys.exit("runner: the zygote is gone")
        try:
            os.kill(self.pid, signal.SIGCONT)  # a candidate may have stopped it
            socket.send_fds(self.control, [self.HEADER.pack(len(payload))], [line.fileno(), err_fd])
            self.control.sendall(payload)
        except OSError as e:
            sys.exit(f"runner: the zygote is gone ({e})")

    def spawned(self):
        """The zygote's word that it forked the candidate (read after the tests' process is forked, so the two
        forks overlap): a zygote that did not means the runner exits, as in ``spawn``."""
        try:
            answer = split._exactly(self.control, self.HEADER.size)
        except OSError as e:
            sys.exit(f"runner: the zygote is gone ({e})")
        if answer is None or not self.HEADER.unpack(answer)[0]:
            sys.exit("runner: the zygote could not start a candidate")

    def serve(self, control):
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # its children are reaped by the kernel
        job_process_basics()  # for every candidate it forks
        while True:
            header, fds, _, _ = socket.recv_fds(control, self.HEADER.size, 2)
            if len(header) != self.HEADER.size or len(fds) != 2:
                return  # the runner is gone
            program, imports, rlimits = marshal.loads(split._exactly(control, self.HEADER.unpack(header)[0]))
            preload(set(imports))
            request = {"program": program, "rlimits": rlimits}
            gc.freeze()  # as the runner does before its forks: a collection in the child would copy every page
            try:
                pid = os.fork()
            except OSError:
                pid = -1
            if pid == 0:
                try:
                    control.close()
                    candidate_process(request, *fds)
                finally:
                    os._exit(70)
            for fd in fds:
                os.close(fd)
            del request
            control.sendall(self.HEADER.pack(max(pid, 0)))


ZYGOTE = Zygote()


def candidate_process(request, line_fd, err_fd):
    """The candidate's side of a split job: its module, serving the tests' calls; its output goes to stderr. It
    runs as it would shared: with the default SIGCHLD (the zygote's auto-reaping would break its subprocesses'
    exit codes) and Ctrl-C a KeyboardInterrupt."""
    # signal's C module, not signal.signal: its enum wrapping touches objects that in a freshly forked process are
    # pages to copy (about 70, some 0.15 ms of the candidate's set-up).
    _signal.signal(signal.SIGCHLD, _signal.SIG_DFL)
    _signal.signal(signal.SIGINT, _signal.default_int_handler)
    os.setsid()
    job_limits_and_output(request, err_fd, err_fd)  # the rest of setup_process is the zygote's own
    call = move_fd(line_fd, 3)
    os.closerange(4, 1 << 16)
    os.chdir(WORKDIR)
    sys.path.insert(0, WORKDIR)
    split.serve(socket.socket(fileno=call), lambda: load("solution", request["program"]))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def no_breakpoint(*args, **kwargs):
    """breakpoint() in a candidate: nothing (pdb would read a .pdbrc and run what it says)."""


def load(name, source):
    """Import module ``name`` from its source text or code without the import system's path search (a
    millisecond per candidate); ``WORKDIR/name.py`` holds the same text, for tracebacks."""
    path = os.path.join(WORKDIR, name + ".py")
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    code = source if isinstance(source, types.CodeType) else compile(source, path, "exec", dont_inherit=True)
    exec(code, module.__dict__)  # noqa: S102 - this is the sandboxed child, the one place candidate code runs
    return module


def run_tests(tests, fail_fast, load_solution):
    try:
        load_solution()
        module = load("test_solution", tests)
    except BaseException as e:  # noqa: BLE001 - any failure to load is the candidate's error
        return load_error(e)
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


def load_error(exc):
    """The result of a candidate whose program or tests could not be loaded: an error before any test ran."""
    return {"verdict": "ERROR", "passed": 0, "total": 0, "detail": short_trace(exc)}


short_trace = split.short_trace


if __name__ == "__main__":
    main()
