"""``posekit export``: a trained action recogniser as an ONNX model for onnxruntime (torch is imported on use)."""

from __future__ import annotations

from pathlib import Path

import click

from ..outputs import force_option, refuse_existing
from .options import trust_checkpoint_option


@click.command(name="export")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="The .onnx file to write (default: CHECKPOINT as .onnx)."
)
@force_option()
@trust_checkpoint_option()
def export(checkpoint, output, force, trust_checkpoint):
    """Export a checkpoint of posekit train unik, stgcn or ctrgcn to ONNX (dynamic batch and frame axes; logits
    out; classes, layout and input pipeline in its metadata), checked against PyTorch with onnxruntime.
    Label clips with it: posekit predict MODEL.onnx STORE."""
    from ..deploy.export import export_checkpoint

    output = output or checkpoint.with_suffix(".onnx")
    refuse_existing(output, force=force)
    r = export_checkpoint(checkpoint, output, trust_checkpoint=trust_checkpoint)
    click.echo(
        f"exported {r['model']} ({len(r['classes'])} classes, {r['stream']} stream) from {checkpoint} to ONNX opset "
        f"{r['opset']}, dynamic batch and frame axes, logits out; onnxruntime's logits match PyTorch's within "
        f"{r['max_difference']:.1e} (largest logit {r['max_logit']:.3g}) -> {r['output']}"
    )


COMMANDS = (export,)
