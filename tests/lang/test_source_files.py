"""Reading M files: bytes that are not UTF-8 are an error at their line and column for `m check`
and `m run`; lines end at "\\n" only, so a traceback quotes the line it names."""
from mlang.cli import main


def test_a_file_that_is_not_utf8_is_an_error_at_its_line_and_column(tmp_path, capsys):
    program = tmp_path / "latin1.m"
    program.write_bytes(b"x = 1\ny = 2 // caf\xe9\n")
    for command in ("check", "run"):
        assert main([command, str(program)]) == 1
        err = capsys.readouterr().err
        assert f"{program}:2:13: error: this file is not UTF-8 text" in err and "Traceback" not in err


def test_a_runtime_error_after_a_line_separator_in_a_comment_quotes_its_own_line(tmp_path, capsys):
    program = tmp_path / "separator.m"
    program.write_text('x = 1 // a\u2028b\fc\nprint(x / 0)\n', encoding="utf-8")
    assert main(["run", str(program)]) == 1
    err = capsys.readouterr().err
    assert f"{program}:2:" in err and "print(x / 0)" in err
