"""The paper's §3.2 Python snippet (DESIGN §3) runs as written, GPU name included."""
import json
import warnings

import torch

from mlang.engine import DeviceFallbackWarning


def test_paper_snippet_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the snippet writes profile.json and model.bin where it runs
    monkeypatch.setattr("mlang.engine.device._warned", set())  # as in a fresh process
    import mlang as m

    model = m.Model()
    model.add(m.Conv2D(32, kernel=(3, 3), stride=(1, 1), padding='same', input_shape=(64, 64, 3)))
    model.add(m.Activation('relu'))
    model.add(m.MaxPooling2D(pool_size=(2, 2), stride=(2, 2), padding='valid'))
    model.compile(optimizer=m.Optimizer('adam', learning_rate=0.001), loss=m.Loss('binary_crossentropy'),
                  metrics=[m.Metric('accuracy')])
    optimizer = m.Optimizer()            # no algorithm named: the model optimizer
    optimizer.add(m.Pruning(strategy='magnitude', percentage=0.2, scope='global', target='weights'))
    optimizer.add(m.Quantization(bits=8, scope='global', method='linear'))
    optimized_model = optimizer.optimize(model, order='sequential', goal='speed')
    data = torch.rand(40, 64, 64, 3)     # 40 channels-last images, as input_shape declares
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        engine = m.Engine(device='GPU:0')    # falls back to CPU with a warning when no GPU is present
    engine.load_model(optimized_model); engine.prepare_data(data); engine.set_batch_size(32)
    engine.set_num_threads(4); engine.enable_profiling('profile.json')
    output = engine.run(); engine.save_model('model.bin')

    fallbacks = [w for w in caught if issubclass(w.category, DeviceFallbackWarning)]
    if not torch.cuda.is_available():
        assert engine.device.type == "cpu"
        assert len(fallbacks) == 1
        assert "'GPU:0' requested but no GPU is present; running on the CPU" in str(fallbacks[0].message)
    assert output.shape == (40, 32, 32, 32)
    with torch.inference_mode():
        assert torch.allclose(output, optimized_model(data), atol=1e-5)
    assert json.loads((tmp_path / "profile.json").read_text())["traceEvents"]
    reloaded = m.Engine(device="cpu").load_model("model.bin").run(data[:4])
    assert torch.allclose(reloaded, output[:4], atol=1e-5)
