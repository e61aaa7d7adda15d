"""``fnn export``: a trained run's network as an ONNX graph or a safetensors file for other frameworks."""

import argparse
import os

from fnn.cli.common import Commands, add_command
from fnn.cli.models import load_run
from fnn.errors import FnnInputError
from fnn.interop import to_onnx, to_safetensors
from fnn.interop.onnx import MIN_OPSET, supported_opsets

_FORMATS = {"onnx": (".onnx", to_onnx), "safetensors": (".safetensors", to_safetensors)}

_EXAMPLES = """examples:
  fnn export runs/a --out model.onnx                  # the format follows the extension
  fnn export runs/a --format safetensors --out weights.safetensors
  fnn export runs/a --out model.onnx --overwrite      # replace an existing file

ONNX: a Gemm per layer and its activation's nodes, the run's standardiser in front (the graph takes raw
features) and softmax/sigmoid outputs as fnn gives them. safetensors: torch.nn.Sequential's state_dict layout
('0.weight' of shape (out, in), '0.bias', '2.weight', ...), the spec, modules, class names and standardiser in
the metadata."""


def add_arguments(commands: Commands) -> None:
    command = add_command(
        commands, "export", "write a trained network as ONNX or safetensors for other frameworks", _EXAMPLES
    )
    command.add_argument("model", help="run folder, checkpoint .npz, or a file written by fnn.save")
    command.add_argument(
        "--format", choices=sorted(_FORMATS), help="onnx or safetensors (default: from --out's extension)"
    )
    command.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    command.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    command.add_argument("--opset", type=int, help=f"the ONNX opset to write (default {MIN_OPSET}; onnx only)")


def _format(args: argparse.Namespace) -> str:
    by_extension = next((name for name, (end, _) in _FORMATS.items() if args.out.lower().endswith(end)), None)
    if args.format is not None:
        if by_extension not in (None, args.format):
            raise FnnInputError(f"--format {args.format} but --out {args.out!r} names a {by_extension} file.")
        return args.format
    if by_extension is not None:
        return by_extension
    raise FnnInputError(
        f"--format not given and --out {args.out!r} ends in neither .onnx nor .safetensors; pass --format."
    )


def run(args: argparse.Namespace) -> int:
    chosen = _format(args)
    options: dict[str, int] = {}
    if args.opset is not None:
        if chosen != "onnx":
            raise FnnInputError(f"--opset is for ONNX exports; this one is {chosen}.")
        opsets = supported_opsets()
        if args.opset not in opsets:
            raise FnnInputError(f"--opset must be from {opsets[0]} to {opsets[-1]}; got {args.opset}.")
        options["opset"] = args.opset
    if os.path.isdir(args.out):
        raise FnnInputError(f"--out {args.out!r} is a folder; give a file name.")
    if os.path.lexists(args.out) and not args.overwrite:
        raise FnnInputError(f"--out {args.out!r} exists; pass --overwrite to replace it.")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        raise FnnInputError(f"--out {args.out!r}: its folder does not exist (fnn export creates no folders).")
    model = load_run(args.model, "model")  # refused in the words of fnn predict and fnn evaluate
    try:  # into a run folder as one of its writers, never over a run's or a sweep's own files
        written = _FORMATS[chosen][1](model, args.out, overwrite=args.overwrite, **options)
    except FnnInputError as error:
        message = str(error).replace(f"fnn.interop.{_FORMATS[chosen][1].__name__} ", "--out ", 1)
        raise FnnInputError(message) from None
    print(f"wrote {written} ({chosen}, {model.params.spec.describe()})")
    return 0
