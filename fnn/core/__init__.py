"""The network as data and pure functions: activations, losses, initialisers, the spec, parameters, the forward
and backward passes, input checks, gradient checks and metrics. Re-exported by the face, :mod:`fnn`."""
