"""The standard metamodels, written in M: extending one gives a complete, runnable model."""
import pytest
import torch
from skimage import data

from mlang.lang import api
from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models import serialize, stdlib


def run(source: str) -> dict:
    return api.run_source(source, "<test_stdlib>")


def test_extending_text_classifier_gives_a_complete_classifier():
    program = run('model C extends TextClassifier { pretrained_model = "minilm-l6"; num_labels = 5 }\n'
                  'clf = C()\n')
    clf = program["clf"].eval()
    assert clf.input_type == T.TEXT
    assert str(clf.output_type) == "Tensor[float32, B, 5]"
    with torch.no_grad():
        logits = clf(["The soup was cold.", "Best coffee I have had in years!"])
    assert logits.shape == (2, 5)
    # the tokenizer came with the encoder: raw texts are tokenized with dynamic padding
    assert clf.preprocess(["two words"])["input_ids"].shape == (1, 4)


def test_text_classifier_survives_dump_and_restore():
    clf = stdlib.TextClassifier(num_labels=3, max_length=32).eval()
    restored = serialize.restore(serialize.dump(clf)).eval()
    texts = ["saved", "and restored with the same outputs"]
    with torch.no_grad():
        assert torch.allclose(restored(texts), clf(texts), atol=1e-6)


def test_question_answerer_scores_every_token_of_question_context_pairs():
    qa = stdlib.QuestionAnswerer(max_length=64).eval()
    assert str(qa.output_type) == "Tensor[float32, B, T, 2]"
    features = qa.preprocess([("Who wrote it?", "It was written by Ada Lovelace in 1843.")])
    assert {"token_type_ids", "offset_mapping"} <= set(features)
    with torch.no_grad():
        scores = qa(**{k: v for k, v in features.items() if k != "offset_mapping"})
    assert scores.shape == (1, features["input_ids"].shape[1], 2)


def test_text_embedder_is_the_sentence_encoder():
    embedder = stdlib.TextEmbedder().eval()
    with torch.no_grad():
        assert embedder(["an embedding"]).shape == (1, 384)


def test_image_classifier_on_a_real_photo():
    program = run("model Pets extends ImageClassifier { num_labels = 3 }\npets = Pets()\n")
    pets = program["pets"].eval()
    with torch.no_grad():
        assert pets(data.chelsea()).shape == (1, 3)


def test_regressor_and_forecaster_shapes_follow_their_fields():
    regressor = stdlib.Regressor(num_features=4, num_outputs=2)
    assert regressor(torch.randn(3, 4)).shape == (3, 2)
    forecaster = stdlib.SequenceForecaster(window=12, num_features=2, horizon=3)
    assert str(forecaster.input_type) == "Tensor[float32, B, 12, 2]"
    assert forecaster(torch.randn(5, 12, 2)).shape == (5, 3)


def test_regressor_needs_its_number_of_features():
    with pytest.raises(MError, match="abstract field 'num_features' is unbound"):
        stdlib.Regressor()


def test_a_bad_pretrained_model_name_is_reported():
    with pytest.raises(MError, match="unknown pretrained model 'minilm-l7'"):
        stdlib.TextClassifier(pretrained_model="minilm-l7")


def test_m_check_knows_the_standard_metamodels():
    source = "model C extends TextClassifier { num_labels = 5 }\n"
    assert api.check_source(source, "<check>") == []
