"""One module per ``umi-edge`` subcommand; each defines ``register(subparsers)`` (see :mod:`umi_edge.cli`)."""
