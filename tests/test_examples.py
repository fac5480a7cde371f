"""Every Python example of README.rst and docs/*.rst runs, and the tests among them pass.

A block whose ``:caption:`` names a file of the user's project is an installation step: the
fresh project of tests/test_readme_project.py is built from those. Every other ``python`` block
runs here, in a ``django_db`` test with the in-process simulator (as a user's test would have it):
its ``test_*`` functions are called with the fixtures they name, its ``TestCase`` classes are run,
and signal receivers it connects are disconnected afterwards.
"""

import inspect
import unittest

import pytest
from django.test import SimpleTestCase

from django_zoomconnect import signals
from tests.readme import all_blocks

EXAMPLES = [block for block in all_blocks() if block.language == "python" and not block.caption]
SIGNALS = [value for value in vars(signals).values() if hasattr(value, "receivers")]


@pytest.fixture
def receivers_kept():
    """Signal receivers an example connects live only as long as the example."""
    before = {id(signal): list(signal.receivers) for signal in SIGNALS}
    yield
    for signal in SIGNALS:
        signal.receivers[:] = before[id(signal)]
        signal.sender_receivers_cache.clear()


def test_there_are_examples_to_run():
    assert len(EXAMPLES) >= 10


@pytest.mark.django_db
@pytest.mark.parametrize("block", EXAMPLES, ids=str)
def test_the_example_runs(block, request, zoomconnect_simulator, receivers_kept, capsys):
    module = f"example_{block.line}"
    namespace = {"__name__": module}
    exec(compile(block.code, str(block), "exec"), namespace)  # noqa: S102 - our own documentation
    defined = [value for value in namespace.values() if getattr(value, "__module__", None) == module]
    for value in defined:
        if inspect.isfunction(value) and value.__name__.startswith("test_"):
            fixtures = {arg: request.getfixturevalue(arg) for arg in inspect.signature(value).parameters}
            value(**fixtures)
        elif inspect.isclass(value) and issubclass(value, SimpleTestCase):
            result = unittest.TestResult()
            unittest.defaultTestLoader.loadTestsFromTestCase(value).run(result)
            assert result.testsRun
            assert result.wasSuccessful(), result.errors + result.failures
