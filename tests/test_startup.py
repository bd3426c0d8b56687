"""`m check`, `m fmt`, `m run` and `m lsp` start fast: they import neither Typer, pydantic, Rich nor
torch, yet the later stages' checker plugins still run, and the plain invocations taken directly
behave exactly as the same invocations through the Typer app."""
import importlib.metadata
import json
import subprocess
import sys

import pytest

import mlang.cli
from mlang.cli import main
from mlang.lang import registry

HEAVY = ("typer", "pydantic", "rich", "torch", "mlang.registry.cli", "mlang.engine.cli", "mlang.serve.cli")

# A shape error that only the models stage's checker plugin (entry point `mlang.builtins`) finds.
MISMATCHED_PIPELINE = """\
model A {
    input: Tensor[float32, B, 16]
    Dense(8)
}
pipeline = sequentialModel(A(), A())
"""


def modules_loaded_by(code: str) -> dict:
    """Run `code` in a fresh interpreter; its result and which of HEAVY it imported."""
    probe = (f"import json, sys\n{code}\n"
             f"print(json.dumps({{'result': result, 'loaded': [m for m in {HEAVY!r} if m in sys.modules]}}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_m_check_imports_no_cli_framework_and_still_runs_the_stages_plugins(tmp_path):
    program = tmp_path / "pipeline.m"
    program.write_text(MISMATCHED_PIPELINE)
    probe = modules_loaded_by(f"from mlang.cli import main\nresult = main(['check', {str(program)!r}])")
    assert probe == {"result": 1, "loaded": []}


@pytest.mark.parametrize("command, source, expected", [
    (["fmt", "--check"], "x=1\n", 1),
    (["run"], 'print("hi")\n', 0),
])
def test_m_fmt_and_m_run_import_no_cli_framework(tmp_path, command, source, expected):
    program = tmp_path / "p.m"
    program.write_text(source)
    probe = modules_loaded_by(f"from mlang.cli import main\nresult = main({[*command, str(program)]!r})")
    assert probe == {"result": expected, "loaded": []}


@pytest.mark.parametrize("command, source, frozen", [
    (["check"], "x = 1\n", True),
    (["fmt", "--check"], "x = 1\n", True),
    (["run"], "x = 1\n", False),  # `m run` freezes later, in its last exit handler
])
def test_check_and_fmt_as_the_process_freeze_the_heap_for_exit(tmp_path, command, source, frozen):
    program = tmp_path / "p.m"
    program.write_text(source)
    probe = modules_loaded_by(f"import gc\nfrom mlang.cli import main\nsys.argv = ['m', *{[*command, str(program)]!r}]\n"
                              "result = [main(), gc.get_freeze_count() > 0]")
    assert probe["result"] == [0, frozen]


LEDGER = """\
class Ledger:
    def __init__(self, path):
        self.path, self.me = path, None

    def cycle(self):  # in a reference cycle: only a garbage collection finalizes it
        self.me = self
        return self

    def __del__(self):
        with open(self.path, "w") as file:
            file.write("finalized")


def path(name):  # a function: the module's globals are a cycle with it
    return __file__ + "." + name


log = open(path("log"), "w")  # never closed: the module's teardown flushes it
log.write("flushed")
kept = Ledger(path("module")).cycle()
"""


def test_m_run_freezes_the_heap_last_and_still_finalizes_the_programs_objects(tmp_path):
    (tmp_path / "ledger.py").write_text(LEDGER)
    (tmp_path / "books.m").write_text("import python ledger\n"
                                      "shelf = ledger.Ledger(ledger.path(\"m-module\")).cycle()\n")
    program = tmp_path / "p.m"
    program.write_text("import python ledger\nimport \"books.m\"\n"
                       "book = ledger.Ledger(ledger.path(\"global\")).cycle()\n"
                       "func make() { return ledger.Ledger(ledger.path(\"garbage\")).cycle() }\n"
                       "make()\n")
    probe = modules_loaded_by(f"import atexit, gc\nfrom mlang.cli import main\nsys.argv = ['m', 'run', {str(program)!r}]\n"
                              "code = main()\natexit._run_exitfuncs()\nresult = [code, gc.get_freeze_count() > 0]")
    assert probe["result"] == [0, True]
    assert (tmp_path / "ledger.py.log").read_text() == "flushed"
    for name in ("global", "garbage", "module", "m-module"):
        assert (tmp_path / f"ledger.py.{name}").read_text() == "finalized", name


def test_a_call_with_its_own_arguments_leaves_the_callers_heap_alone(tmp_path):
    program = tmp_path / "p.m"
    program.write_text("x = 1\n")
    probe = modules_loaded_by(f"import gc\nfrom mlang.cli import main\n"
                              f"result = [main(['check', {str(program)!r}]), gc.get_freeze_count()]")
    assert probe["result"] == [0, 0]


def test_importing_the_diagnostics_does_not_load_the_front_end():
    probe = modules_loaded_by("import mlang.lang.diagnostics\n"
                              "result = [m for m in ('mlang.lang.parser', 'mlang.lang.checker') if m in sys.modules]")
    assert probe["result"] == []


def test_every_public_name_of_mlang_lang_still_imports():
    import mlang.lang

    for name in mlang.lang.__all__:
        assert getattr(mlang.lang, name) is not None
    from mlang.lang import MError, check_source, register_check  # noqa: F401


def through_typer(args, capsys):
    """Exit code, stdout and stderr of `m ARGS` run by the Typer app, never by the direct path."""
    with pytest.raises(SystemExit) as exit_:
        mlang.cli.app(args=args, prog_name="m", standalone_mode=True)
    return (exit_.value.code, *capsys.readouterr())


def directly(args, capsys):
    assert mlang.cli._direct_command(args) is not None
    return (main(args), *capsys.readouterr())


@pytest.mark.parametrize("files, flags", [
    ({"ok.m": "print(1)\n"}, []),
    ({"bad.m": "print(nope)\nbreak\n", "ok.m": "print(1)\n"}, []),
    ({"pipeline.m": MISMATCHED_PIPELINE}, []),
])
def test_direct_check_is_the_typer_command(tmp_path, capsys, files, flags):
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name))
    args = ["check", *flags, *paths]
    assert directly(args, capsys) == through_typer(args, capsys)


def test_direct_check_of_a_missing_file_is_a_usage_error_as_through_typer(tmp_path, capsys):
    args = ["check", str(tmp_path / "missing.m")]
    assert directly(args, capsys) == through_typer(args, capsys) == (2, "", f"m: error: no such file: {args[1]}\n")


@pytest.mark.parametrize("flags", [["--check"], []])
def test_direct_fmt_is_the_typer_command(tmp_path, capsys, flags):
    program = tmp_path / "p.m"
    args = ["fmt", *flags, str(program)]
    results = []
    for run in (directly, through_typer):
        program.write_text("x=1\n")
        results.append((*run(args, capsys), program.read_text()))
    assert results[0] == results[1]


@pytest.mark.parametrize("program, program_args", [
    ("print(args)\n", []),
    ("print(args)\n", ["--", "--epochs", "3"]),
    ("print(args)\n", ["a", "--nproc", "2", "--help"]),
    ("func f(x) { return 1 / x }\nf(0)\n", []),
    ("print(nope)\n", []),
])
def test_direct_run_is_the_typer_command(tmp_path, capsys, program, program_args):
    (tmp_path / "p.m").write_text(program)
    args = ["run", str(tmp_path / "p.m"), *program_args]
    assert directly(args, capsys) == through_typer(args, capsys)


@pytest.mark.parametrize("args", [[], ["check"], ["check", "--help"], ["fmt", "--chek", "p.m"], ["lsp", "x"],
                                  ["check", "--", "p.m"], ["run", "--nproc", "2", "p.m"], ["models", "ls"]])
def test_everything_but_a_plain_invocation_goes_through_typer(args):
    assert mlang.cli._direct_command(args) is None


def test_help_lists_the_later_stages_commands_with_their_own_help(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "models  The model repository: ls, show, diff, alias" in out
    assert "export  Export a model for other runtimes" in out
    assert "serve   Serve a model" in out


def test_a_misspelt_later_stage_command_is_still_suggested(capsys):
    assert main(["modles"]) == 2
    assert "Did you mean 'models'?" in capsys.readouterr().err


def test_entry_points_are_read_as_importlib_metadata_reads_them():
    groups = {entry.group for dist in importlib.metadata.distributions() for entry in dist.entry_points}
    assert "mlang.builtins" in groups
    for group in groups:
        expected = sorted((entry.name, entry.value) for entry in importlib.metadata.entry_points(group=group))
        assert sorted(registry.entry_points(group)) == expected, group
