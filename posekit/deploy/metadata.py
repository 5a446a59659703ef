"""What an exported recogniser carries in its ONNX ``metadata_props``: every value is JSON text.

``posekit_export`` (the version of this format), ``model`` (the network's name), ``classes`` (names, in logit order),
``layout`` (the training layout as a JSON object), ``stream``, ``pipeline`` (the test pipeline: posekit transform
configs run in order on each clip, normalisation and stream transform included), ``input`` and ``output`` (names,
axes and sizes), ``opset``. A predictor rebuilds the pipeline from them, as ``posekit predict`` does from a
checkpoint's config."""

from __future__ import annotations

import json

from ..errors import PosekitError

FORMAT_KEY = "posekit_export"
FORMAT_VERSION = 1
INPUT_NAME = "keypoints"
OUTPUT_NAME = "logits"
INFO_KEYS = ("model", "classes", "layout", "stream", "pipeline")


def describe(info: dict, input_sizes: dict[str, int], opset: int) -> dict[str, str]:
    """The metadata of an export: ``info`` (as :class:`posekit.train.api.CheckpointRecognizer` gives it), the
    input's fixed sizes (C, V, M) and the opset."""
    values = {
        FORMAT_KEY: FORMAT_VERSION,
        **{key: info[key] for key in INFO_KEYS},
        "layout": json.loads(info["layout"]),  # an object, not JSON inside a JSON string
        "input": {
            "name": INPUT_NAME,
            "dtype": "float32",
            "axes": ["N", "C", "T", "V", "M"],
            "sizes": input_sizes,
            "dynamic": ["N", "T"],
            "meaning": "N clips, C coordinates, T frames, V joints, M persons; missing joints are 0 and clips "
            "shorter than the batch's longest are padded with zero frames at the end",
        },
        "output": {
            "name": OUTPUT_NAME,
            "axes": ["N", "classes"],
            "softmax": False,
            "meaning": "logits: softmax over the classes axis gives the probabilities",
        },
        "opset": opset,
    }
    return {key: json.dumps(value) for key, value in values.items()}


def read_info(metadata: dict[str, str], path) -> dict:
    """The ``info`` an export's metadata carries (layout back as JSON text); a one-line error for a file that is
    not a posekit export, or of a newer format."""
    if FORMAT_KEY not in metadata:
        raise PosekitError(f"{path}: not a posekit export (no {FORMAT_KEY!r} metadata); make one with posekit export")
    try:
        values = {key: json.loads(metadata[key]) for key in (FORMAT_KEY, *INFO_KEYS)}
    except KeyError as e:
        raise PosekitError(f"{path}: its posekit metadata lacks {e.args[0]!r}") from None
    except json.JSONDecodeError as e:
        raise PosekitError(f"{path}: its posekit metadata is not JSON ({e})") from None
    version = values.pop(FORMAT_KEY)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise PosekitError(f"{path}: posekit export format {version!r} is not this posekit's; upgrade posekit")
    values["layout"] = json.dumps(values["layout"])
    return values
