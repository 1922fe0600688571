"""One warm sandbox container and the line protocol to its runner (PID 1), over Docker's attach socket.

The container is created with stdin kept open for exactly one attachment (``StdinOnce``) and auto-removal: when
our process goes away for any reason, even SIGKILL, the runner reads EOF, exits, and Docker removes the container.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import socket
import struct
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import requests

log = logging.getLogger(__name__)

LABEL = "committee.sandbox"
OWNER_LABEL = "committee.owner"
CPUS_LABEL = "committee.cpus"
"""The CPUs a container is pinned to, for pools that pin the next ones (Docker's list does not show its cpuset)."""
STDOUT, STDERR = 1, 2


@dataclass(frozen=True)
class Limits:
    """Resource limits of one container; every isolation setting is always on."""

    memory_mb: int = 512
    """Memory of the container (no swap). Candidates also get it as their address-space limit."""
    cpus: float = 1.0
    """CPU quota in cores."""
    pids: int = 128
    """Processes and threads the container may hold at once (fork bombs stop here)."""
    tmpfs_mb: int = 64
    """Size of the writable work dir; the root file system is read-only."""
    output_cap: int = 64 * 1024
    """Bytes of stdout and of stderr kept per candidate."""


class RunnerGone(Exception):
    """The runner closed its stream or the container died."""


class RunnerSilent(Exception):
    """The runner did not answer by the deadline."""


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Container:
    def __init__(self, client: docker.DockerClient, image: str, limits: Limits, *, cpus: tuple[int, ...] = ()) -> None:
        self.limits = limits
        self._client = client
        cpuset = ",".join(map(str, cpus))
        host_config = client.api.create_host_config(
            network_mode="none",
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",  # equal to mem_limit: no swap
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            read_only=True,
            tmpfs={
                "/work": f"rw,nosuid,nodev,size={limits.tmpfs_mb}m,uid=65534,gid=65534,mode=0700",
                "/tmp": f"rw,nosuid,nodev,size={limits.tmpfs_mb}m,mode=1777",
            },
            shm_size="1m",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            auto_remove=True,
            log_config={"type": "none", "config": {}},
            ipc_mode="private",
            cpuset_cpus=cpuset or None,
        )
        created = client.api.create_container(
            image,
            detach=False,  # with stdin_open: StdinOnce, so our going away ends the container
            stdin_open=True,
            environment={},
            labels={LABEL: "1", OWNER_LABEL: owner_id(), CPUS_LABEL: cpuset},
            host_config=host_config,
            network_disabled=True,
        )
        self.id: str = created["Id"]
        self._buffer = b""
        self._outgoing = bytearray()
        """Jobs queued for the runner, written as its stream takes them (``send``)."""
        self._sock: socket.socket | None = None
        self._attached: Any = None
        try:
            attached = client.api.attach_socket(self.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            self._attached = attached  # closing only its inner socket leaves the wrapper to warn at exit
            self._sock = attached._sock
            self._sock.setblocking(False)  # reads and writes wait in select, each up to what it can do at once
            client.api.start(self.id)
            self.send([encode({"op": "ping"})])
            self.receive(deadline=time.monotonic() + 60)
        except BaseException:
            self.kill()
            raise

    def send(self, lines: list[bytes]) -> None:
        """Queue jobs for the runner (``encode``d); it answers them in order. They are written while ``receive``
        waits, as the stream takes them: jobs sent before the answers to earlier ones are in wait in the runner's
        input when it finishes those, and neither side can block the other, however much either writes."""
        if self._sock is None:
            raise RunnerGone("container already closed")
        self._outgoing += b"".join(lines)

    def receive(self, *, deadline: float) -> dict[str, Any]:
        """The runner's next answer; raise RunnerGone or RunnerSilent."""
        if self._sock is None:
            raise RunnerGone("container already closed")
        try:
            line = self._read_line(deadline)
        except TimeoutError as e:
            raise RunnerSilent(str(e)) from e
        except OSError as e:
            raise RunnerGone(f"lost the runner's stream: {e}") from e
        return json.loads(line)  # type: ignore[no-any-return]

    def _read_line(self, deadline: float) -> bytes:
        assert self._sock is not None
        while b"\n" not in self._buffer:
            stream, payload = self._read_frame(deadline)
            if stream == STDOUT:
                self._buffer += payload
            elif stream == STDERR:
                log.debug("runner %s: %s", self.id[:12], payload.decode(errors="replace").rstrip())
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _read_frame(self, deadline: float) -> tuple[int, bytes]:
        header = self._read_exactly(8, deadline)
        stream, size = struct.unpack(">BxxxL", header)
        return stream, self._read_exactly(size, deadline)

    def _read_exactly(self, n: int, deadline: float) -> bytes:
        assert self._sock is not None
        chunks, left = [], n
        while left:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                raise TimeoutError("runner did not answer in time")
            readable, writable = self._wait(timeout)
            chunk = None
            with contextlib.suppress(BlockingIOError):
                if writable:
                    del self._outgoing[: self._sock.send(self._outgoing)]
                chunk = self._sock.recv(min(left, 1 << 20)) if readable else None
            if chunk is None:
                continue
            if not chunk:
                raise RunnerGone("the runner's stream ended (container exited)")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _wait(self, timeout: float) -> tuple[bool, bool]:
        """Wait until the stream has bytes to read, or room for queued ones (poll: no limit on fd numbers)."""
        assert self._sock is not None
        poller = select.poll()
        poller.register(self._sock, select.POLLIN | (select.POLLOUT if self._outgoing else 0))
        events = poller.poll(max(1, int(timeout * 1000)))
        ready = events[0][1] if events else 0
        # A hung-up or failed stream reads as readable: recv then says how it ended.
        return bool(ready & (select.POLLIN | select.POLLHUP | select.POLLERR)), bool(ready & select.POLLOUT)

    def kill(self) -> None:
        """Remove the container now; safe to call twice and when the engine is gone."""
        for stream in (self._sock, self._attached):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._sock = self._attached = None
        self._outgoing.clear()
        # Already gone (auto-removed) or the engine is down: nothing is left to do then.
        with contextlib.suppress(docker.errors.DockerException, requests.RequestException):
            self._client.api.remove_container(self.id, force=True)


def encode(message: dict[str, Any]) -> bytes:
    """One message to the runner: a line of JSON."""
    return json.dumps(message).encode() + b"\n"


FLUSH = encode({"op": "flush"})
"""The line that ends a chunk of jobs: the runner answers the chunk in one write, and takes the next."""


def pinned_cpus(client: docker.DockerClient) -> Counter[int]:
    """Sandbox containers on the engine pinned to each CPU, every process's pools counted."""
    labels = [c["Labels"].get(CPUS_LABEL, "") for c in client.api.containers(all=True, filters={"label": LABEL})]
    return Counter(int(cpu) for label in labels for cpu in label.split(",") if cpu.isdigit())


def remove_leftovers(client: docker.DockerClient) -> int:
    """Remove sandbox containers whose owning process on this host is gone (a crash); return how many."""
    host = socket.gethostname()
    removed = 0
    for c in client.api.containers(all=True, filters={"label": LABEL}):
        owner_host, _, pid = c["Labels"].get(OWNER_LABEL, "").partition(":")
        if owner_host != host or (pid.isdigit() and _alive(int(pid))):
            continue  # another host's, or its owner still runs
        try:
            client.api.remove_container(c["Id"], force=True)
            removed += 1
        except docker.errors.NotFound:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
