"""`mlang.lsp.Analysis`, the Python side of the language server: what hover, completion and
definition answer for a document, including while it does not parse."""
from __future__ import annotations

from lsprotocol import types as lsp

from mlang.lang.diagnostics import Diagnostic, Span
from mlang.lsp import Analysis
from mlang.lsp.server import to_lsp_diagnostic
from mlang.lsp.text import bracket_depth, codepoint_column, utf16_column

SOURCE = """\
metamodel Encoder {
    input: Tensor[float32, B, 16]
    width: int = 8
}
model Wide extends Encoder {
    width = 32
    Dense(width)
    Dropout(0.1)
}
func scale(values: List[float], factor = 2.5) {
    scaled = [v * factor for v in values]
    return scaled
}
rates = [0.1, 0.2]
config = {lr: 0.01, epochs: 3}
name = f"run-{len(rates)}"
ratio = 3 / 2
ok = ratio > 1 and true
enc = Wide()
"""


def analysis(source: str = SOURCE, **kw) -> Analysis:
    return Analysis(source, "/virtual/doc.m", **kw)


def hover_text(a: Analysis, line: int, column: int) -> str:
    return a.hover(line, column)[0].removeprefix("```m\n").removesuffix("\n```")


def test_hover_infers_types_of_literals_operators_and_model_instances():
    a = analysis()
    assert a.diagnostics == []
    assert hover_text(a, 14, 0) == "rates: List[float]"
    assert hover_text(a, 15, 0) == "config: Dict[str, Any]"  # float and int values: no one type
    assert hover_text(a, 16, 0) == "name: str"
    assert hover_text(a, 17, 0) == "ratio: float"
    assert hover_text(a, 18, 0) == "ok: bool"
    assert hover_text(a, 19, 0) == "enc: Wide: Model[Tensor[float32, B, 16] -> Tensor[float32, B, 32]]"


def test_hover_on_parameters_uses_the_annotation_or_the_default():
    a = analysis()
    assert hover_text(a, 10, 11) == "(parameter) values: List[float]"
    assert hover_text(a, 10, 33) == "(parameter) factor: float"


def test_hover_on_a_model_shows_bound_fields_and_each_layers_shapes():
    text = hover_text(analysis(), 5, 7)
    assert text.splitlines() == [
        "model Wide extends Encoder {",
        "    input: Tensor[float32, B, 16]",
        "    output: Tensor[float32, B, 32]",
        "    width: int = 32",
        "    Dense(width)    // Tensor[float32, B, 16] -> Tensor[float32, B, 32]",
        "    Dropout(0.1)    // Tensor[float32, B, 32] -> Tensor[float32, B, 32]",
        "}",
    ]


def test_completion_keeps_working_on_the_last_parse_while_the_text_is_broken():
    good = analysis()
    broken = analysis(SOURCE + "enc.\n", fallback=good)
    assert broken.diagnostics and broken.diagnostics[0].severity == "error"
    labels = {c.label for c in broken.completions(20, 4)}
    assert {"width", "input", "summary"} <= labels


def test_completion_inside_a_function_sees_its_parameters_and_locals():
    labels = {c.label: c.kind for c in analysis().completions(12, 4)}
    assert labels["values"] == "variable" and labels["scaled"] == "variable" and labels["scale"] == "function"
    assert "Dense" in labels and labels["Dense"] != "layer"  # layers are offered as layers in model bodies only


def test_definition_of_a_field_goes_to_its_declaration_in_the_base():
    a = analysis()
    span = a.definition(7, 11)  # Dense(width)
    assert (span.line, span.column) == (3, 5)
    assert a.definition(19, 7).line == 5  # Wide()


def test_a_check_error_without_an_end_covers_the_word_it_starts_and_carries_its_hint():
    diagnostic = Diagnostic("undefined name 'totl'", Span("/x.m", 2, 7), hint="did you mean 'total'?")
    converted = to_lsp_diagnostic(diagnostic, ["total = 1", "print(totl)"])
    assert converted.range == lsp.Range(lsp.Position(1, 6), lsp.Position(1, 10))
    assert converted.message == "undefined name 'totl'\nhint: did you mean 'total'?"


def test_columns_are_counted_in_utf16_units_for_the_client():
    line = 's = "😀"; print(zz)'
    column = line.index("zz")
    assert utf16_column(line, column) == column + 1
    assert codepoint_column(line, column + 1) == column
    diagnostic = analysis(line + "\n").diagnostics[0]
    assert to_lsp_diagnostic(diagnostic, [line]).range.start == lsp.Position(0, column + 1)


def test_bracket_depth_skips_strings_and_comments():
    assert bracket_depth("f(x) {") == 1
    assert bracket_depth('s = "}" // {\n# (\n/* [ */ x') == 0
    assert bracket_depth("/* open") == 1
    assert bracket_depth("}") == -1


def test_words_in_comments_and_strings_get_no_hover_and_no_completion():
    a = analysis('rates = 1\nlabel = "rates"  // rates\n')
    assert a.hover(1, 0) is not None
    assert a.hover(2, 10) is None and a.hover(2, 21) is None
    assert a.completions(2, 12) == [] and a.completions(2, 25) == []


def test_an_imported_model_brings_the_fields_of_its_base_from_its_own_file(tmp_path):
    (tmp_path / "base.m").write_text("metamodel Root {\n    input: Tensor[float32, B, 4]\n    depth: int = 3\n}\n")
    (tmp_path / "mid.m").write_text('from "base.m" import Root\nmodel Mid extends Root {\n    Dense(depth)\n}\n')
    source = 'from "mid.m" import Mid\nm = Mid()\nm.\n'
    app = str(tmp_path / "app.m")
    doc = Analysis(source, app, fallback=Analysis(source.replace("m.\n", ""), app))
    labels = {c.label for c in doc.completions(3, 2)}
    assert {"depth", "input"} <= labels
    span = doc.definition(2, 5)
    assert (span.file, span.line) == (str(tmp_path / "mid.m"), 2)


def test_inside_a_call_completion_offers_its_keyword_arguments_first():
    source = SOURCE + "scale(rates, )\nother = Wide(wi"
    doc = analysis(source, fallback=analysis(SOURCE))
    assert [c.label for c in doc.completions(20, 13)][:2] == ["values=", "factor="]
    assert [c.label for c in doc.completions(21, 15)][0] == "width="
    layer = [c.label for c in analysis("model M {\n    input: Tensor[float32, B, 4]\n    Dense(2, )\n}\n")
             .completions(3, 13) if c.kind == "argument"]
    assert layer == ["units=", "bias=", "activation="]  # span and input_shape are not for M code


def test_a_functions_locals_are_not_module_names_and_deep_nesting_does_not_crash():
    doc = analysis("func f() {\n    inner = 1\n    return inner\n}\nprint(inner)\n")
    assert hover_text(doc, 3, 12) == "inner: int"
    assert doc.hover(5, 7) is None and doc.definition(5, 7) is None
    deep = analysis("y = " + " + ".join(["1"] * 3000) + "\n")
    assert deep.hover(1, 0) is not None


def test_the_editor_reads_the_front_ends_resolution_once(tmp_path):
    """Scopes, imported files and the models' fields come from the one check of the document
    (`check_program`): an imported file is not parsed again, and a model extending a standard
    metamodel offers the fields it inherits, with where they are declared."""
    (tmp_path / "lib.m").write_text("func helper(a: int) { return a }\n")
    source = ('import "lib.m"\nmodel Sentiment extends TextClassifier {\n    num_labels = 3\n}\n'
              'clf = Sentiment()\nx = lib.helper(1)\n')
    doc = Analysis(source, str(tmp_path / "app.m"))
    resolved = str(tmp_path / "lib.m")
    assert doc.imported(resolved).module is doc.program.programs[resolved].module
    assert [s.kind for s in doc.program.scopes][:1] == ["module"]
    fields = doc.model_fields(doc.program.models["Sentiment"])
    assert {"pretrained_model", "num_labels", "dropout"} <= set(fields)
    decl, owner = fields["dropout"]
    assert owner.name == "TextClassifier" and decl.span.file.endswith("text.m")
    labels = [c.label for c in doc.completions(5, 16)]
    assert "num_labels=" in labels and "dropout=" in labels


def test_a_call_of_a_nested_function_reads_that_functions_declaration_not_a_namesakes():
    source = ("func f(a) {\n    return a\n}\nfunc g() {\n    func f(x: int, y: int) -> int {\n        return x\n    }\n"
              "    n = f(1, 2)\n    return f(1, )\n}\nm = f(3)\n")
    doc = analysis(source)
    assert doc.diagnostics == []
    assert hover_text(doc, 8, 4) == "n: int"  # the inner f's declared return type
    assert [c.label for c in doc.completions(9, 16)][:2] == ["x=", "y="]
    assert hover_text(doc, 11, 0) == "m: Any"  # the module's f declares none
