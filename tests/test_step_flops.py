"""The benchmark's FLOP count of a traced step, against closed-form counts."""
import tensorflow as tf

from training.step_flops import describe, graph_flops


def test_a_convolution_and_its_two_gradients_and_a_matmul_are_counted_exactly():
    kernel = tf.Variable(tf.ones((3, 3, 3, 4)))
    weights = tf.Variable(tf.ones((144, 5)))

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.conv2d(x, kernel, strides=1, padding="VALID")  # (2, 6, 6, 4)
            z = tf.matmul(tf.reshape(y, (2, 144)), weights)  # (2, 144) x (144, 5)
            loss = tf.reduce_sum(tf.square(z))  # its gradient needs the forward pass
        return tape.gradient(loss, [x, kernel])

    graph = step.get_concrete_function(tf.TensorSpec((2, 8, 8, 3))).graph
    conv = 2 * (2 * 6 * 6 * 4) * (3 * 3 * 3)  # 2 FLOPs per multiply-add, per output element
    matmul = 2 * 2 * 144 * 5
    # forward conv, input and filter gradients (each the forward's size); forward matmul and the
    # one gradient matmul the input gradient needs ((2, 5) x (5, 144)): the weights' gradient is
    # not asked for, so TensorFlow prunes it and it is not counted
    assert graph_flops(graph) == 3 * conv + 2 * matmul


def test_the_description_names_the_estimate():
    assert describe(2e9, 0.5, 16e9) == ("2.0 GFLOP/step, 4.0 GFLOP/s = 25% of the estimated fp32 "
                                        "peak (16 GFLOP/s)")
    assert describe(None, 0.5, 16e9) == "FLOPs not counted"
