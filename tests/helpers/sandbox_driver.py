"""Runs candidates in every isolation mode that works for the user running it (for
tests/test_sandbox_isolation.py, which starts it as root and as an unprivileged user).

    python tests/helpers/sandbox_driver.py SPEC.json FD [WORDS...]   # results: one JSON document on socket FD

SPEC: ``{"cases": {name: {"code", "tests", "capture", "skip_modes"}}, "limits": {...}}``. With
``capture`` the outputs are collected (every test counts as passed when the program ends normally),
else they are judged against the tests. Results go to an inherited socket, which no candidate can
open again through /proc (in mode ``none`` a candidate runs as this very user). WORDS are ignored:
they put a marker in this process's command line."""

import json
import os
import socket
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from data_prep.label.sandbox.isolation import candidate_isolations  # noqa: E402
from data_prep.label.sandbox.run import Limits, detect_isolation, probe, run_candidate  # noqa: E402


class Capture:
    def __init__(self):
        self.outputs = []

    def add(self, case, output):
        self.outputs.append(output)
        return None


def main():
    spec = json.loads(Path(sys.argv[1]).read_text())
    limits = Limits(**spec["limits"])
    cgroups = detect_isolation().cgroups
    results = {"uid": os.getuid(), "pid": os.getpid(), "modes": {}, "refused": {}}
    for mode in candidate_isolations():
        mode = replace(mode, cgroups=cgroups)
        why = probe(mode)
        if why is not None:
            results["refused"][mode.name] = why
            continue
        per_mode = results["modes"][mode.name] = {}
        for name, case in spec["cases"].items():
            if mode.name in case.get("skip_modes", ()):
                continue
            capture = Capture() if case.get("capture") else None
            result = run_candidate(case["code"], case["tests"], limits, mode, outputs_to=capture)
            per_mode[name] = {"verdict": result.verdict, "tests_run": result.tests_run, "detail": result.detail,
                              "outputs": capture.outputs if capture else []}
    with socket.socket(fileno=int(sys.argv[2])) as channel:
        channel.sendall(json.dumps(results).encode())


if __name__ == "__main__":
    main()
