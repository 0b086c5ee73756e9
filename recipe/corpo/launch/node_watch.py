"""Fail a run fast, and say why, when a Ray node dies under it.

When a node of a multi-node run dies (killed, out of memory, its machine gone), Ray marks it dead
once its health checks fail (about 15 s) and the actors it held die with it; but verl 0.9.1 does
not always notice. Measured on the one-machine rehearsal (``tests/test_multinode.py``): with the
worker node killed during a step, the trainer waited 3.5 minutes on a TransferQueue storage unit
that no longer existed before it failed. ``NodeWatch`` runs in the driver beside verl's
``run_ppo``: it polls Ray's node table, and when a node that was alive when the run started dies
(for any reason but an idle autoscaler scale-down), it says so on stderr and kills the run's
trainer actor, so the driver's wait for it ends at once; ``main_corpo`` then raises ``NodeDiedError``
naming the node and Ray's reason. A node that dies before the run starts is verl's and Ray's to
report (the run cannot be placed).
"""

from __future__ import annotations

import sys
import threading

import ray
from ray.core.generated.common_pb2 import NodeDeathInfo

#: a node the autoscaler removed because it was idle held no part of the run
_HARMLESS = {NodeDeathInfo.AUTOSCALER_DRAIN_IDLE}


class NodeDiedError(RuntimeError):
    """A Ray node the run was using died during the run."""

    def __init__(self, nodes: list[dict]):
        described = "; ".join(
            f"{node['NodeManagerAddress']} (node {node['NodeID'][:12]}, "
            f"{NodeDeathInfo.Reason.Name(node.get('DeathReason', 0))}: {node.get('DeathReasonMessage') or 'no reason given'})"
            for node in nodes
        )
        super().__init__(
            f"Ray node died during the run: {described}. A multi-node run cannot go on without its nodes; "
            "start the node again (scripts/ray_multinode.sh worker HEAD_IP), then resubmit: the run resumes "
            "from its newest complete checkpoint in trainer.default_local_dir (trainer.resume_mode=auto; docs/resume.md)."
        )
        self.nodes = nodes


class NodeWatch:
    """Watches the nodes of the cluster the driver joins; stops ``actor_name`` when one dies.

    Use as a context manager around verl's ``run_ppo`` (which calls ``ray.init``); ``died(timeout_s)``
    says which nodes died, waiting up to ``timeout_s`` for Ray to declare a death it may not have
    noticed yet (an actor error can arrive before the node is marked dead).
    """

    def __init__(self, actor_name: str, period_s: float = 2.0):
        self.actor_name = actor_name
        self.period_s = period_s
        self._dead: list[dict] = []
        self._found = threading.Event()
        self._several_nodes = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="corpo-node-watch", daemon=True)

    def __enter__(self) -> NodeWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def died(self, timeout_s: float = 0.0) -> list[dict]:
        if self._several_nodes.is_set():  # on one node there is no other node to lose
            self._found.wait(timeout_s)
        return self._dead

    def _watch(self) -> None:
        while not ray.is_initialized():
            if self._stop.wait(0.5):
                return
        watched = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
        if len(watched) > 1:
            self._several_nodes.set()
        while not self._stop.wait(self.period_s):
            try:
                nodes = ray.nodes()
            except Exception:  # noqa: BLE001  (the GCS itself is gone or shutting down: nothing left to watch)
                return
            dead = [n for n in nodes if n["NodeID"] in watched and not n["Alive"] and n.get("DeathReason") not in _HARMLESS]
            if dead:
                self._dead = dead
                self._found.set()
                print(f"[corpo] {NodeDiedError(dead)} Stopping the run.", file=sys.stderr, flush=True)
                self._stop_run()
                return

    def _stop_run(self) -> None:
        try:
            ray.kill(ray.get_actor(self.actor_name))
        except Exception as err:  # noqa: BLE001  (gone already: it lived on the dead node)
            print(f"[corpo] the run's trainer actor {self.actor_name!r} is already gone ({err!r})", file=sys.stderr)
