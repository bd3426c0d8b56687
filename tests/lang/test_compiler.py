"""The compiler and runtime: M line numbers, blocks, imports, the API used by the models stage."""
import pytest

import mlang.lang as lang
from mlang.lang import MError, MRuntimeError, compile_expression, compile_forward, parse
from mlang.lang import registry, runtime


def test_code_carries_the_m_file_name_and_line_numbers():
    compiled = lang.compile_source("x = 1\n\nfunc f() {\n    return x\n}\n", "lines.m")
    assert compiled.code.co_filename == "lines.m"
    f_code = next(c for c in compiled.code.co_consts if hasattr(c, "co_name") and c.co_name == "f")
    assert f_code.co_firstlineno == 3 and f_code.co_filename == "lines.m"


def test_runtime_error_has_an_m_traceback_and_caret(tmp_path):
    path = tmp_path / "boom.m"
    path.write_text("func inner(x) {\n    return [1][x]\n}\nfunc outer() { return inner(3) }\nouter()\n")
    with pytest.raises(MRuntimeError) as caught:
        lang.run_file(path)
    text = lang.format_error(caught.value)
    assert text.splitlines()[0] == "M traceback (most recent call last):"
    assert f"{path}:5" in text and f"{path}:4, in outer" in text and f"{path}:2, in inner" in text
    assert f"{path}:2:12: error: IndexError: list index out of range" in text
    assert "compiler.py" not in text and "runtime.py" not in text
    assert isinstance(caught.value.__cause__, IndexError)


def test_m_error_without_span_gets_the_calling_line(tmp_path):
    path = tmp_path / "e.m"
    path.write_text('x = 1\nerror("bad input", hint="check the file")\n')
    with pytest.raises(MError) as caught:
        lang.run_file(path)
    d = caught.value.diagnostics[0]
    assert (d.span.line, d.message, d.hint) == (2, "bad input", "check the file")


def test_compile_expression_evaluates_with_fields_in_scope():
    decl = parse("model M {\n    hidden: int = 4\n    Dense(hidden * 2, name=label)\n}\n", "m.m").body[0]
    call = decl.layers[0].call
    fields = {"hidden": 16, "label": "out"}
    assert eval(compile_expression(call.args[0], "m.m"), {}, fields) == 32
    assert eval(compile_expression(call.keywords[0].value, "m.m"), {}, fields) == "out"
    assert compile_expression(call.args[0], "m.m").co_filename == "m.m"


def test_compile_forward_binds_free_names_and_sees_module_globals():
    decl = parse("model M {\n    scale: int = 2\n    forward(x, shift=1) {\n        y = x * scale\n"
                 "        return helper(y) + shift\n    }\n}\n", "f.m").body[0]
    make = compile_forward(decl.forward, ["scale", "self"], "f.m", {"helper": lambda v: v + 100})
    forward = make(scale=3, self=None)
    assert forward(2) == 107 and forward(2, shift=0) == 106
    assert make(scale=10, self=None)(1) == 111  # each instance gets its own bindings
    assert forward.__code__.co_filename == "f.m" and forward.__code__.co_firstlineno == 3
    with pytest.raises(MError, match="forward needs values for self"):
        make(scale=1)


def test_model_declaration_calls_the_declare_model_hook(monkeypatch):
    seen = []

    def declare(decl, module_globals):
        seen.append((decl.name, decl.kind, module_globals["__name__"]))
        return f"<model {decl.name}>"

    monkeypatch.setitem(registry._hooks, "declare_model", declare)
    globals_ = lang.run_source("metamodel Base { size: int = 2 }\nmodel Small extends Base { size = 3 }\n"
                               "print(Small)\n", "decl.m", check=False)
    assert seen == [("Base", "metamodel", "__main__"), ("Small", "model", "__main__")]
    assert globals_["Small"] == "<model Small>"


def test_trailing_block_for_a_registered_builtin(monkeypatch, capsys):
    def pipeline(name, _block):
        return name, _block()

    registry.register_builtin("pipelineForTest", pipeline, accepts_block=True)
    try:
        globals_ = lang.run_source('n = 0\nresult = pipelineForTest("p") {\n    n += 1\n    "step"\n    none\n}\n',
                                   "blk.m")
    finally:
        registry._builtins.pop("pipelineForTest")
        runtime._namespace.pop("pipelineForTest", None)
    assert globals_["result"] == ("p", ["step"]) and globals_["n"] == 1


def test_imports_run_once_and_resolve_through_m_path(tmp_path, monkeypatch, capsys):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "shared.m").write_text('print("loading shared")\nvalue = 41\n')
    (tmp_path / "a.m").write_text('import "shared.m"\nfunc get() { return shared.value + 1 }\n')
    main = tmp_path / "main.m"
    main.write_text('import "a.m"\nfrom "shared.m" import value\nprint(a.get(), value)\n')
    monkeypatch.setenv("M_PATH", str(lib))
    lang.run_file(main)
    assert capsys.readouterr().out == "loading shared\n42 41\n"


def test_import_cycle_is_an_error_naming_the_cycle(tmp_path):
    (tmp_path / "one.m").write_text('import "two.m"\n')
    (tmp_path / "two.m").write_text('import "one.m"\n')
    diagnostics = lang.check_file(tmp_path / "one.m")
    assert [d.message for d in diagnostics] == ["import cycle: one.m → two.m → one.m"]
    with pytest.raises(MError, match="import cycle: one.m → two.m → one.m"):
        lang.run_file(tmp_path / "one.m", check=False)


def test_program_arguments_are_visible_as_args(capsys):
    lang.run_source("print(args)", "a.m", args=["--epochs", "3"])
    assert capsys.readouterr().out == "['--epochs', '3']\n"
