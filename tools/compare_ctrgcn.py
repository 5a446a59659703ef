"""posekit's CTR-GCN against the authors' released code: parameter count, graph and logits on the same weights.

    python tools/compare_ctrgcn.py --reference PATH    # PATH: a checkout of the authors' code (Uason-Chen/CTR-GCN)

Both networks are built for NTU RGB+D (C=3, V=25 in the ntu-25 layout, M=2, 60 classes). The reference is imported
from PATH (its ``model/ctrgcn.py`` and ``graph/``), never installed: neither mmaction2 1.2.0 (whose skeleton
backbones are ST-GCN and 2s-AGCN only) nor a registry package ships CTR-GCN. The reference's BN scales, biases,
alphas and topologies are randomised (so that every path counts: its alphas start at 0 and its graph convolutions'
BN scales at 1e-6) and its BN statistics taken from random batches; its state dict is copied into posekit's network
through a name mapping, and the logits of both are compared on one random input, in eval mode and in training mode
(batch statistics), in float32 and float64. The initial graphs are compared too: from posekit's ntu-25 layout (the
layouts registry's bones, which differ from the reference's in three places) and from the reference's own bones.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import re
import sys
from pathlib import Path

import numpy as np
import torch

from posekit.layouts import Layout, get_layout
from posekit.nets.ctrgcn import CTRGCN, SUBSETS, ctrgcn_subsets

CHANNELS, PERSONS, CLASSES, LAYOUT = 3, 2, 60, "ntu-25"
BATCH, FRAMES = 4, 64
CALIBRATION_BATCHES = 3


def load_reference(root: Path):
    """(Model class, graph module) of the authors' code at ``root``."""
    if not (root / "model" / "ctrgcn.py").is_file():
        raise FileNotFoundError(f"{root}: no model/ctrgcn.py; give a checkout of the authors' CTR-GCN code")
    sys.path.insert(0, str(root))
    return importlib.import_module("model.ctrgcn").Model, importlib.import_module("graph.ntu_rgb_d")


def build_reference(model_class, channels: int = CHANNELS, persons: int = PERSONS, classes: int = CLASSES):
    """The authors' network on their NTU graph; it reads (N, C, T, V, M) as posekit's networks do."""
    return model_class(
        num_class=classes,
        num_point=get_layout(LAYOUT).num_joints,
        num_person=persons,
        graph="graph.ntu_rgb_d.Graph",
        graph_args=dict(labeling_mode="spatial"),
        in_channels=channels,
    )


def randomise(model: torch.nn.Module, seed: int = 0) -> None:
    """BN affine weights, biases, alphas and topologies away from their initial values, so that every path counts;
    then BN statistics from a few batches (random ones blow eval-mode activations up through 10 blocks)."""
    generator = torch.Generator().manual_seed(seed)

    def draw(tensor, low, high):
        tensor.copy_(torch.rand(tensor.shape, generator=generator) * (high - low) + low)

    with torch.no_grad():
        for name, tensor in model.named_parameters():
            if tensor.dim() == 1 and name.endswith(".weight"):  # BN scales
                draw(tensor, 0.5, 1.5)
            elif name.endswith((".bias", "alpha")):
                draw(tensor, -0.5, 0.5)
            elif name.endswith(".PA"):
                tensor.add_(torch.randn(tensor.shape, generator=generator) * 0.1)
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.momentum = None  # running statistics: the plain mean over the batches below
        model.train()
        for _ in range(CALIBRATION_BATCHES):
            model(torch.randn(BATCH, CHANNELS, FRAMES, get_layout(LAYOUT).num_joints, PERSONS, generator=generator))


def map_state(reference: dict) -> dict:
    """The reference's state dict under the names of posekit's network; the subsets' 1x1 convs stacked as posekit
    batches them."""
    state, stacked = {}, {}
    for name, tensor in reference.items():
        if name.startswith("data_bn."):
            state["data_bn.bn." + name[len("data_bn.") :]] = tensor
        elif name.startswith("fc."):
            state["head." + name] = tensor
        elif match := re.fullmatch(r"l(\d+)\.gcn1\.convs\.(\d+)\.(conv\d)\.(weight|bias)", name):
            layer, subset, conv, kind = match.groups()
            stacked.setdefault((int(layer), conv, kind), {})[int(subset)] = tensor
        else:
            state[_block_name(name)] = tensor
    per_subset = {"conv3": "transform", "conv4": "refine"}
    for (layer, conv, kind), tensors in stacked.items():
        if conv in per_subset:
            state[f"blocks.{layer - 1}.spatial.{per_subset[conv]}.{kind}"] = _in_order(tensors)
    for layer, kind in {(layer, kind) for layer, _, kind in stacked}:  # phi (conv1) of every subset, then psi (conv2)
        phi, psi = _in_order(stacked[layer, "conv1", kind]), _in_order(stacked[layer, "conv2", kind])
        state[f"blocks.{layer - 1}.spatial.correlate.{kind}"] = torch.cat([phi, psi])
    return state


def _in_order(tensors: dict) -> torch.Tensor:
    return torch.cat([tensors[k] for k in sorted(tensors)])


def _block_name(name: str) -> str:
    layer, rest = re.fullmatch(r"l(\d+)\.(.*)", name).groups()
    rest = (
        rest.replace("gcn1.PA", "spatial.topology")
        .replace("gcn1.alpha", "spatial.alpha")
        .replace("gcn1.down.0.", "spatial.down.conv.")
        .replace("gcn1.down.1.", "spatial.down.bn.")
        .replace("gcn1.bn.", "spatial.bn.")
        .replace("tcn1.", "temporal.")
    )
    return f"blocks.{int(layer) - 1}.{rest}"


def graph_differences(reference_graph: np.ndarray, layout: Layout) -> list[str]:
    """Each (subset, output joint, input joint) where posekit's initial topology differs from the reference's."""
    ours = ctrgcn_subsets(layout)
    return [
        f"{SUBSETS[k]}[{layout.joints[i]}, {layout.joints[j]}]: {reference_graph[k, i, j]:.3g} -> {ours[k, i, j]:.3g}"
        for k, i, j in zip(*np.nonzero(~np.isclose(reference_graph, ours)))
    ]


def reference_layout(graph_module) -> Layout:
    """ntu-25's joints with the reference's bones (its ``inward`` (child, parent) pairs)."""
    joints = get_layout(LAYOUT).joints
    return Layout(name="ctrgcn-ntu", joints=joints, parents={joints[c]: joints[p] for c, p in graph_module.inward})


def compare(root: Path) -> dict:
    """Parameter counts, graph differences and the largest logit differences (eval / train, float32 / float64)."""
    model_class, graph_module = load_reference(root)
    torch.manual_seed(0)
    reference, ours = build_reference(model_class), CTRGCN(LAYOUT, CHANNELS, PERSONS, CLASSES)
    randomise(reference)
    weights = copy.deepcopy(reference.state_dict())
    x = torch.randn(BATCH, CHANNELS, FRAMES, get_layout(LAYOUT).num_joints, PERSONS)
    result = {
        "params_reference": sum(p.numel() for p in reference.parameters()),
        "params_posekit": sum(p.numel() for p in ours.parameters()),
        "graph_vs_ntu25": graph_differences(reference.graph.A, get_layout(LAYOUT)),
        "graph_vs_reference_bones": graph_differences(reference.graph.A, reference_layout(graph_module)),
    }
    for dtype in (torch.float32, torch.float64):
        for mode in ("eval", "train"):  # the same weights each time: a training-mode pass updates BN statistics
            reference.load_state_dict(weights)
            ours.load_state_dict(map_state(weights), strict=True)
            for model in (reference, ours):
                model.to(dtype).train(mode == "train")
            with torch.no_grad():
                expected, got = reference(x.to(dtype)), ours(x.to(dtype))
            key = f"{mode}_{str(dtype).removeprefix('torch.')}"
            result[f"max_abs_logit_{key}"] = expected.abs().max().item()
            result[f"max_abs_diff_{key}"] = (expected - got).abs().max().item()
    return result


def report(result: dict) -> str:
    lines = [
        f"parameters: reference {result['params_reference']:,}, posekit {result['params_posekit']:,}",
        f"initial graph from posekit's ntu-25 layout: {len(result['graph_vs_ntu25'])} entries differ",
        *(f"  {d}" for d in result["graph_vs_ntu25"]),
        f"initial graph from the reference's bones: {len(result['graph_vs_reference_bones'])} entries differ",
    ]
    for key in ("eval_float32", "train_float32", "eval_float64", "train_float64"):
        lines.append(
            f"logits {key.replace('_', ', ')}: max |diff| {result[f'max_abs_diff_{key}']:.2e} "
            f"(max |logit| {result[f'max_abs_logit_{key}']:.2f})"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="checkout of the authors' CTR-GCN code")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(report(compare(args.reference)))


if __name__ == "__main__":
    main()
