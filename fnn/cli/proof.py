"""``fnn verify``, ``fnn diff`` and ``fnn replay``: proving a run from its folder (library: :mod:`fnn.proof.checks`).

Exit codes, like ``diff(1)``'s: 0 when the rerun matches (verify), the runs are identical (diff) or the replayed
epoch equals its kept checkpoint (replay); 1 when not; 2 for a usage error (a missing folder, a bad flag).
"""

import argparse
import json
import os

from fnn.cli.common import Commands, add_command
from fnn.errors import FnnInputError
from fnn.proof.checks import diff_runs, replay_epoch, rerun_threads, verify_run
from fnn.store.epochs import FOLDER, epoch_checkpoint_name
from fnn.store.layout import CHECKPOINT, RECORD

_EXIT_CODES = """exit status: 0 {same}, 1 {differ}, 2 on a usage error."""


def add_arguments(commands: Commands) -> None:
    verify = add_command(
        commands, "verify", "rerun a run from its record and confirm the whole record and its checkpoint to the bit",
        "examples:\n  fnn verify runs/a                 # rerun with the recorded BLAS thread count\n"
        "  fnn verify runs/a --threads 4     # does this run depend on the thread count?\n\n"
        "Proves the params, every metric of every epoch, the validation and test metrics, the data fingerprints\n"
        "(train, validation, test) and the checkpoint on disk, naming each that differs. The data are read from\n"
        "where the run read them; a file there that changed since is refused. When the results differ it also\n"
        "names what differs from the record: the data, the fnn, numpy or Python version, the BLAS library, its\n"
        "core type or its thread count (each can change the last bits of a sum).\n"
        + _EXIT_CODES.format(same="when the rerun gives the whole record again", differ="when anything differs"),
    )
    verify.add_argument("run", metavar="RUN", help="run folder (with its record.json), or a sweep's run record SWEEP/runs/ID.json")
    verify.add_argument("--threads", type=int, metavar="N", help="BLAS threads for the rerun (default: as recorded)")
    verify.add_argument("--json", action="store_true", help="print the verdict as one JSON object")

    diff = add_command(
        commands, "diff", "compare two runs: settings, data, environment, first divergent epoch, equal params",
        "examples:\n  fnn diff runs/a runs/b\n  fnn diff sweep/runs/ID1.json sweep/runs/ID2.json   # a sweep's runs: no checkpoints, so\n"
        "                                                     # params by their recorded hash\n\n" + _EXIT_CODES.format(same="when the runs are identical", differ="when they differ"),
    )
    diff.add_argument("run_a", metavar="RUN_A", help="run folder (or its record.json), or a sweep's run record SWEEP/runs/ID.json")
    diff.add_argument("run_b", metavar="RUN_B", help="run folder (or its record.json), or a sweep's run record SWEEP/runs/ID.json")
    diff.add_argument("--json", action="store_true", help="print the difference as one JSON object")

    replay = add_command(
        commands, "replay", "rerun one epoch alone from the kept checkpoints and confirm the kept result",
        "example:\n  fnn train --keep-checkpoints --out runs/a && fnn replay runs/a --epoch 3\n\n"
        "Recreates epoch E's batch order and dropout masks from the seed alone, trains that epoch from the\n"
        "checkpoint of epoch E-1 (checkpoints/epoch-NNNN.npz) and compares with the checkpoint of epoch E.\n"
        + _EXIT_CODES.format(same="when the replayed params equal the kept ones", differ="when not"),
    )
    replay.add_argument("run", metavar="RUN", help="run folder trained with --keep-checkpoints")
    replay.add_argument("--epoch", type=int, required=True, metavar="E", help="the epoch to replay (from 1)")
    replay.add_argument("--json", action="store_true", help="print the summary, with every batch's row indices, as JSON")


def verify_command(args: argparse.Namespace) -> int:
    if args.threads is not None and args.threads < 1:
        raise FnnInputError(f"--threads must be a positive int; got {args.threads}.")
    threads = args.threads if args.threads is not None else rerun_threads(args.run)
    if not args.json:
        print(f"rerunning {args.run} with {threads} BLAS thread{'s' if threads != 1 else ''}...", flush=True)
    verdict = verify_run(args.run, threads=args.threads)
    if args.json:
        print(json.dumps(verdict.to_dict()))
        return 0 if verdict.matches else 1
    if verdict.matches:
        print("verified: the rerun's params are bit-identical to the record's")
        print(f"params sha256: {verdict.rerun_sha256}")
        if os.path.isdir(args.run) or os.path.basename(args.run) in (RECORD, CHECKPOINT):
            print("history, validation and test metrics, data fingerprints and checkpoint: as recorded")
        else:  # a sweep's run record
            print("history, validation and test metrics and data fingerprints: as recorded (a sweep's run keeps no checkpoint)")
        if verdict.reasons:
            print("these differ from the record without changing the bits:")
    else:
        print("NOT verified: the rerun or the checkpoint differs from the record")
        if verdict.recorded_sha256 == verdict.rerun_sha256:
            print(f"params sha256: {verdict.rerun_sha256}, recorded and rerun alike")
        else:
            print(f"params sha256: {verdict.recorded_sha256} recorded, {verdict.rerun_sha256} rerun")
        print("what differs:")
        for difference in verdict.differences:
            print(f"  {difference}")
        if verdict.reasons:
            print("what differs around the run:")
    for reason in verdict.reasons:
        print(f"  {reason}")
    return 0 if verdict.matches else 1


def diff_command(args: argparse.Namespace) -> int:
    difference = diff_runs(args.run_a, args.run_b)
    if args.json:
        print(json.dumps(difference.to_dict()))
    else:
        print("\n".join(difference.lines()))
    return 0 if difference.identical else 1


def replay_command(args: argparse.Namespace) -> int:
    replay = replay_epoch(args.run, args.epoch)
    plan = replay.plan
    if args.json:
        print(json.dumps({
            "epoch": replay.epoch, "first_step": plan.first_step, "batches": [rows.tolist() for rows in plan.batches],
            "keep_fraction": replay.keep_fraction, "matches": replay.matches, "data_matches": replay.data_matches,
            "replayed_sha256": replay.replayed_sha256, "stored_sha256": replay.stored_sha256,
        }))
        return 0 if replay.matches else 1
    sizes = [len(rows) for rows in plan.batches]
    print(f"epoch {replay.epoch}: {len(sizes)} batches of {sizes[0]}" + (f" (the last {sizes[-1]})" if sizes[-1] != sizes[0] else "")
          + f", global steps {plan.first_step + 1} to {plan.first_step + len(sizes)}")
    print(f"first batch rows: {', '.join(map(str, plan.batches[0][:8].tolist()))}{', ...' if sizes[0] > 8 else ''}")
    print("dropout: none" if replay.keep_fraction is None else f"dropout masks keep {replay.keep_fraction:.1%} of hidden units")
    if replay.data_matches is False:
        print("data: the training data as loaded now differ from the record's fingerprint")
    folder = args.run if os.path.isdir(args.run) else os.path.dirname(args.run)
    kept = os.path.join(folder, FOLDER, epoch_checkpoint_name(replay.epoch))
    if replay.matches:
        print(f"replayed: the params after epoch {replay.epoch} equal the kept {kept}")
        print(f"params sha256: {replay.replayed_sha256}")
    else:
        print(f"NOT replayed: the params after epoch {replay.epoch} DIFFER from the kept {kept}")
        print(f"params sha256: {replay.replayed_sha256} replayed, {replay.stored_sha256} kept")
    return 0 if replay.matches else 1
