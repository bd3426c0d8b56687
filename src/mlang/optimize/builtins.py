"""M builtins of the optimize stage, registered without importing torch (entry point `mlang.builtins`)."""
from mlang.lang.registry import register_builtin

register_builtin("optimize", "mlang.optimize.language:optimize", accepts_block=True,
                 doc='optimize(model, goal="speed", calibration=data) { prune(...); quantize(...); fuse() }')
register_builtin("prune", "mlang.optimize.language:prune",
                 doc='prune(strategy="magnitude"|"l1"|"l2", percentage=0.2, scope="global"|"local", '
                     'target="weights"|"neurons"|"channels"|"heads")')
register_builtin("quantize", "mlang.optimize.language:quantize",
                 doc='quantize(bits=8|16, scope="global", method="linear"|"dynamic"|"static")')
register_builtin("fuse", "mlang.optimize.language:fuse",
                 doc="fuse(): fold BatchNorm into Conv/Linear and fuse activations (torch.fx)")
register_builtin("distill", "mlang.optimize.language:distill",
                 doc="distill(student=SmallerModel, data=train_set, temperature=2.0, epochs=1)")
