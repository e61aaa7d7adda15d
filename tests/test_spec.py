import numpy as np
import pytest

import fnn


def test_sizes_list_with_hidden_and_output_activations():
    spec = fnn.network([784, 256, 128, 64, 10], activation="relu")
    assert spec.sizes == (784, 256, 128, 64, 10)
    assert [layer.activation.name for layer in spec.layers] == ["relu", "relu", "relu", "softmax"]
    assert spec.loss.name == "cross_entropy"


def test_one_activation_per_layer():
    spec = fnn.network([2, 25, 50, 50, 25, 1], activation=["relu"] * 4 + ["sigmoid"])
    assert spec.output_activation.name == "sigmoid" and spec.loss.name == "binary_cross_entropy"


def test_layer_dicts_as_the_tutorials_write_them():
    layers = [
        {"input_dim": 2, "output_dim": 25, "activation": "relu"},
        {"input_dim": 25, "output_dim": 50, "activation": "relu"},
        {"input_dim": 50, "output_dim": 1, "activation": "sigmoid"},
    ]
    spec = fnn.network_from_layers(layers)
    assert spec == fnn.network([2, 25, 50, 1], activation=["relu", "relu", "sigmoid"])


def test_config_round_trip():
    spec = fnn.network([4, 6, 3], activation="leaky_relu:0.2", init="he_normal", bias_init="normal:0.1")
    assert fnn.spec_from_config(spec.to_config()) == spec


def test_loss_follows_output_and_regression_gets_identity():
    assert fnn.network([1, 8, 1], activation="tanh", output="identity").loss.name == "mse"
    assert not fnn.network([1, 8, 1], activation="tanh", output="identity").is_classifier
    nielsen = fnn.network([784, 30, 10], activation="sigmoid", loss="quadratic")
    assert nielsen.output_activation.name == "sigmoid" and nielsen.is_classifier


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fnn.network([10]), "at least two layer sizes"),
        (lambda: fnn.network([10, 0, 2]), "positive ints"),
        (lambda: fnn.network([10, 2.5, 2]), "positive ints"),
        (lambda: fnn.network("784,10"), "list of at least two"),
        (lambda: fnn.network([4, 3, 2], activation=["relu"]), "one per layer"),
        (lambda: fnn.network([4, 3, 2], activation="sigmoidd"), "Known activations"),
        (lambda: fnn.network([4, 3, 2], output="relu", loss="cross_entropy"), "softmax outputs"),
        (lambda: fnn.network([4, 1], output="softmax"), "at least 2 units"),
        (
            lambda: fnn.network_from_layers(
                [{"input_dim": 4, "output_dim": 3, "activation": "relu"}, {"input_dim": 5, "output_dim": 2, "activation": "softmax"}]
            ),
            "layer 1 has input_dim 5 but layer 0 has output_dim 3",
        ),
        (lambda: fnn.network_from_layers([{"input_dim": 4, "activation": "relu"}]), "output_dim"),
    ],
)
def test_inconsistent_descriptions_are_refused_clearly(call, message):
    with pytest.raises(fnn.FnnInputError, match=message):
        call()


def test_one_output_without_a_loss_is_refused_not_guessed():
    with pytest.raises(fnn.FnnInputError, match=r"fnn.network\(\[3, 8, 1\]\) has one output and no loss.*"
                       "loss='binary_cross_entropy'.*output='identity'"):
        fnn.network([3, 8, 1])
    classifier = fnn.network([3, 8, 1], loss="binary_cross_entropy")
    assert classifier.output_activation.name == "sigmoid" and classifier.is_classifier
    regression = fnn.network([3, 8, 1], output="identity")
    assert regression.loss.name == "mse" and not regression.is_classifier
    assert fnn.network([3, 8, 1], output="sigmoid").loss.name == "binary_cross_entropy"  # said explicitly
    assert fnn.network([3, 8, 1], activation=["tanh", "sigmoid"]).loss.name == "binary_cross_entropy"
    assert fnn.network([3, 8, 2]).loss.name == "cross_entropy"  # several outputs: softmax, as before


@pytest.mark.parametrize("sizes", [np.array([4, 8, 3]), [np.int64(4), 8, np.int32(3)], (4, "8", 3)])
def test_network_reads_sizes_as_the_hidden_setting_reads_them(sizes):
    assert fnn.network(sizes) == fnn.network([4, 8, 3])


@pytest.mark.parametrize("sizes", [[4, 0, 3], [4, True, 3], [4, 2.5, 3], [4, "x", 3], np.array([[4, 3]])])
def test_network_refuses_sizes_that_are_not_positive_whole_numbers(sizes):
    with pytest.raises(fnn.FnnInputError, match="'sizes' argument of fnn.network"):
        fnn.network(sizes)
