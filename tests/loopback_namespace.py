"""A network namespace whose only interface is the loopback: what runs in it binds and advertises 127.0.0.1 only.

Ray replaces 127.0.0.1 by the machine's network address wherever the machine has one (by design,
ray-project/ray#26293), so a two-node cluster on one ordinary machine cannot stay on 127.0.0.1. In
a namespace where 127.0.0.1 is the only address, Ray keeps it; and nothing in the namespace can
collide with a port in use outside it, or be reached from outside. A holder process keeps the
namespace alive; commands join it with ``nsenter``. Needs util-linux (``unshare``, ``nsenter``),
iproute2 (``ip``) and user namespaces (or root). The processes in it are ordinary processes of
this machine: their ids are this machine's.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
from pathlib import Path


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

    def listening(self) -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
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

    def processes(self) -> set[int]:
        """Processes in the namespace, other than the holder."""
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != self.holder.pid:
                try:
                    if os.readlink(entry / "ns" / "net") == self.inode:
                        found.add(int(entry.name))
                except OSError:
                    pass
        return found

    def close(self) -> None:
        if self.holder is not None and self.holder.poll() is None:
            self.holder.send_signal(signal.SIGKILL)
            self.holder.wait()
