"""M builtins of the optimize stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin, register_check

PASSES = ("prune", "quantize", "fuse", "distill")
NOT_A_PASS = "an optimize block lists passes: prune(...), quantize(...), fuse() or distill(...)"
NOT_A_PASS_HINT = "compute other values before optimize(...) { ... }, outside the block"

register_builtin("optimize", "mlang.optimize.language:optimize", accepts_block=True,
                 doc='optimize(model, goal="speed"|"latency"|"memory"|"accuracy", data=train, eval_data=test, '
                     'budget=0.01) { prune(...); quantize(...) }: measures candidate execution plans',
                 params="model, goal: str = 'speed', calibration=None, data=None, eval_data=None, "
                        "order: str = 'sequential', inputs=None, metric='accuracy', budget=None, candidates=None, "
                        "device: str = 'auto', _block=None")
register_builtin("prune", "mlang.optimize.language:prune",
                 doc='prune(strategy="magnitude"|"l1"|"l2", percentage=0.2, scope="global"|"local", '
                     'target="weights"|"neurons"|"channels"|"heads")',
                 params="strategy: str = 'magnitude', percentage: float = 0.2, scope: str = 'global', "
                        "target: str = 'weights'")
register_builtin("quantize", "mlang.optimize.language:quantize",
                 doc='quantize(bits=8|16, scope="global", method="linear"|"dynamic"|"static")',
                 params="bits: int = 8, scope: str = 'global', method: str = 'linear', per_channel: bool = True, "
                        "embeddings: bool = True, dtype: str = 'float16', layers=None, skip=None")
register_builtin("fuse", "mlang.optimize.language:fuse",
                 doc="fuse(): fold BatchNorm into Conv/Linear and fuse activations (torch.fx)",
                 params="batchnorm: bool = True, activations: bool = True")
register_builtin("distill", "mlang.optimize.language:distill",
                 doc="distill(student=SmallerModel, data=train_set, temperature=2.0, epochs=1)",
                 params="teacher=None, student=None, data=None, temperature: float = 2.0, epochs: int = 1, "
                        "alpha: float = 0.7, lr: float = 0.001, batch_size: int = 16")


def _check_blocks(module, ctx):
    """Every statement of an `optimize(...) { ... }` block is a pass: anything else would run
    while the block is read, before the model is optimized."""
    from mlang.lang import ast as A
    from mlang.lang.diagnostics import Diagnostic

    # the front end's record of every call (plugins run only after it checked every statement)
    for call in (site.call for site in ctx.calls if site.name == "optimize"):
        for stmt in call.block or ():
            value = stmt.value if isinstance(stmt, A.ExprStmt) else None
            if not (isinstance(value, A.Call) and isinstance(value.func, A.Name) and value.func.id in PASSES):
                yield Diagnostic(f"{NOT_A_PASS}, not this statement", stmt.span, hint=NOT_A_PASS_HINT)


register_check(_check_blocks)
