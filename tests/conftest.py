"""Test-session helpers."""

import pytest

from tests.helpers.loopback_namespace import LoopbackNamespace

_NOTES = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def summary_note(pytestconfig):
    """``summary_note(title, text)``: show ``text`` in pytest's terminal summary (so in CI's log, even
    with ``-q`` and captured output), e.g. the audit's agreement table."""
    notes = pytestconfig.stash.setdefault(_NOTES, [])
    return lambda title, text: notes.append((title, text))


def pytest_terminal_summary(terminalreporter, config):
    for title, text in config.stash.get(_NOTES, []):
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line(text.rstrip())


@pytest.fixture(scope="module")
def loopback():
    """A network namespace whose only address is 127.0.0.1 (tests/helpers/loopback_namespace.py) for the
    module's servers; skipped, saying why, where this machine cannot make one (as the multi-node
    rehearsal always was)."""
    namespace = LoopbackNamespace()
    try:
        namespace.start()
    except RuntimeError as err:
        pytest.skip(f"the servers of this test run in a loopback-only network namespace, which this machine cannot make: {err}")
    try:
        yield namespace
    finally:
        namespace.kill_processes()
        namespace.close()
