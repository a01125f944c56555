"""In-graph image history pool (Shrivastava et al. 2017; CycleGAN, size 50).

The discriminator sees a mix of the newest fakes and older ones, which damps oscillation. The
buffer and its fill count are tf.Variables, so the pool lives in the checkpoint and a resumed run
continues with the same history. Randomness is stateless, seeded by (seed, salt, step), so it
is reproducible and compiles under XLA.
"""
import tensorflow as tf

from training.devices import replica_salt


class ImagePool(tf.Module):
    """For each image: while filling, store and return it; afterwards, with probability 1/2
    return a stored image and store the new one in its place, else return the new one."""

    def __init__(self, size, image_shape, name=None):
        super().__init__(name=name)
        self.size = int(size)
        # Under a tf.distribute strategy each replica keeps its own pool (SyncOnRead); a checkpoint
        # holds the first replica's, which every replica gets back on restore, for any replica count.
        local = dict(synchronization=tf.VariableSynchronization.ON_READ,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA) if tf.distribute.has_strategy() else {}
        self.per_replica = bool(local)
        if self.size > 0:
            self.images = tf.Variable(tf.zeros([self.size, *image_shape]), trainable=False,
                                      name="images", **local)
            self.count = tf.Variable(0, dtype=tf.int32, trainable=False, name="count", **local)

    def __call__(self, images, seed):
        """images: [B, H, W, C] with static B; seed: int64 [2] (e.g. (salt, step))."""
        if self.size == 0:
            return images
        salt = replica_salt()
        if salt is not None:  # replicas draw independently
            seed = tf.random.experimental.stateless_fold_in(seed, salt)
        outputs = []
        for i in range(images.shape[0]):
            item_seed = tf.random.experimental.stateless_fold_in(seed, i)
            coin, pick = tf.unstack(tf.random.stateless_uniform([2], seed=item_seed))
            image, count = images[i], self.count.read_value()
            filling = count < self.size
            index = tf.where(filling, count, tf.minimum(tf.cast(pick * self.size, tf.int32), self.size - 1))
            swap = tf.logical_and(tf.logical_not(filling), coin < 0.5)
            # gather, not images[index]: XLA would demand a compile-time-constant slice start and
            # recompile the whole step for every new index.
            stored = tf.gather(self.images, index)
            outputs.append(tf.where(swap, stored, image))
            kept = tf.where(tf.logical_or(filling, swap), image, stored)
            if self.per_replica:  # SyncOnRead variables only support whole assignments
                self.images.assign(tf.tensor_scatter_nd_update(self.images, [[index]], [kept]))
            else:
                self.images.scatter_nd_update([[index]], [kept])
            self.count.assign(tf.minimum(count + 1, self.size))
        return tf.stack(outputs)
