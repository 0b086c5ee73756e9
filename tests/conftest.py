"""Test-session helpers."""

import pytest

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
