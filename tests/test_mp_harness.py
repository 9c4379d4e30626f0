"""The MicroPython harness itself: it really runs MicroPython and reports failures."""

import textwrap

import pytest

from tests.conftest import MicroPythonMissing, micropython_available, run_on_micropython


def _plant(tmp_path, name, source):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))


def test_micropython_is_available():
    # A machine without Node.js or the npm package must fail here with the reason,
    # never skip silently.
    why = micropython_available()
    assert why is None, why


def test_tests_run_on_micropython_and_failures_carry_tracebacks(tmp_path):
    _plant(tmp_path, "planted_mod", """
        import sys

        def test_on_micropython():
            assert sys.implementation.name == "micropython"
            assert 1 << 29 == 536870912

        def test_fails():
            x = 2
            assert x == 3, "planted failure"

        def helper_not_a_test():
            raise RuntimeError("must not run")
        """)
    records, _ = run_on_micropython(["planted_mod"], extra_dir=tmp_path)
    by_name = {r["name"]: r for r in records}
    assert set(by_name) == {"test_on_micropython", "test_fails"}
    assert by_name["test_on_micropython"]["status"] == "pass"
    assert by_name["test_fails"]["status"] == "fail"
    assert "planted failure" in by_name["test_fails"]["traceback"]
    assert "line 10" in by_name["test_fails"]["traceback"]


def test_cpython_only_import_fails_on_micropython(tmp_path):
    _plant(tmp_path, "planted_cpython", """
        import dataclasses

        def test_never_runs():
            pass
        """)
    records, _ = run_on_micropython(["planted_cpython"], extra_dir=tmp_path)
    assert [r["name"] for r in records] == ["<import>"]
    assert records[0]["status"] == "fail" and "dataclasses" in records[0]["traceback"]


def test_missing_interpreter_is_an_error_not_a_skip(monkeypatch):
    import tests.conftest as c

    monkeypatch.setattr(c.shutil, "which", lambda name: None)
    assert "Node.js not found" in c.micropython_available()
    with pytest.raises(MicroPythonMissing, match="Node.js not found"):
        c.run_on_micropython(["anything"])
