"""`m check` checks the standard metamodels (`TextClassifier`, ...) like the program's own models.

A value the user gives a standard metamodel — a field bound in a model that extends it, or a
keyword of a direct instantiation — that a layer of the library rejects is a check-time error at
the user's line and column (the library's line is a note), and `m run` reports the very same
error; a keyword of the wrong type is the error a program's own model gives.  What cannot be
known before the run (a value computed by a call, a hub name offline) is no check error, and the
run reports it with the same message.
"""
import textwrap

import pytest

from mlang.cli import main
from mlang.models.stdlib import STDLIB_DIR

STDLIB = str(STDLIB_DIR)


def m(command: str, tmp_path, capsys, source: str, name: str = "user.m") -> tuple[int, list[str]]:
    """Run `m check FILE` or `m run FILE` on `source`: (exit code, stderr lines without the summary)."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    capsys.readouterr()
    code = main([command, str(path)])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if not line.startswith(f"{path}: ")]


CASES = [
    pytest.param("""\
        model S extends TextClassifier {
            num_labels = 2
            pooling = "bogus"
        }
        s = S()
        """, (3, 5), "TextEncoder: unknown pooling 'bogus'", "pooling is one of: mean, cls, max, none",
        "TextEncoder at {stdlib}/text.m:40:5, in M's standard TextClassifier", id="field-bound-in-extends"),
    pytest.param('t = TextClassifier(pooling="bogus")\n', (1, 20), "TextEncoder: unknown pooling 'bogus'",
                 "pooling is one of: mean, cls, max, none", "in M's standard TextClassifier", id="keyword"),
    pytest.param('e = TextEmbedder(pooling="maen")\n', (1, 18), "TextEncoder: unknown pooling 'maen'",
                 "did you mean 'mean'? pooling is one of", "TextEncoder at {stdlib}/text.m:17:5", id="near-miss"),
    pytest.param("""\
        model Docs extends TextEmbedder {
            pretrained_model = "minilm-l6"
            chunking = "windws"
        }
        """, (3, 5), "TextEncoder: unknown chunking 'windws'", "did you mean 'windows'?",
        "in M's standard TextEmbedder", id="the-field-the-argument-reads"),
    pytest.param('t = TextClassifier(chunking="windows", max_length=64, stride=80)\n', (1, 55),
                 "TextEncoder: stride must be an integer from 0 to max_length - 3 (61), got 80", "stride is how many",
                 "in M's standard TextClassifier", id="the-keyword-at-fault-among-several"),
    pytest.param("""\
        model Base extends TextEmbedder { pooling = "cls" }
        r = Base(pooling="bogus")
        """, (2, 10), "TextEncoder: unknown pooling 'bogus'", "pooling is one of",
        "in M's standard TextEmbedder", id="keyword-of-a-model-built-on-one"),
    pytest.param('model Faces extends ImageClassifier { pretrained_model = "efficentnet-lite0" }\n', (1, 39),
                 "ImageEncoder: pretrained_model: unknown pretrained model 'efficentnet-lite0'",
                 "did you mean 'efficientnet-lite0'?", "ImageEncoder at {stdlib}/vision.m:13:5", id="image"),
    pytest.param("f = SequenceForecaster(num_layers=2, dropout=2.0)\n", (1, 38),
                 "LSTM: dropout must be in [0, 1), got 2.0", None,
                 "LSTM at {stdlib}/numeric.m:33:9, in M's standard SequenceForecaster", id="a-layer-given-to-a-layer"),
    pytest.param('model F extends SequenceForecaster {\n    window = 10\n    target = "return"\n}\n', (3, 5),
                 "Forecast: unknown target 'return'", "did you mean 'returns'? target is one of: level, returns",
                 "Forecast at {stdlib}/numeric.m:32:5", id="forecast-mode"),
    pytest.param("e = TextEmbedder(chunking=3)\n", (1, 27),
                 "field 'chunking' of TextEmbedder is str but is given int 3", None, None, id="str-field-given-int"),
    pytest.param('t = TextClassifier(num_labels="two")\n', (1, 31),
                 "field 'num_labels' of TextClassifier is int but is given str 'two'", None, None,
                 id="int-field-given-str"),
    pytest.param("i = ImageClassifier(num_labels=2.5)\n", (1, 32),
                 "field 'num_labels' of ImageClassifier is int but is given float 2.5", None, None,
                 id="int-field-given-float"),
]


@pytest.mark.parametrize("source, at, message, hint, note", CASES)
def test_a_value_given_to_a_standard_metamodel_is_checked_at_the_users_line(
        tmp_path, capsys, source, at, message, hint, note):
    code, checked = m("check", tmp_path, capsys, source)
    path = tmp_path / "user.m"
    assert code == 1
    assert checked[0] == f"{path}:{at[0]}:{at[1]}: error: {message}"
    hints = [line for line in checked if line.startswith("  hint: ")]
    assert len(hints) == (hint is not None) and all(hint in line for line in hints)
    if note is not None:
        assert checked[-1].startswith("  note: raised by ") and note.format(stdlib=STDLIB) in checked[-1]
    assert sum(line.startswith(str(path)) for line in checked) == 1  # one error, reported once
    # the run checks first: the same error, word for word, and nothing runs
    assert m("run", tmp_path, capsys, source) == (1, checked)


def test_a_programs_own_model_and_a_standard_one_word_a_wrong_type_alike(tmp_path, capsys):
    _, own = m("check", tmp_path, capsys, """\
        metamodel Mine {
            input: Text
            num_labels: int = 2
        }
        t = Mine(num_labels="two")
        """)
    _, standard = m("check", tmp_path, capsys, 't = TextClassifier(num_labels="two")\n')
    assert own[0].split("error: ")[1].replace("Mine", "X") == standard[0].split("error: ")[1].replace(
        "TextClassifier", "X")


def test_what_only_the_run_can_know_is_no_check_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, found = m("check", tmp_path, capsys, """\
        func TextClassifier(pooling) {
            return pooling
        }
        x = TextClassifier(pooling="bogus")
        p = "mean"
        y = TextEmbedder(pooling=p, pretrained_model="bert-base-uncased")
        model Local extends TextClassifier { pretrained_model = "./my-encoder" }
        model Fine extends TextClassifier { num_labels = 3; chunking = "windows"; stride = 32 }
        f = Fine(max_length=64, pooling="cls")
        """)
    assert (code, found) == (0, [])


def test_a_value_computed_at_run_time_fails_the_run_with_the_check_time_message(tmp_path, capsys):
    literal = 'model S extends TextClassifier {\n    pooling = "bogus"\n}\ns = S()\n'
    computed = ('func pick() {\n    return "bo" + "gus"\n}\nmodel S extends TextClassifier {\n'
                '    pretrained_model = "minilm-l6"\n    pooling = pick()\n}\ns = S()\n')
    assert m("check", tmp_path, capsys, computed) == (0, [])
    code, ran = m("run", tmp_path, capsys, computed)
    _, checked = m("check", tmp_path, capsys, literal)
    path = tmp_path / "user.m"
    assert code == 1
    # the binding of the field the faulty argument reads, not the first one the layer reads
    assert ran[0] == f"{path}:6:5: error: TextEncoder: unknown pooling 'bogus'"
    assert ran[0].split(": error: ")[1] == checked[0].split(": error: ")[1]
    assert ran[3:] == checked[3:]  # hint and note


def test_checking_the_standard_metamodels_loads_no_torch_and_no_weights(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "user.m"
    path.write_text('model S extends TextClassifier { pooling = "bogus" }\nt = ImageClassifier(num_labels=3)\n')
    probe = (f"import sys; from mlang.cli import main; code = main(['check', {str(path)!r}]); "
             "print(code, 'torch' in sys.modules, 'transformers' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["1", "False", "False"], done.stderr
    assert "unknown pooling 'bogus'" in done.stderr
