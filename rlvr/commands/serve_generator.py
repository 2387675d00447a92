"""``rlvr serve-generator``: run a generator engine for trainers elsewhere (see :mod:`rlvr.generation.remote`)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model dir, built-in name (tiny-arith) or hub id; same architecture as the trainer's")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 to serve other nodes; default: this machine only)")
    parser.add_argument("--port", type=int, required=True, help="TCP port of the control channel (trainers set generator.address=HOST:PORT)")
    parser.add_argument(
        "--token-file", default=None, help="file holding the auth token (created with a random token if missing; default: $RLVR_GENERATOR_TOKEN)"
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="engine settings, e.g. generator.name=hf generator.dtype=bfloat16")


def run(args: argparse.Namespace) -> int:
    from rlvr.config import check_port, load_config
    from rlvr.errors import ConfigError
    from rlvr.generation.remote.server import ServeConfig, serve

    try:  # before the engine loads, which takes minutes
        check_port(args.port)
    except ValueError as e:
        raise ConfigError(f"--port: {e}") from None
    serve(load_config(ServeConfig, "serve-generator", None, args.overrides), args.model, args.host, args.port, args.token_file)
    return 0
