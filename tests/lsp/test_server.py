"""The language server over stdio, as an editor drives it: JSON-RPC initialize, didOpen/didChange,
publishDiagnostics, hover, completion and definition."""
from __future__ import annotations

import queue

import pytest

from lsp_client import LspClient

# LSP CompletionItemKind values
FUNCTION, CONSTRUCTOR, FIELD, CLASS, KEYWORD = 3, 4, 5, 7, 14

LIB = """\
// shared declarations
metamodel Base {
    input: Image[3, 32, 32]
    n: int = 4
}
func helper(k: int) -> int {
    return k * 2
}
"""

MAIN = """\
import "lib.m"
from "lib.m" import Base, helper
model Net extends Base {
    Conv2D(8, kernel=3, padding="same")
    ReLU()
    Flatten()
    Dense(n)
}
net = Net()
total = helper(3) + lib.helper(2)
print(net.n, totl)
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("project")
    (folder / "lib.m").write_text(LIB)
    (folder / "main.m").write_text(MAIN)
    return folder


@pytest.fixture(scope="module")
def server():
    client = LspClient()
    result = client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, timeout=120)
    client.notify("initialized", {})
    client.capabilities = result["capabilities"]
    yield client
    client.close()
    assert client.process.returncode == 0


@pytest.fixture(scope="module")
def main_uri(server, project):
    uri = (project / "main.m").as_uri()
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "m", "version": 1,
                                                            "text": MAIN}})
    server.opened_diagnostics = server.diagnostics(uri, timeout=120)
    return uri


def at(uri: str, line: int, character: int) -> dict:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


def test_the_server_announces_its_features(server):
    caps = server.capabilities
    assert caps["hoverProvider"] and caps["definitionProvider"]
    assert "." in caps["completionProvider"]["triggerCharacters"]


def test_a_check_error_is_published_with_its_0_based_range(server, main_uri):
    [diagnostic] = server.opened_diagnostics
    assert diagnostic["range"] == {"start": {"line": 10, "character": 13}, "end": {"line": 10, "character": 17}}
    assert diagnostic["message"].startswith("undefined name 'totl'")
    assert "did you mean 'total'?" in diagnostic["message"]
    assert diagnostic["severity"] == 1


def test_a_syntax_error_is_reported_and_cleared_when_fixed(server, project):
    uri = (project / "scratch.m").as_uri()
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "m", "version": 1,
                                                            "text": "x = 1\ny = (x +\n"}})
    [diagnostic] = server.diagnostics(uri)
    assert diagnostic["severity"] == 1
    assert diagnostic["range"]["start"]["line"] in (1, 2)
    server.notify("textDocument/didChange", {
        "textDocument": {"uri": uri, "version": 2},
        "contentChanges": [{"range": {"start": {"line": 1, "character": 8}, "end": {"line": 1, "character": 8}},
                            "text": " 2)"}]})
    assert server.diagnostics(uri) == []


def test_hover_shows_an_inferred_model_type_with_shapes(server, main_uri):
    hover = server.request("textDocument/hover", at(main_uri, 8, 1))
    assert "net: Net: Model[Image[3, 32, 32] -> Tensor[float32, B, 4]]" in hover["contents"]["value"]
    assert hover["range"] == {"start": {"line": 8, "character": 0}, "end": {"line": 8, "character": 3}}


def test_hover_on_a_layer_shows_its_input_and_output_shapes(server, main_uri):
    value = server.request("textDocument/hover", at(main_uri, 5, 6))["contents"]["value"]
    assert "Flatten()" in value
    assert "input:  Tensor[float32, B, 8, 32, 32]" in value
    assert "output: Tensor[float32, B, 8192]" in value


def test_hover_on_a_model_declaration_lists_fields_and_layer_shapes(server, main_uri):
    value = server.request("textDocument/hover", at(main_uri, 2, 7))["contents"]["value"]
    assert "model Net extends Base {" in value
    assert "n: int = 4" in value
    assert "Dense(n)    // Tensor[float32, B, 8192] -> Tensor[float32, B, 4]" in value


def test_hover_on_a_builtin_shows_its_signature(server, main_uri):
    value = server.request("textDocument/hover", at(main_uri, 10, 2))["contents"]["value"]
    assert "(builtin) print(" in value


def test_completion_after_a_dot_lists_the_model_fields(server, main_uri):
    items = server.request("textDocument/completion", at(main_uri, 10, 10))["items"]
    labels = {i["label"] for i in items}
    assert {"n", "input", "summary", "parameters"} <= labels
    assert "print" not in labels


def test_completion_offers_keywords_builtins_and_names_in_scope(server, main_uri):
    items = {i["label"]: i for i in server.request("textDocument/completion", at(main_uri, 10, 0))["items"]}
    assert {"metamodel", "extends", "func", "print", "net", "total", "helper", "Net", "lib"} <= set(items)
    assert items["Net"]["kind"] == CLASS and items["extends"]["kind"] == KEYWORD
    assert items["Conv2D"]["kind"] == FUNCTION  # a builtin here; a layer in a model body


def test_completion_in_a_model_body_offers_layers_and_fields(server, main_uri):
    items = {i["label"]: i for i in server.request("textDocument/completion", at(main_uri, 5, 4))["items"]}
    assert {"Conv2D", "Dense", "ReLU", "n"} <= set(items)
    assert items["Conv2D"]["kind"] == CONSTRUCTOR and items["n"]["kind"] == FIELD


def test_definition_of_a_name_imported_from_another_m_file(server, main_uri, project):
    location = server.request("textDocument/definition", at(main_uri, 9, 9))  # helper(3)
    assert location["uri"] == (project / "lib.m").as_uri()
    assert location["range"]["start"] == {"line": 5, "character": 5}


def test_definition_through_a_module_attribute_and_a_model_field(server, main_uri, project):
    location = server.request("textDocument/definition", at(main_uri, 9, 25))  # lib.helper
    assert location["uri"] == (project / "lib.m").as_uri()
    assert location["range"]["start"]["line"] == 5
    field = server.request("textDocument/definition", at(main_uri, 10, 10))  # net.n
    assert field["range"]["start"] == {"line": 3, "character": 4}


def test_definition_of_a_local_declaration_and_of_an_import_path(server, main_uri, project):
    net = server.request("textDocument/definition", at(main_uri, 8, 7))  # Net()
    assert net == {"uri": main_uri, "range": {"start": {"line": 2, "character": 6},
                                               "end": {"line": 2, "character": 9}}}
    path = server.request("textDocument/definition", at(main_uri, 0, 9))  # "lib.m"
    assert path["uri"] == (project / "lib.m").as_uri()


def test_errors_in_an_imported_file_are_published_for_that_file_and_saving_rechecks(server, tmp_path):
    (tmp_path / "broken.m").write_text("func half(n) {\n    return n / tw\n}\n")
    uri, lib_uri = (tmp_path / "app.m").as_uri(), (tmp_path / "broken.m").as_uri()
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "m", "version": 1,
                                                            "text": 'from "broken.m" import half\nhalf(4)\n'}})
    [lib_error] = server.diagnostics(lib_uri)
    assert lib_error["message"].startswith("undefined name 'tw'")
    assert lib_error["range"]["start"] == {"line": 1, "character": 15}
    (tmp_path / "broken.m").write_text("func half(n) {\n    return n / 2\n}\n")
    server.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert server.diagnostics(lib_uri) == []  # cleared once the import is fine


def test_a_burst_of_changes_is_checked_once_and_a_request_sees_the_latest_text(server, tmp_path):
    uri = (tmp_path / "typing.m").as_uri()
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "m", "version": 1,
                                                            "text": "a = 1\n"}})
    assert server.diagnostics(uri) == []
    for version, text in enumerate(["a = 1\nb", "a = 1\nbe", "a = 1\nbest = a * 2.0\n"], start=2):
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                 "contentChanges": [{"text": text}]})
    hover = server.request("textDocument/hover", at(uri, 1, 1))
    assert "best: float" in hover["contents"]["value"]
    assert server.diagnostics(uri) == []
    with pytest.raises(queue.Empty):  # nothing more: the intermediate texts were never checked
        server.diagnostics(uri, timeout=1)


def test_formatting_returns_m_fmts_layout_as_one_edit(server, tmp_path):
    from mlang.lang.formatter import format_source

    uri = (tmp_path / "messy.m").as_uri()
    text = "func   f(a,b){\nreturn a+b}\nx=f(1,2)\n"
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "m", "version": 1,
                                                            "text": text}})
    [edit] = server.request("textDocument/formatting", {"textDocument": {"uri": uri},
                                                        "options": {"tabSize": 4, "insertSpaces": True}})
    assert edit["newText"] == format_source(text) != text
    assert edit["range"] == {"start": {"line": 0, "character": 0}, "end": {"line": 3, "character": 0}}
    broken = (tmp_path / "broken_fmt.m").as_uri()
    server.notify("textDocument/didOpen", {"textDocument": {"uri": broken, "languageId": "m", "version": 1,
                                                            "text": "x = (\n"}})
    assert server.request("textDocument/formatting", {"textDocument": {"uri": broken},
                                                      "options": {"tabSize": 4, "insertSpaces": True}}) is None
