"""The arithmetic of one train step, for the benchmark's achieved GFLOP/s and fraction of peak.

Counted from the traced TensorFlow step itself: every convolution (forward ``Conv2D``, and the two
backward kinds ``Conv2DBackpropInput`` / ``Conv2DBackpropFilter``, the first of which is also the
forward op of a transposed convolution) and every ``MatMul``, at 2 FLOPs per multiply-add, from the
ops' static shapes. So the backward pass is counted as it is computed (about twice the forward, as
the usual "3 x forward" rule says) and nothing is counted that the step does not run; norms,
activations and the optimiser (a few percent) are left out. The JAX step uses XLA's own cost
analysis of the compiled step instead.
"""
import numpy as np


def _dims(shape):
    dims = shape.as_list() if hasattr(shape, "as_list") else list(shape)
    return None if dims is None or any(d is None for d in dims) else dims


def _conv_flops(op):
    """2 x (multiply-adds) of one convolution op, or 0 where a shape is not static."""
    if op.type == "Conv2D":
        out, kernel = _dims(op.outputs[0].shape), _dims(op.inputs[1].shape)
        gradient = out
    elif op.type == "Conv2DBackpropInput":  # (input_sizes, filter, out_backprop)
        kernel, gradient = _dims(op.inputs[1].shape), _dims(op.inputs[2].shape)
    elif op.type == "Conv2DBackpropFilter":  # (input, filter_sizes, out_backprop)
        kernel, gradient = _dims(op.outputs[0].shape), _dims(op.inputs[2].shape)
    else:
        return 0
    if kernel is None or gradient is None:
        return 0
    kh, kw, cin, _ = kernel
    return 2 * int(np.prod(gradient)) * kh * kw * cin  # each output element: kh*kw*cin MACs


def _matmul_flops(op):
    a, b = _dims(op.inputs[0].shape), _dims(op.inputs[1].shape)
    if a is None or b is None or len(a) != 2:
        return 0
    m, k = (a[1], a[0]) if op.get_attr("transpose_a") else a
    n = b[0] if op.get_attr("transpose_b") else b[1]
    return 2 * m * k * n


def _live_ops(graph):
    """The ops the graph's outputs and side effects depend on: what runs after TensorFlow prunes
    the rest (e.g. the discriminator's unused weight gradients in the generator update)."""
    roots = [t.op for t in graph.outputs] + [op for op in graph.get_operations() if op._is_stateful]  # noqa: SLF001
    live, stack = set(), list(roots)
    while stack:
        op = stack.pop()
        if op in live:
            continue
        live.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return [op for op in graph.get_operations() if op in live]


def graph_flops(graph):
    """Conv and matmul FLOPs of a tf.Graph's live ops, nested function graphs (tf.cond branches)
    included."""
    total = 0
    for op in _live_ops(graph):
        if op.type.startswith("Conv2D"):
            total += _conv_flops(op)
        elif op.type == "MatMul":
            total += _matmul_flops(op)
    for function in getattr(graph, "_functions", {}).values():
        inner = getattr(function, "graph", None)
        if inner is not None and inner is not graph:
            total += graph_flops(inner)
    return total


def tf_step_flops(step, batch):
    """FLOPs of one call of a ``tf.function`` train step on ``batch`` (traced, not run)."""
    return graph_flops(step.get_concrete_function(batch).graph)


def jax_step_flops(compiled):
    """XLA's estimate of a compiled JAX step's FLOPs, or None where it gives none."""
    try:
        analysis = compiled.cost_analysis()
    except Exception:  # noqa: BLE001 - not every backend offers one
        return None
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0] if analysis else {}
    flops = (analysis or {}).get("flops")
    return float(flops) if flops else None


def describe(flops, step_s, peak):
    """'12.3 GFLOP/step, 45.6 GFLOP/s = 14% of the estimated fp32 peak (320 GFLOP/s)'."""
    if not flops:
        return "FLOPs not counted"
    rate = flops / step_s
    text = f"{flops / 1e9:.1f} GFLOP/step, {rate / 1e9:.1f} GFLOP/s"
    if peak:
        text += f" = {100 * rate / peak:.0f}% of the estimated fp32 peak ({peak / 1e9:.0f} GFLOP/s)"
    return text
