"""A network namespace whose only interface is the loopback: what runs in it binds and advertises 127.0.0.1 only.

Ray replaces 127.0.0.1 by the machine's network address wherever the machine has one (by design,
ray-project/ray#26293), so a two-node cluster on one ordinary machine cannot stay on 127.0.0.1. In
a namespace where 127.0.0.1 is the only address, Ray keeps it; and nothing in the namespace can
collide with a port in use outside it, or be reached from outside. A holder process keeps the
namespace alive; commands join it with ``nsenter``. Needs util-linux (``unshare``, ``nsenter``),
iproute2 (``ip``) and user namespaces (or root). The processes in it are ordinary processes of
this machine: their ids are this machine's.

The tests that start servers run them in one (the ``loopback`` fixture of tests/conftest.py), watch
what listens in it while they run (``watching``), check it with ``assert_loopback_only`` and, once
done, that no process is left in it (``kill_processes``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

Listener = tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]


class LoopbackNamespace:
    def __init__(self) -> None:
        self.holder: subprocess.Popen | None = None

    def start(self) -> None:
        """Create the namespace; RuntimeError saying why when this machine cannot."""
        try:
            self.holder = subprocess.Popen(
                ["unshare", "--net", "--map-root-user", "--", "sh", "-c", "ip link set lo up && echo up && exec sleep infinity"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        except FileNotFoundError as err:
            raise RuntimeError(f"no unshare command ({err})") from None
        if self.holder.stdout.readline().strip() != "up":
            self.holder.wait(timeout=10)
            raise RuntimeError(f"unshare --net --map-root-user failed: {self.holder.stderr.read().strip()}")

    @property
    def inode(self) -> str:
        return os.readlink(f"/proc/{self.holder.pid}/ns/net")

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the namespace."""
        return ["nsenter", f"--target={self.holder.pid}", "--net", "--user", "--preserve-credentials", "--", *argv]

    def listening(self) -> list[Listener]:
        """(address, port) of every TCP socket listening in the namespace (IPv4-mapped IPv6 as IPv4)."""
        found = []
        for table in ("tcp", "tcp6"):
            for line in Path(f"/proc/{self.holder.pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] != "0A":  # TCP_LISTEN
                    continue
                address, port = fields[1].split(":")
                # /proc prints each 32-bit word in host (little-endian) byte order
                raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, len(address), 8))
                ip = ipaddress.ip_address(raw)
                found.append((getattr(ip, "ipv4_mapped", None) or ip, int(port, 16)))
        return found

    def interfaces(self) -> list[str]:
        """Names of the namespace's network interfaces."""
        return [line.split(":")[0].strip() for line in Path(f"/proc/{self.holder.pid}/net/dev").read_text().splitlines()[2:]]

    @contextlib.contextmanager
    def watching(self, interval_s: float = 0.5) -> Iterator[set[Listener]]:
        """A set that collects every (address, port) listening in the namespace, sampled every
        ``interval_s`` by a thread until the block ends."""
        seen: set[Listener] = set()
        done = threading.Event()

        def sample() -> None:
            while True:
                seen.update(self.listening())
                if done.wait(interval_s):
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield seen
        finally:
            done.set()
            sampler.join()
            seen.update(self.listening())

    def processes(self) -> set[int]:
        """Live processes in the namespace, other than the holder (not zombies: those have ended)."""
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != self.holder.pid:
                try:
                    if (os.readlink(entry / "ns" / "net") == self.inode
                            and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"):
                        found.add(int(entry.name))
                except (OSError, IndexError):
                    pass
        return found

    def kill_processes(self) -> set[int]:
        """SIGKILL every process left in the namespace (all of them were started by the test); their ids."""
        left = self.processes()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left

    def close(self) -> None:
        if self.holder is not None and self.holder.poll() is None:
            self.holder.send_signal(signal.SIGKILL)
            self.holder.wait()


def assert_loopback_only(namespace: LoopbackNamespace, seen: set[Listener]) -> None:
    """Everything seen listening in ``namespace`` could be reached from 127.0.0.1 only.

    Ray and vLLM bind 127.0.0.1 there (the namespace's only address); torch's TCPStore (torch.distributed's
    rendezvous: verl's FSDP workers, vLLM's workers) binds the wildcard address and has no option for
    another, so a wildcard listener is accepted only because the loopback is the namespace's only
    interface. At least one server bound to 127.0.0.1 must have been seen: the check saw something.
    """
    assert namespace.interfaces() == ["lo"], namespace.interfaces()
    bound = {(address, port) for address, port in seen if not address.is_unspecified}
    assert bound, f"no server bound to an address was seen listening (all seen: {sorted(seen, key=str)})"
    assert all(address.is_loopback for address, _ in bound), sorted(bound, key=str)
