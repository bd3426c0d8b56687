"""The paper's model-description API (DESIGN §3): `m.Model()`, `.add`, `.compile`, `fit`, `evaluate`, `predict`."""
import numpy as np
import pytest
import torch

import mlang as m
from mlang.lang.diagnostics import MError
from models_m import run_m

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def paper_model(optimizer):
    model = m.Model()
    model.add(m.Conv2D(32, kernel=(3, 3), stride=(1, 1), padding='same', input_shape=(64, 64, 3)))
    model.add(m.Activation('relu'))
    model.add(m.MaxPooling2D(pool_size=(2, 2), stride=(2, 2), padding='valid'))
    model.compile(optimizer=optimizer, loss=m.Loss('binary_crossentropy'), metrics=[m.Metric('accuracy')])
    return model


def random_data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 64, 64, 3), dtype=np.float32)
    y = (rng.random((n, 32, 32, 32)) > 0.5).astype(np.float32)
    return x, y


@pytest.mark.skipif(not hasattr(m, "Optimizer"), reason="m.Optimizer is defined by mlang.api (the lead's stage)")
def test_the_paper_snippet_runs_as_written_and_trains():
    torch.manual_seed(0)
    model = paper_model(m.Optimizer('adam', learning_rate=0.001))
    x, y = random_data()
    history = model.fit(x, y, epochs=3, batch_size=4)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_fit_evaluate_predict_on_random_data():
    torch.manual_seed(0)
    model = paper_model(m.TrainingOptimizer('adam', learning_rate=0.001))
    x, y = random_data()
    history = model.fit(x, y, epochs=3, batch_size=4, seed=1)
    assert set(history.history) == {"loss", "accuracy"} and history.epoch == [0, 1, 2]
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x, y)
    assert 0.0 < loss and 0.0 <= accuracy <= 1.0
    out = model.predict(x[:5])
    assert isinstance(out, np.ndarray) and out.shape == (5, 32, 32, 32)  # channels-last, as in Keras
    assert model.evaluate(x, y, return_dict=True).keys() == {"loss", "accuracy"}


def test_parameter_count_and_summary():
    model = paper_model("adam")
    assert model.count_params() == 3 * 3 * 3 * 32 + 32
    text = model.summary(print_fn=None)
    assert "(None, 64, 64, 32)" in text and "(None, 32, 32, 32)" in text  # channels-last, as Keras shows
    assert "Total params: 896" in text and "Trainable params: 896" in text


def test_the_same_model_declared_in_m_has_the_same_parameters_and_outputs():
    keras_model = paper_model("adam")
    g = run_m("""\
model PaperCNN {
    input: Image[3, 64, 64]
    Conv2D(32, kernel=(3, 3), stride=(1, 1), padding="same")
    Activation("relu")
    MaxPooling2D(pool_size=(2, 2), stride=(2, 2), padding="valid")
}
net = PaperCNN()
""")
    declared = g["net"]
    assert declared.count_params() == keras_model.count_params()
    declared.load_state_dict(keras_model.state_dict())  # same layer names: layers.0.weight, ...
    x = torch.rand(2, 64, 64, 3)
    keras_out = keras_model(x)                              # channels-last in and out
    m_out = declared(x.permute(0, 3, 1, 2))                 # M is channels-first
    assert torch.allclose(keras_out, m_out.permute(0, 2, 3, 1), atol=1e-6)


def test_a_small_classifier_learns_separable_data():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = m.Model([m.Dense(16, input_shape=(4,)), m.ReLU(), m.Dense(2), m.Softmax()])
    model.compile(optimizer=m.TrainingOptimizer("adam", learning_rate=0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, validation_data=(x[:50], y[:50]), seed=0)
    assert history.history["accuracy"][-1] > 0.9
    assert "val_accuracy" in history.history
    assert model.predict(x[:3]).shape == (3, 2)


def test_a_channels_last_model_takes_pil_images_and_arrays_in_its_own_layout():
    from PIL import Image

    model = m.Model([m.Conv2D(4, kernel=(3, 3), padding='same', input_shape=(6, 8, 3)), m.Flatten(), m.Dense(2)])
    model.eval()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)  # H, W, C: the declared layout
    image = Image.fromarray(pixels)

    batch = model.preprocess([image, pixels])["x"]
    assert tuple(batch.shape) == (2, 6, 8, 3)  # the layout compute() expects
    expected = torch.from_numpy(pixels).float() / 255.0
    assert torch.allclose(batch[0], expected) and torch.allclose(batch[1], expected)

    with torch.no_grad():
        from_image, from_array = model(image), model(pixels[None].astype(np.float32) / 255.0)
    assert tuple(from_image.shape) == (1, 2)
    assert torch.allclose(from_image, from_array, atol=1e-6)
    with torch.no_grad():  # an image of another size is resized to the declared one
        assert tuple(model(image.resize((16, 12))).shape) == (1, 2)


def test_input_shape_is_taken_from_the_first_data_when_not_given():
    model = m.Model()
    model.add(m.Dense(3))
    model.compile(loss=m.Loss("mse"), optimizer="sgd")
    history = model.fit(torch.rand(8, 5), torch.rand(8, 3), epochs=1)
    assert len(history.history["loss"]) == 1
    assert model.count_params() == 5 * 3 + 3


def test_errors_a_keras_user_can_make():
    model = m.Model([m.Dense(2, input_shape=(4,))])
    with pytest.raises(MError, match="needs a compiled model"):
        model.fit(np.zeros((2, 4)), np.zeros((2, 2)))
    with pytest.raises(MError, match="unknown loss 'binary_crossentropi'") as err:
        m.Loss("binary_crossentropi")
    assert err.value.diagnostics[0].hint == "did you mean 'binary_crossentropy'?"
    with pytest.raises(MError, match="unknown optimizer 'adamm'"):
        m.TrainingOptimizer("adamm")
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(MError, match="x has 3 examples but y has 2"):
        model.fit(np.zeros((3, 4)), np.zeros((2, 2)))
    with pytest.raises(MError, match="only the first layer may give input_shape"):
        model.add(m.Dense(2, input_shape=(2,)))
    with pytest.raises(MError, match="shape mismatch at Conv2D"):
        model.add(m.Conv2D(3))


def test_fit_holds_out_a_validation_split_as_keras_does():
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 4)).astype(np.float32)
    y = (x[:, 0] - x[:, 2] > 0).astype(np.int64)
    model = m.Model([m.Dense(8, input_shape=(4,)), m.ReLU(), m.Dense(2), m.Softmax()])
    model.compile(optimizer=m.TrainingOptimizer("adam", learning_rate=0.05),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=16, validation_split=0.2, seed=0, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    # the last 20 % (taken before shuffling) is the validation data
    held_out = model.evaluate(x[80:], y[80:], return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(held_out["loss"], rel=1e-5)
    assert history.history["val_accuracy"][-1] > 0.8
    given = model.fit(x, y, epochs=1, validation_split=0.5, validation_data=(x[:10], y[:10]), verbose=0)
    assert given.history["val_loss"][0] == pytest.approx(model.evaluate(x[:10], y[:10])[0], rel=1e-5)


def test_fit_argument_errors_name_the_argument():
    model = m.Model([m.Dense(2, input_shape=(4,))])
    model.compile(optimizer="adam", loss="mse")
    cases = [
        (dict(x=np.zeros((3, 4)), y=np.zeros((2, 2))), "y", "x has 3 examples but y has 2"),
        (dict(x=np.array([["a"] * 4] * 2), y=np.zeros((2, 2))), "x", "x must hold numbers, got text"),
        (dict(x=np.zeros((4, 4)), y=np.zeros((4, 2)), validation_split=1.5), "validation_split", "between 0 and 1"),
        (dict(x=np.zeros((2, 4)), y=np.zeros((2, 2)), validation_split=0.1), "validation_split", "leaves no validation"),
        (dict(x=np.zeros((3, 5)), y=np.zeros((3, 2))), "input",
         "Model expects input Tensor[float32, B, 4] but was given a tensor of shape [3, 5]: dim 1 is 5, not 4"),
    ]
    for arguments, field, words in cases:
        with pytest.raises(MError) as error:
            model.fit(verbose=0, **arguments)
        assert error.value.field == field and words in str(error.value), arguments
    image_model = m.Model([m.Conv2D(4, kernel=(3, 3), input_shape=(8, 8, 3)), m.Flatten(), m.Dense(2)])
    with pytest.raises(MError, match=r"expects input Tensor\[float32, B, 8, 8, 3\] .* shape \[2, 8, 8, 1\]"):
        image_model.predict(np.zeros((2, 8, 8, 1), dtype=np.float32))
