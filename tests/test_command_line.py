"""The `m` command mounts every stage's commands under one program."""
import json

from mlang.cli import main


def test_stage_commands_are_mounted(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("run", "check", "fmt", "repl", "lsp", "models", "export", "serve"):
        assert f"  {command} " in out


def test_models_lists_an_empty_repository_as_json(capsys):
    assert main(["models", "ls", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_unknown_reference_is_a_program_error_not_a_traceback(capsys):
    assert main(["export", "nosuchmodel:1", "--format", "onnx"]) == 1
    err = capsys.readouterr().err
    assert "nosuchmodel" in err and "Traceback" not in err


def test_nproc_must_be_positive(tmp_path, capsys):
    program = tmp_path / "p.m"
    program.write_text('print("hi")\n')
    assert main(["run", "--nproc", "0", str(program)]) == 1
    assert "--nproc" in capsys.readouterr().err
