"""The command line's option values (benhan/cli_coercion.py): what a command receives for each value
typed is what typer's own (pydantic) coercion gives — the same value, or the same error message —
on every option of every command; and a command run without a mistake does not import pydantic."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

typer_core = pytest.importorskip("typer.core")
if not getattr(getattr(typer_core, "build_runtime_param", None), "benhan_direct", False):
    import benhan.cli  # noqa: F401 - installs it
if not getattr(getattr(typer_core, "build_runtime_param", None), "benhan_direct", False):
    pytest.skip("this typer has no pydantic coercion to stand in for", allow_module_level=True)

from typer import main as typer_main  # noqa: E402
from typer._click import Context  # noqa: E402
from typer._click.exceptions import ClickException  # noqa: E402

from benhan.cli import app  # noqa: E402

TEXTS = ["abc", "", " x ", "Nguyễn Văn A", "-", "--", "a\tb", "0", "5", "+5", "-0", "007", " 5", "5 ", "1_000",
         "1.0", "1.5", "+1.5", "-2.25", "1e3", ".5", "5.", "inf", "nan", "٥", "999999", "1000000", "5000", "5001",
         "99999999999999999999999", "true", "no", "./data", "data/", "/tmp/", "a/../b", "//x"]


def _params():
    """One option of each kind (type and the settings its coercion reads) of all the commands'."""
    found, kinds = [], set()

    def walk(command, path: str) -> None:  # noqa: ANN001
        for p in command.params:
            info = getattr(p, "type_descriptor", None) and p.type_descriptor.parameter_info
            kind = info and (repr(p.type_descriptor.annotation), p.type_descriptor.file_annotation is not None,
                             p.multiple, p.nargs, info.min, info.max, info.clamp, info.parser, info.exists,
                             info.file_okay, info.dir_okay, info.readable, info.writable, info.resolve_path,
                             info.allow_dash, info.path_type, info.case_sensitive)
            if isinstance(p, typer_core._TyperParameter) and kind not in kinds:
                kinds.add(kind)
                found.append((f"{path} {p.name}", command, p))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer_main.get_command(app), "benhan")
    return found


PARAMS = _params()


def _outcome(runtime, value, param, command):  # noqa: ANN001, ANN202
    ctx = Context(command)
    try:
        got = runtime.coerce(value, param=param, ctx=ctx)
    except ClickException as exc:
        return ("error", type(exc).__name__, exc.format_message())
    return ("value", type(got).__name__, repr([(type(v).__name__, v) for v in got] if isinstance(got, list) else got))


@pytest.mark.parametrize(("name", "command", "param"), PARAMS, ids=[n for n, _, _ in PARAMS])
def test_each_option_takes_each_value_as_typer_itself_would(name: str, command, param, tmp_path: Path) -> None:  # noqa: ANN001
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "dir").mkdir()
    locked = tmp_path / "locked"
    locked.write_text("x")
    locked.chmod(0)
    paths = [str(tmp_path / "file.txt"), str(tmp_path / "dir"), str(tmp_path / "dir") + "/", str(tmp_path / "no"),
             str(locked), str(tmp_path / "file.txt") + "/"]
    ours = typer_core.build_runtime_param(param.type_descriptor)
    theirs = typer_core.build_runtime_param.typer_own(param.type_descriptor)
    multi = param.multiple or param.nargs == -1
    values: list = [None, True, False, 3, 2.5, Path("data"), *TEXTS, *paths]
    if multi:
        values = [None, (), ("a",), ("a", "b"), ("5", "x"), tuple(paths), ("./data", ""), [Path("x")]]
    for value in values:
        assert _outcome(ours, value, param, command) == _outcome(theirs, value, param, command), (name, value)


def test_a_command_run_without_a_mistake_does_not_import_pydantic(tmp_path: Path) -> None:
    code = ("import sys; from benhan.cli import app\n"
            f"for args in (['version'], ['config', 'show', '--data-dir', {str(tmp_path)!r}],"
            f" ['demo', '--help'], ['doctor', '--help']):\n"
            "    try:\n        app(args, standalone_mode=False)\n    except SystemExit:\n        pass\n"
            "print('pydantic' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_a_mistake_is_still_told_in_typers_words(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "benhan.cli", "demo", "--patients", "0", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Invalid value for '--patients': Input should be greater than or equal to 1" in done.stderr
