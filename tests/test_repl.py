"""`m repl`: one module scope across inputs, multi-line blocks, values printed, errors reported
without ending the session; piped stdin works without a terminal."""
from __future__ import annotations

import io
import subprocess
import sys

from mlang.repl import Repl, main, serve


def session_output(*inputs: str) -> tuple[str, str, list[bool]]:
    out, err = io.StringIO(), io.StringIO()
    session = Repl(out=out, err=err)
    results = [session.run(text) for text in inputs]
    return out.getvalue(), err.getvalue(), results


def test_names_persist_across_inputs_and_expression_values_print():
    out, err, results = session_output("x = 20", "x + 1", 'label = "n=" + str(x)', "label", "none")
    assert out == "21\n'n=20'\n"
    assert err == "" and all(results)


def test_a_check_error_is_reported_and_the_session_goes_on():
    out, err, results = session_output("x = 1", "y = x + undefind", "x * 3")
    assert results == [True, False, True]
    assert "<repl>:2:9: error: undefined name 'undefind'" in err
    assert out == "3\n"


def test_a_runtime_error_shows_the_m_line_and_keeps_earlier_names():
    out, err, results = session_output("items = [1, 2]", "items[5]", "len(items)")
    assert results == [True, False, True]
    assert "IndexError" in err and "items[5]" in err
    assert out == "2\n"


def test_a_function_can_be_declared_again_with_a_new_body():
    out, _, results = session_output("func f(n) { return n + 1 }", "f(1)", "func f(n) { return n * 10 }", "f(1)")
    assert all(results) and out == "2\n10\n"


def test_a_model_declared_in_the_session_is_instantiated_in_a_later_input(capsys):
    _, err, _ = session_output("model Tiny {\n    input: Tensor[float32, B, 4]\n    Dense(3)\n}\n",
                               "t = Tiny()", "print(t.output_type)")
    assert err == ""
    assert capsys.readouterr().out == "Tensor[float32, B, 3]\n"  # M's print writes to stdout


def test_open_braces_continue_the_input_over_several_lines():
    out, err = io.StringIO(), io.StringIO()
    lines = iter(["total = 0\n", "for i in range(4) {\n", "    total += i\n", "}\n", "total\n", ":quit\n",
                  "total\n"])
    ok = serve(Repl(out=out, err=err), lambda prompt: next(lines, ""), interactive=False)
    assert ok and err.getvalue() == ""
    assert out.getvalue() == "6\n"  # nothing after :quit runs


def test_braces_in_strings_and_comments_do_not_continue_the_input():
    assert Repl.complete('s = "{"  // {\n')
    assert Repl.complete("x = 1 /* { */\n")
    assert not Repl.complete("func f() {\n")
    assert not Repl.complete('s = """open\n')
    assert not Repl.complete("x = 1 /* a comment\n")


def test_an_input_with_a_lexical_error_is_complete_once_its_brackets_close():
    # The lexer's reading goes on past a character or a string it cannot read: the input runs,
    # and its error is reported, instead of waiting for more lines.
    assert not Repl.complete("f($,\n")
    assert Repl.complete("f($,\n)\n")
    assert Repl.complete('print("no end)\n')  # no later line can close that string
    assert not Repl.complete('print("""no end)\n')


def test_m_repl_reads_piped_stdin_and_exits_1_after_an_error(monkeypatch, capsys):
    script = "x = 6\nfunc twice(n) {\n    return 2 * n\n}\ntwice(x)\nprint(nope)\ntwice(x) + 1\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))  # not a terminal: no prompts, no banner
    assert main() == 1
    printed = capsys.readouterr()
    assert printed.out == "12\n13\n"
    assert "undefined name 'nope'" in printed.err


def test_m_repl_exits_0_when_every_piped_input_succeeds(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("print(1 + 1)\n"))
    assert main() == 0
    assert capsys.readouterr().out == "2\n"


def test_a_function_from_an_earlier_input_still_declares_its_own_model(capsys):
    _, err, results = session_output(
        "func make() {\n    model Inner {\n        input: Tensor[float32, B, 2]\n        Dense(5)\n    }\n"
        "    return Inner()\n}\n",
        "model Other {\n    input: Tensor[float32, B, 3]\n    Dense(7)\n}\n",
        "print(make().output_type)", "print(Other().output_type)")
    assert err == "" and all(results)
    assert capsys.readouterr().out == "Tensor[float32, B, 5]\nTensor[float32, B, 7]\n"


def test_tab_suggestions_come_from_the_session_builtins_and_model_members():
    session = Repl(out=io.StringIO(), err=io.StringIO())
    session.run("model Tiny {\n    input: Tensor[float32, B, 4]\n    hidden: int = 8\n    Dense(hidden)\n}\n")
    session.run("tiny_net = Tiny()")
    assert session.suggestions("tin") == ["tiny_net"]
    assert "print" in session.suggestions("x = pri")
    assert session.suggestions("tiny_net.hi") == ["tiny_net.hidden"]
    assert "tiny_net.output_type" in session.suggestions("tiny_net.out")


def test_an_inputs_diagnostics_are_those_m_check_prints_for_the_same_text(tmp_path):
    # The stdlib's metamodel fields, a builtin's keyword and an undefined name: the checker, the
    # models stage's plugin and the builtin registry, read from the one resolved program.
    text = ("func go(data) {\n    net = TextClassifier(num_label=2)\n    print(undefind)\n"
            "    return fineTuneModel(net, data, epoch=3)\n}\n")
    program = tmp_path / "go.m"
    program.write_text(text)
    checked = subprocess.run([sys.executable, "-m", "mlang", "check", str(program)], capture_output=True,
                             text=True)
    assert checked.returncode == 1
    _, err, results = session_output(text)
    assert results == [False]
    assert err.count("error:") == 3 and "did you mean 'num_labels'?" in err
    assert err.replace("<repl>", str(program)) + f"{program}: 3 errors\n" == checked.stderr


def test_a_model_declared_again_replaces_the_earlier_one_for_the_checker_and_completion():
    session = Repl(out=io.StringIO(), err=io.StringIO())
    assert session.run("model Tiny {\n    input: Tensor[float32, B, 4]\n    hidden: int = 8\n    Dense(hidden)\n}\n")
    assert session.run("model Tiny {\n    input: Tensor[float32, B, 4]\n    width: int = 8\n    Dense(width)\n}\n")
    assert session.run("print(Tiny(width=2).output_type)")  # two inputs on: still the newer Tiny
    assert not session.run("Tiny(hidden=2)")
    assert "<repl>:12:6: error: Tiny has no field 'hidden'" in session.err.getvalue()
    assert session.run("t = Tiny()")
    assert session.suggestions("t.wi") == ["t.width"] and session.suggestions("t.hi") == []


def test_a_name_declared_twice_in_one_input_is_still_an_error():
    _, err, results = session_output("func f() { return 1 }\nfunc f() { return 2 }\n")
    assert results == [False]
    assert "<repl>:2:1: error: 'f' is already declared on line 1" in err
