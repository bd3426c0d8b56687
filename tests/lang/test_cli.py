"""The `m` command: run, check, fmt, --version, --help; exit codes 0 / 1 / 2."""
import subprocess
import sys

from mlang.cli import main


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_run_passes_program_arguments(tmp_path, capsys):
    path = write(tmp_path, "p.m", "print(args)\n")
    assert main(["run", path, "--", "--epochs", "3"]) == 0
    assert capsys.readouterr().out == "['--epochs', '3']\n"


def test_run_runtime_error_prints_m_traceback_and_exits_1(tmp_path, capsys):
    path = write(tmp_path, "p.m", "func f(x) { return 1 / x }\nf(0)\n")
    assert main(["run", path]) == 1
    err = capsys.readouterr().err
    assert "M traceback (most recent call last):" in err
    assert f"{path}:1:20: error: ZeroDivisionError: division by zero" in err
    assert "Traceback" not in err.replace("M traceback", "")


def test_check_reports_every_error_and_runs_nothing(tmp_path, capsys):
    path = write(tmp_path, "p.m", 'print("ran")\nprint(nope)\nbreak\n')
    assert main(["check", path]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{path}:2:7: error: undefined name 'nope'" in captured.err
    assert f"{path}:3:1: error: 'break' outside a loop" in captured.err
    assert "    print(nope)\n          ^^^^" in captured.err
    assert f"{path}: 2 errors" in captured.err
    assert main(["check", write(tmp_path, "ok.m", "print(1)\n")]) == 0


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.m")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2


def test_fmt_rewrites_and_check_mode_reports(tmp_path, capsys):
    path = write(tmp_path, "p.m", "x=1\n")
    assert main(["fmt", "--check", path]) == 1
    assert main(["fmt", path]) == 0
    assert (tmp_path / "p.m").read_text() == "x = 1\n"
    assert main(["fmt", "--check", path]) == 0


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("m 0.")
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "m run train.m -- --epochs 3" in out and "check" in out and "fmt" in out


def test_python_dash_m_runs_the_same_command(tmp_path):
    path = write(tmp_path, "p.m", 'print("hello from m")\n')
    done = subprocess.run([sys.executable, "-m", "mlang", "run", path], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, "hello from m\n")
