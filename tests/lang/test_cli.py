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


# ---------------------------------------------------------------- m fmt: the same program, or no change

def fmt_file(tmp_path, capsys, text, name="p.m"):
    """`m fmt` on a file holding `text`: (exit code, the file's text afterwards, stderr)."""
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    code = main(["fmt", str(path)])
    return code, path.read_bytes().decode("utf-8", "replace"), capsys.readouterr().err


def run_file_output(tmp_path, capsys, text, name="run.m"):
    path = write(tmp_path, name, text)
    assert main(["run", path]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_fmt_keeps_a_form_feed_or_line_separator_inside_a_line_comment(tmp_path, capsys):
    for text in ["// a\fprint(2)\nprint(1)\n", "// a\u2028print(2)\nprint(1)\n", "print(1)  // a\fprint(2)\n"]:
        code, formatted, _ = fmt_file(tmp_path, capsys, text)
        assert code == 0 and formatted == text  # already canonical: the comment's rest stays comment
        assert run_file_output(tmp_path, capsys, formatted) == "1\n"


def test_fmt_keeps_a_dict_after_else_in_a_conditional_expression(tmp_path, capsys):
    code, formatted, _ = fmt_file(tmp_path, capsys, "c = 1\nx = 0\nd = c if x else ({})\nprint(d)\n")
    assert (code, formatted) == (0, "c = 1\nx = 0\nd = c if x else {}\nprint(d)\n")
    assert run_file_output(tmp_path, capsys, formatted) == "{}\n"


def test_fmt_never_splits_an_f_string_field_across_lines(tmp_path, capsys):
    call = "max(" + ", ".join(["x"] * 40) + ")"
    code, formatted, _ = fmt_file(tmp_path, capsys, f'x = 1\nprint(f"{{{call}}}", 2)\n')
    assert code == 0
    assert formatted == f'x = 1\nprint(\n    f"{{{call}}}",\n    2,\n)\n'  # the call breaks, the field does not
    assert run_file_output(tmp_path, capsys, formatted) == "1 2\n"
    alone = f'x = 1\nprint(f"{{{call}}}")\n'  # one element too long for any line: nothing to gain
    assert fmt_file(tmp_path, capsys, alone)[:2] == (0, alone)


def test_fmt_keeps_f_strings_nested_three_deep_as_written(tmp_path, capsys):
    source = "x = f\"\"\"{f'{\"a\"}'}\"\"\"\nprint(x, f\"{x + 'b'}\")\n"
    code, formatted, err = fmt_file(tmp_path, capsys, source)
    assert (code, formatted) == (0, source), err
    assert run_file_output(tmp_path, capsys, formatted) == "a ab\n"


def test_fmt_keeps_strings_with_line_separators_as_written(tmp_path, capsys):
    source = 'x = "a\x85b"\n\ny = "c\u2028d"  // c\n\nprint(ord(x[1]), ord(y[1]))\n'
    code, formatted, _ = fmt_file(tmp_path, capsys, source)
    assert (code, formatted) == (0, source)  # only "\n" ends a line of M
    assert run_file_output(tmp_path, capsys, formatted) == "133 8232\n"


def test_fmt_is_idempotent_on_block_comments_inside_expressions(tmp_path, capsys):
    source = "x = [1, /* one\n   two */ 2,\n  3]  /* after */ /* more */\ny = len(/* a */ x)\n"
    code, formatted, _ = fmt_file(tmp_path, capsys, source)
    assert code == 0
    assert formatted == "/* one\ntwo */\nx = [1, 2, 3]  /* after */  /* more */\ny = len(x)  /* a */\n"
    assert fmt_file(tmp_path, capsys, formatted)[:2] == (0, formatted)


def test_fmt_reports_a_file_that_is_not_utf8_and_leaves_it(tmp_path, capsys):
    source = b'x = 1\nprint("\xff")\n'
    path = tmp_path / "bad.m"
    path.write_bytes(source)
    other = write(tmp_path, "good.m", "x=1\n")
    assert main(["fmt", str(path), other]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2:8: error: this file is not UTF-8 text: byte 0xff" in err and "Traceback" not in err
    assert path.read_bytes() == source
    assert (tmp_path / "good.m").read_text() == "x = 1\n"  # the other files are still formatted


def test_fmt_writes_a_hex_literal_too_long_for_decimal(tmp_path, capsys):
    digits = "f" * 4400
    code, formatted, err = fmt_file(tmp_path, capsys, f"x=0x{digits}\nprint(x % 1000)\n")
    assert code == 0, err
    assert formatted == f"x = 0x{digits}\nprint(x % 1000)\n"
    assert run_file_output(tmp_path, capsys, formatted) == f"{int(digits, 16) % 1000}\n"


def test_fmt_and_run_long_flat_chains(tmp_path, capsys):
    terms = " + ".join(["1"] * 1000)
    elifs = "".join(f" else if x == {i} {{\n    y = {i}\n}}" for i in range(1, 500))
    ternary = " if x == 0 else ".join(["2"] * 500)
    source = f"x = 3\ny = 0\nif x == 0 {{\n    y = 0\n}}{elifs}\nz = {terms}\nw = {ternary}\nprint(y, z, w)\n"
    code, formatted, _ = fmt_file(tmp_path, capsys, source)
    assert code == 0
    wrapped = "(\n    1\n" + "    + 1\n" * 999 + ")"  # past 100 columns: one operand a line
    assert formatted == source.replace(terms, wrapped)
    assert fmt_file(tmp_path, capsys, formatted)[:2] == (0, formatted)
    assert run_file_output(tmp_path, capsys, formatted) == "3 1000 2\n"


def test_fmt_refuses_nesting_deeper_than_the_limit_and_changes_nothing(tmp_path, capsys):
    source = "x = 1\n" + "".join("if x {\n" for _ in range(200)) + "}\n" * 200
    code, formatted, err = fmt_file(tmp_path, capsys, source)
    assert (code, formatted) == (1, source)
    assert f"{tmp_path / 'p.m'}:102:6: error: brackets and blocks nest more than 100 levels deep here" in err
    assert "hint:" in err and "Traceback" not in err


def test_fmt_checks_its_output_and_changes_nothing_when_it_is_wrong(tmp_path, capsys, monkeypatch):
    from mlang.lang import formatter

    source = "x = 1\nprint(x)\n"
    for broken in [lambda self, e, indent: ("(", 13),  # output that does not parse
                   lambda self, e, indent: (e.id + "_", 13)]:  # output that is another program
        monkeypatch.setattr(formatter._Formatter, "e_Name", broken)
        code, formatted, err = fmt_file(tmp_path, capsys, source)
        assert (code, formatted) == (1, source)
        assert f"{tmp_path / 'p.m'}:" in err and "m fmt would" in err and "left unchanged" in err
    calls = []

    def unstable(self, e, indent):  # each layout differs from the one before
        calls.append(e)
        return (e.id + ("" if len(calls) < 2 else " "), 13)
    monkeypatch.setattr(formatter._Formatter, "e_Name", unstable)
    code, formatted, err = fmt_file(tmp_path, capsys, "x=1\n")
    assert (code, formatted) == (1, "x=1\n")
    assert "m fmt is not stable on this program" in err


def test_fmt_keeps_an_f_string_nested_four_deep_as_written(tmp_path, capsys):
    source = "x = f\"\"\"{f'''{f\"{'a'}\"}'''}\"\"\"\nprint(x)\n"
    assert run_file_output(tmp_path, capsys, source) == "a\n"  # valid M
    code, formatted, err = fmt_file(tmp_path, capsys, source)
    assert (code, formatted) == (0, source), err


def test_check_and_run_a_file_with_a_byte_order_mark(tmp_path, capsys):
    path = tmp_path / "bom.m"
    path.write_bytes("\ufeffprint(nope)\n".encode("utf-8"))
    assert main(["check", str(path)]) == 1
    assert f"{path}:1:7: error: undefined name 'nope'" in capsys.readouterr().err
    path.write_bytes("\ufeffx = 1\nprint(x)\n".encode("utf-8"))
    assert main(["run", str(path)]) == 0 and capsys.readouterr().out == "1\n"
    assert main(["fmt", str(path)]) == 0
    assert path.read_bytes() == b"x = 1\nprint(x)\n"  # canonical layout drops the mark


def test_check_reports_debug_assignment_that_run_would_refuse(tmp_path, capsys):
    path = write(tmp_path, "d.m", "__debug__ = 1\nfunc f(__debug__) { return 1 }\n")
    assert main(["check", path]) == 1
    err = capsys.readouterr().err
    assert f"{path}:1:1: error: '__debug__' cannot be assigned: Python reserves the name" in err
    assert f"{path}:2:8: error: '__debug__' cannot be assigned" in err
    assert main(["run", path]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_fmt_rewrites_the_file_a_link_names_and_keeps_its_mode(tmp_path, capsys):
    target = tmp_path / "real.m"
    target.write_text("x=1\n")
    target.chmod(0o640)
    link = tmp_path / "link.m"
    link.symlink_to(target)
    assert main(["fmt", str(link)]) == 0
    assert link.is_symlink() and target.read_text() == "x = 1\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.m", "real.m"]  # no temporary file left
