"""`m serve` runs the execution plan a model carries, unless a backend is named."""
import httpx
import torch
from model_fixtures import make_tiny_classifier

import mlang as m
from mlang.optimize.plan import ExecutionPlan, attach_plan, execution_plan
from mlang.serve import Server


def test_the_server_runs_the_saved_plan_by_default_and_a_named_backend_overrides_it(one_torch_thread):
    planned = make_tiny_classifier()
    attach_plan(planned, ExecutionPlan(backend="onnx", precision="fp32", candidate="fp32 ONNX Runtime"))
    back = m.load(m.save(planned, "planned"))
    x = torch.randn(3, 8)
    for backend, expected in ((None, execution_plan(planned).backend), ("eager", "eager")):
        options = {} if backend is None else {"backend": backend}
        with Server(back, name="planned", port=0, **options) as server:
            answer = httpx.post(f"{server.url}/v1/models/planned/predict",
                                json={"inputs": x.tolist()}, timeout=30).json()
            health = httpx.get(f"{server.url}/healthz", timeout=30).json()
        assert health["backend"] == expected
        assert torch.allclose(torch.tensor(answer["outputs"]), planned(x), atol=1e-4)
