"""``posekit rodent detect``: motion-initialised, self-trained detection and tracking of animals in videos."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import PosekitError
from ..locks import output_lock
from ..outputs import force_option, refuse_existing


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Store of tracks to write (.h5).")
@click.option("--model", type=click.Path(path_type=Path),
              help="Apply this trained detector (a .detector.pth) instead of training one on INPUTS.")
@click.option("--save-model", type=click.Path(path_type=Path),
              help="Where to save the trained detector [default: OUTPUT's name + .detector.pth].")
@click.option("--rounds", type=click.IntRange(0, 10), default=2, show_default=True,
              help="Bootstrapping rounds after the motion-trained FCN_0 (LSTM self-supervision of rodent behaviour, "
                   "Brattoli et al. 2017, converged after 2).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N (AMP and batching on CUDA).")
@click.option("--max-animals", type=click.IntRange(1, 16), default=1, show_default=True, help="Animals per video.")
@click.option("--iters", type=click.IntRange(1), default=300, show_default=True,
              help="Training iterations per round (batches of 16 frames on CPU, 64 on CUDA).")
@click.option("--size", type=click.IntRange(32, 1024), default=160, show_default=True,
              help="Work square the frames are shrunk to (a multiple of 4; the animal should be >= ~15 px there).")
@force_option("Replace OUTPUT and the detector file if they exist.")
def detect(inputs, output, model, save_model, rounds, device, max_animals, iters, size, force):
    """Find, track and orient the animal(s) in videos or folders of still images (one clip per folder,
    frames in name order). Without --model, a detector is trained on INPUTS from motion alone and saved."""
    from .detect import detector_path, run

    if size % 4:
        raise PosekitError(f"--size {size}: must be a multiple of 4 (the detector's output stride)")
    if model is not None and save_model is not None:
        raise PosekitError("--save-model: nothing is trained when --model is given")
    trained = None if model is not None else save_model or detector_path(output)
    with output_lock(output, "rodent detect"):
        refuse_existing(output, trained, force=force)
        summary = run(inputs, output, model=model, save_model=save_model, rounds=rounds, device=device,
                      max_animals=max_animals, size=size, iters=iters)
    for source, frames, detected in zip(summary["sources"], summary["frames"], summary["detected"]):
        click.echo(f"{source}: animal found in {detected} of {frames} frames")
    if summary["detector"] is not None:
        click.echo(f"trained detector ({rounds} bootstrapping rounds) -> {summary['detector']}")
    clips = summary["clips"]
    click.echo(f"tracks of {clips} clip{'s' if clips != 1 else ''} (layout rodent-detector) -> {output}")


COMMANDS = (detect,)
