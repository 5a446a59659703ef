"""`posekit export` and `posekit predict MODEL.onnx`: UNIK, ST-GCN and CTR-GCN trained for one tiny epoch on the
sample store, exported, then run by onnxruntime on the store's clips against PyTorch (logits, top-1, other batch
sizes and frame counts than the trace's); and the one-line refusals."""

import json

import onnx
import pytest
import torch
from click.testing import CliRunner

from posekit.cli import main
from posekit.data import collate_clips
from posekit.deploy.export import OPSET, write_onnx
from posekit.deploy.runtime import OnnxRecognizer
from posekit.errors import InputError, PosekitError
from posekit.layouts import get_layout
from posekit.nets.heads import ClassifierHead
from posekit.nets.units import DataBN, SkeletonNet
from posekit.sample import ACTIONS
from posekit.train.api import CheckpointRecognizer, prediction_clips, train
from posekit.train.overrides import config_path
from tests.crafted import assert_one_line_error
from tests.train.conftest import sample_store  # noqa: F401  (the training tests' 24-clip COCO-17 store)
from tests.train.test_train import tiny_config as training_tiny_config

LOGIT_TOLERANCE = 1e-4
BATCHES = ((1, 24), (5, 11))  # (clips per batch, frames): whole 24-frame clips one by one, then cropped in fives


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def invoke_ok(*args) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def tiny_config(tmp_path, model: str):
    """The model's store config with 16-frame crops, one person, no workers and one epoch at a small learning rate,
    so that its logits are a few units and its scores fall short of one-hot: a 1e-4 difference is then a real one."""
    return training_tiny_config(
        tmp_path, config_path(model), epochs=1, extra="optim_wrapper = dict(optimizer=dict(lr=0.001))\n"
    )


@pytest.fixture(scope="module", params=["unik", "stgcn", "ctrgcn"])
def exported(request, sample_store, tmp_path_factory):  # noqa: F811
    """(checkpoint, its export, the export command's output) of one model trained for one epoch."""
    torch.set_num_threads(1)  # small tensors on a shared machine
    tmp = tmp_path_factory.mktemp(request.param)
    # seed 1: at seed 0 CTR-GCN's one epoch already saturates its scores, which would leave little to compare
    train(sample_store, tmp / "run", model=request.param, config=tiny_config(tmp, request.param), holdout=0, seed=1)
    checkpoint, path = tmp / "run" / "best.pth", tmp / "model.onnx"
    return checkpoint, path, invoke_ok("export", checkpoint, "-o", path)


def test_the_export_has_the_opset_dynamic_axes_and_the_metadata_predict_needs(exported):
    checkpoint, path, output = exported
    model = onnx.load(path)
    onnx.checker.check_model(model)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [OPSET]
    assert f"opset {OPSET}" in output and output.rstrip().endswith(f"-> {path}")
    (keypoints,) = model.graph.input
    assert [d.dim_param or d.dim_value for d in keypoints.type.tensor_type.shape.dim] == ["N", 2, "T", 17, 1]
    metadata = {p.key: json.loads(p.value) for p in model.metadata_props}
    assert metadata["opset"] == OPSET and metadata["output"]["softmax"] is False
    assert metadata["input"]["axes"] == ["N", "C", "T", "V", "M"] and metadata["input"]["sizes"] == dict(C=2, V=17, M=1)
    info = CheckpointRecognizer(checkpoint, device="cpu").info
    assert metadata["classes"] == info["classes"] == list(ACTIONS)
    assert any(t["type"] == "NormalizeImage2D" for t in metadata["pipeline"])  # the input normalisation travels
    assert OnnxRecognizer(path).info == info  # layout, stream and pipeline read back as the checkpoint gives them


def test_export_with_force_replaces_the_file_and_leaves_no_temporary_one(exported):
    checkpoint, path, _ = exported
    before = path.read_bytes()
    path.write_text("an older export")
    invoke_ok("export", checkpoint, "-o", path, "--force")
    assert path.read_bytes() == before  # the same graph and metadata again
    assert sorted(p.name for p in path.parent.iterdir() if p.suffix != ".py") == ["model.onnx", "run"]


def test_onnxruntime_gives_pytorchs_logits_on_the_stores_clips_for_other_batch_sizes_and_frame_counts(
    exported,
    sample_store,  # noqa: F811
):
    checkpoint, path, _ = exported
    reference, deployed = CheckpointRecognizer(checkpoint, device="cpu"), OnnxRecognizer(path, threads=1)
    clips = prediction_clips(sample_store, None, deployed.info)
    samples = [clips[i] for i in range(len(clips))]
    for batch_size, frames in BATCHES:
        for start in range(0, len(samples), batch_size):
            keypoints = collate_clips(samples[start : start + batch_size])["keypoints"][:, :, :frames]
            assert keypoints.shape[:3] == (len(samples[start : start + batch_size]), 2, frames)
            expected, got = reference.logits(keypoints), deployed.logits(keypoints)
            assert expected.std() > 0  # logits that tell classes apart
            torch.testing.assert_close(got, expected, rtol=0, atol=LOGIT_TOLERANCE)
            assert torch.equal(got.argmax(1), expected.argmax(1))
    for model in (reference, deployed):  # both refuse other joints alike
        with pytest.raises(InputError, match=r"shaped \(N, C=2, T, V=17, M=1\), got \(1, 2, 9, 13, 1\)"):
            model.logits(torch.zeros(1, 2, 9, 13, 1))


def test_predict_with_the_export_labels_every_clip_as_the_checkpoint_does(exported, sample_store, tmp_path):  # noqa: F811
    checkpoint, path, _ = exported
    for model, name in ((checkpoint, "checkpoint.json"), (path, "onnx.json")):
        assert str(tmp_path / name) in invoke_ok("predict", model, sample_store, "-o", tmp_path / name)
    by_checkpoint, by_onnx = (json.loads((tmp_path / name).read_text()) for name in ("checkpoint.json", "onnx.json"))
    assert len(by_onnx) == 24 and any(p["probability"] < 0.99 for p in by_onnx)
    assert [p["id"] for p in by_onnx] == [p["id"] for p in by_checkpoint]
    for ours, theirs in zip(by_onnx, by_checkpoint):
        assert ours["predicted"] == theirs["predicted"]
        # 4 classes: the top-5 holds them all, and classes of equal probability (0 in float32) may come in any order
        assert dict(ours["top5"]) == pytest.approx(dict(theirs["top5"]), abs=LOGIT_TOLERANCE)


def crafted_checkpoint(path, model: dict):
    """A checkpoint whose posekit config names ``model``: what export reads before any weight."""
    torch.save({"meta": {"posekit_cfg": json.dumps({"model": model})}, "state_dict": {}}, path)
    return path


@pytest.mark.parametrize(
    "model, named",
    [
        (dict(type="ContrastivePretrainer", net=dict(type="UNIK")), "a ContrastivePretrainer checkpoint"),
        (dict(type="SkeletonSegmenter", net=dict(type="UNIK", head="frame")), "a SkeletonSegmenter checkpoint"),
        (dict(type="SkeletonRecognizer", net=dict(type="UNIK", head="frame")), "a recogniser with a 'frame' head"),
    ],
)
def test_export_refuses_a_checkpoint_that_is_not_a_clip_recogniser_in_one_line(tmp_path, model, named):
    checkpoint = crafted_checkpoint(tmp_path / "other.pth", model)
    result = invoke("export", checkpoint, "-o", tmp_path / "model.onnx")
    assert_one_line_error(result)
    assert f"{checkpoint}: {named}, not a clip action recogniser" in result.output
    assert list(tmp_path.iterdir()) == [checkpoint]  # nothing written, no temporary file left


def test_export_refuses_an_existing_output_unless_forced_and_any_suffix_but_onnx(tmp_path):
    checkpoint = tmp_path / "model.pth"
    checkpoint.write_text("never read: the output is checked first")
    existing = tmp_path / "model.onnx"  # also the default output beside the checkpoint
    existing.write_text("kept")
    for args in (["-o", existing], []):
        result = invoke("export", checkpoint, *args)
        assert_one_line_error(result)
        assert f"{existing}: exists; use --force" in result.output and existing.read_text() == "kept"
    forced = invoke("export", checkpoint, "-o", existing, "--force")
    assert_one_line_error(forced)
    assert "cannot be loaded weights-only" in forced.output  # past the output check, at the checkpoint
    other = invoke("export", checkpoint, "-o", tmp_path / "model.bin")
    assert_one_line_error(other)
    assert "is written as .onnx" in other.output and not (tmp_path / "model.bin").exists()


class BranchOnValues(torch.nn.Module):
    """Python control flow on a tensor's value: a traced graph would keep only the branch the example took."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.mean() > 0 else -x


def test_a_network_whose_trace_depends_on_tensor_values_is_refused_and_nothing_written(tmp_path):
    net = SkeletonNet(DataBN(2, 17, 1), torch.nn.Sequential(BranchOnValues()), ClassifierHead(2, 4)).eval()
    info = dict(model="Branchy", classes=list(ACTIONS), layout=get_layout("coco-17").to_json(), stream="joint")
    with pytest.raises(PosekitError, match="its trace depends on Python control flow"):
        write_onnx(net, {**info, "pipeline": []}, tmp_path / "branchy.onnx")
    assert list(tmp_path.iterdir()) == []


def test_predict_refuses_an_onnx_file_that_is_not_a_posekit_export_in_one_line(sample_store, tmp_path):  # noqa: F811
    plain = tmp_path / "plain.onnx"
    torch.onnx.export(torch.nn.Linear(3, 2), (torch.zeros(1, 3),), str(plain), dynamo=False)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a protobuf")
    for path, message in ((plain, "not a posekit export"), (garbage, "not a model onnxruntime can load")):
        result = invoke("predict", path, sample_store)
        assert_one_line_error(result)
        assert f"{path}: {message}" in result.output
