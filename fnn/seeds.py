"""Every random draw of a run, derived from its seed: the whole table in one place.

A run's randomness is a pure function of its seed. Each use draws from its own stream of
``numpy.random.SeedSequence``, so any epoch can be re-created alone and a resumed run draws exactly what an
uninterrupted one would:

========================  ==============================================
what                      generator
========================  ==============================================
layer ``i``'s init        ``default_rng([seed, 0, i])``
shuffle of epoch ``e``    ``default_rng([seed, 1, e])``
dropout of step ``s``     ``default_rng([seed, 2, e, s])``
test split                ``default_rng([seed, 3])``
validation split          ``default_rng([seed, 4])``
generated data set        ``default_rng([seed])``
========================  ==============================================

>>> shuffle_rng(seed=0, epoch=1).permutation(5).tolist()  # the same order on every machine, every time
[0, 4, 3, 1, 2]
"""

import numpy as np

INIT, SHUFFLE, DROPOUT, TEST_SPLIT, VALIDATION_SPLIT = 0, 1, 2, 3, 4


def init_rng(seed: int, layer: int) -> np.random.Generator:
    """The generator that initialises layer ``layer``; each layer has its own, so re-drawing one leaves the rest.

    >>> init_rng(0, layer=0).integers(0, 10, 3).tolist()
    [8, 6, 5]
    """
    return np.random.default_rng([seed, INIT, layer])


def shuffle_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator of epoch ``epoch``'s sample order.

    >>> shuffle_rng(0, epoch=1).permutation(5).tolist()
    [0, 4, 3, 1, 2]
    """
    return np.random.default_rng([seed, SHUFFLE, epoch])


def dropout_rng(seed: int, epoch: int, step: int) -> np.random.Generator:
    """The generator of the dropout masks of step ``step`` (counted over the whole run) in epoch ``epoch``.

    >>> dropout_rng(0, epoch=0, step=5).integers(0, 2, 6).tolist()
    [1, 0, 0, 1, 1, 0]
    """
    return np.random.default_rng([seed, DROPOUT, epoch, step])


def validation_split_rng(seed: int) -> np.random.Generator:
    """The generator that holds out a validation part of the training data.

    >>> validation_split_rng(0).permutation(5).tolist()
    [2, 1, 0, 4, 3]
    """
    return np.random.default_rng([seed, VALIDATION_SPLIT])


def train_test_split_rng(seed: int) -> np.random.Generator:
    """The generator that splits a data set into training and test parts.

    >>> train_test_split_rng(0).permutation(5).tolist()
    [3, 0, 2, 1, 4]
    """
    return np.random.default_rng([seed, TEST_SPLIT])


def data_rng(seed: int) -> np.random.Generator:
    """The generator of a generated data set (moons, circles, ...).

    >>> data_rng(0).integers(0, 10, 3).tolist()
    [8, 6, 5]
    """
    return np.random.default_rng([seed])
