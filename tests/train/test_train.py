import csv
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from posekit import checkpoints
from posekit.cli import main
from posekit.data import collate_clips
from posekit.data.transforms import UniformSample
from posekit.demo import write_sample_files
from posekit.registry import MODELS
from posekit.sample import ACTIONS
from posekit.store import Clip, StoreWriter
from posekit.train.datasets import StoreClips, fraction_per_class
from posekit.train.fusion import fuse
from posekit.train.metric import accuracy, average_per_clip


def test_accuracy_by_hand():
    scores = np.array(
        [
            [0.6, 0.3, 0.1],  # true 0, predicted 0
            [0.5, 0.4, 0.1],  # true 1, predicted 0 (1 is second)
            [0.1, 0.2, 0.7],  # true 2, predicted 2
            [0.2, 0.5, 0.3],
        ]
    )  # true 2, predicted 1 (2 is second)
    labels = np.array([0, 1, 2, 2])
    got = accuracy(scores, labels, topk=(1, 2))
    assert got["top1"] == pytest.approx(50.0)
    assert got["top2"] == pytest.approx(100.0)
    assert got["mean_class_acc"] == pytest.approx((1 + 0 + 0.5) / 3 * 100)


def test_average_per_clip_means_the_scores_of_an_id_in_first_seen_order():
    results = [("a", 0, np.array([0.2, 0.8])), ("b", 1, np.array([0.6, 0.4])), ("a", 0, np.array([0.6, 0.4]))]
    ids, labels, scores = average_per_clip(results)
    assert ids == ["a", "b"] and labels.tolist() == [0, 1]
    np.testing.assert_allclose(scores, [[0.4, 0.6], [0.6, 0.4]])


def test_fraction_per_class_is_stratified_and_keeps_every_class():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 3)
    indices = np.arange(len(labels))
    kept = fraction_per_class(indices, labels, 0.1, seed=0)
    assert np.bincount(labels[kept]).tolist() == [5, 3, 1]
    assert np.array_equal(kept, np.sort(kept)) and len(set(kept)) == len(kept)
    assert np.array_equal(kept, fraction_per_class(indices, labels, 0.1, seed=0))  # seeded


def test_fuse_sums_scores_matched_by_id(tmp_path):
    a = {
        "ids": ["x", "y", "z"],
        "labels": np.array([0, 1, 1]),
        "classes": ["p", "q"],
        "scores": np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]]),
    }
    b = {
        "ids": ["z", "y"],
        "labels": np.array([1, 1]),
        "classes": ["p", "q"],
        "scores": np.array([[0.3, 0.7], [0.3, 0.7]]),
    }
    for name, run in (("a.pkl", a), ("b.pkl", b)):
        with open(tmp_path / name, "wb") as f:
            pickle.dump(run, f)
    result = fuse([tmp_path / "a.pkl", tmp_path / "b.pkl"], tmp_path / "ab.pkl")
    assert result["clips"] == 2 and result["dropped"][str(tmp_path / "a.pkl")] == 1
    # y: a says p (0.6), a + b says q (0.4 + 0.7 > 0.6 + 0.3); z: q either way.
    assert result["top1"] == pytest.approx(100.0)
    with open(tmp_path / "ab.pkl", "rb") as f:
        fused = pickle.load(f)
    np.testing.assert_allclose(fused["scores"][fused["ids"].index("y")], [0.9, 1.1])


def tiny_config(tmp_path, base: str | None = None, *, epochs: int = 2, extra: str = ""):
    """A store config (``base``, default UNIK's) with a 16-frame crop, one person, ``epochs`` epochs and no workers:
    seconds on a CPU; ``extra`` lines are appended."""
    path = tmp_path / "tiny.py"
    path.write_text(
        f'_base_ = ["{base or Path(_models_dir()) / "unik/unik_1xb16-joint_store.py"}"]\n'
        'param_scheduler = [dict(type="MultiStepLR", by_epoch=True, milestones=[1], gamma=0.1)]\n'
        f"train_cfg = dict(max_epochs={epochs}, val_interval=1)\n"
        "train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, dataset=dict(pipeline=["
        'dict(type="SelectPersons", num=1), dict(type="RandomTemporalCrop", length=16), '
        'dict(type="ReplayPad", length=16)]))\n'
        "val_dataloader = dict(num_workers=0, persistent_workers=False, "
        'dataset=dict(pipeline=[dict(type="SelectPersons", num=1)]))\n'
        "test_dataloader = val_dataloader\n"
        "model = dict(net=dict(num_persons=1))\n" + extra
    )
    return path


def _models_dir():
    from posekit.zoo import models_dir

    return models_dir()


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_train_eval_fuse_predict_end_to_end(sample_store, tmp_path):
    config = tiny_config(tmp_path)
    # `train stgcn --config` of a UNIK config trains UNIK and says so; epochs come from the config
    for command, stream in (("unik", "joint"), ("stgcn", "bone")):
        out = run(
            "train",
            command,
            "--store",
            sample_store,
            "--work-dir",
            tmp_path / stream,
            "--config",
            config,
            "--stream",
            stream,
            "--holdout",
            "0.2",
        )
        assert f"trained UNIK ({stream}, 2 epochs)" in out and "test top-1" in out
        metrics = json.loads((tmp_path / stream / "metrics.json").read_text())
        assert metrics["model"] == "UNIK" and metrics["epochs"] == 2
        assert {"top1", "top5", "mean_class_acc"} <= set(metrics) and metrics["test_split_clips"] == 4
        assert metrics["stream"] == stream and metrics["precision"] == "OptimWrapper"
        for name in ("best.pth", "scores.pkl", "confusion.png"):
            assert (tmp_path / stream / name).is_file()
    out = run("fuse", tmp_path / "joint/scores.pkl", tmp_path / "bone/scores.pkl", "-o", tmp_path / "fused.pkl")
    assert "over 4 clips" in out and (tmp_path / "fused.pkl").is_file()
    out = run("eval", tmp_path / "bone/best.pth", "--store", sample_store, "--work-dir", tmp_path / "eval")
    evaluated = json.loads((tmp_path / "eval/metrics.json").read_text())
    trained = json.loads((tmp_path / "bone/metrics.json").read_text())
    assert (tmp_path / "eval/checkpoint_config.py").is_file() and not list((tmp_path / "eval").glob("tmp*.py"))
    assert evaluated["top1"] == pytest.approx(trained["top1"])  # the same model, stream and clips
    with open(tmp_path / "eval/scores.pkl", "rb") as f, open(tmp_path / "bone/scores.pkl", "rb") as g:
        again, first = pickle.load(f), pickle.load(g)
    assert again["ids"] == first["ids"]
    np.testing.assert_allclose(again["scores"], first["scores"], rtol=1e-5, atol=1e-6)
    out = run("predict", tmp_path / "joint/best.pth", sample_store, "-o", tmp_path / "pred.json")
    predictions = json.loads((tmp_path / "pred.json").read_text())
    assert len(predictions) == 24 and predictions[0]["predicted"] in ACTIONS
    assert sum(p for _, p in predictions[0]["top5"]) == pytest.approx(1.0, abs=1e-5)
    run("predict", tmp_path / "joint/best.pth", sample_store, "-o", tmp_path / "pred.csv")
    with open(tmp_path / "pred.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == [p["id"] for p in predictions]  # the same labels as the JSON, as a table
    assert rows[0]["top5_classes"].split("|") == [name for name, _ in predictions[0]["top5"]]
    assert float(rows[0]["probability"]) == pytest.approx(predictions[0]["probability"], abs=1e-6)
    refused = CliRunner().invoke(
        main, ["predict", str(tmp_path / "joint/best.pth"), str(sample_store), "-o", str(tmp_path / "pred.txt")]
    )
    assert refused.exit_code != 0 and ".json or .csv" in refused.output and not (tmp_path / "pred.txt").exists()
    write_sample_files(tmp_path / "npz", clips_per_action=1)  # a skeleton file, converted on the fly
    one = sorted((tmp_path / "npz").glob("*.npz"))[0]
    out = run("predict", tmp_path / "joint/best.pth", one, "--format", "npz")
    clip_id, predicted = out.splitlines()[0].split("\t")[:2]
    assert clip_id == one.stem and predicted in ACTIONS


def test_a_resumed_run_continues_from_its_last_epoch_and_its_checkpoint_evaluates(sample_store, tmp_path):
    config, work = tiny_config(tmp_path), tmp_path / "run"
    run(
        "train",
        "unik",
        "--store",
        sample_store,
        "--work-dir",
        work,
        "--config",
        config,
        "--epochs",
        "1",
        "--holdout",
        "0",
    )
    run(
        "train",
        "unik",
        "--store",
        sample_store,
        "--work-dir",
        work,
        "--config",
        config,
        "--epochs",
        "2",
        "--holdout",
        "0",
        "--resume",
    )
    logs = "".join(p.read_text() for p in work.glob("*/*.log"))
    assert "resumed epoch: 1," in logs  # epoch 2 trained on top of epoch 1, not from scratch
    assert checkpoints.load(work / "best.pth")["meta"]["epoch"] == 2
    run("eval", work / "best.pth", "--store", sample_store, "--work-dir", tmp_path / "eval")
    evaluated = json.loads((tmp_path / "eval/metrics.json").read_text())
    assert evaluated["top1"] == pytest.approx(json.loads((work / "metrics.json").read_text())["top1"])


def test_store_clips_reads_each_clip_once_per_test_sampling(sample_store):
    pipeline = [dict(type="SelectPersons", num=1), dict(type="UniformSample", length=8, test=True)]
    single = StoreClips(str(sample_store), split="test", pipeline=pipeline)
    multi = StoreClips(str(sample_store), split="test", pipeline=pipeline, num_clips=3)
    assert len(multi) == 3 * len(single) == 12
    assert [multi[i]["id"] for i in range(3)] == [single[0]["id"]] * 3
    frames = StoreClips(str(sample_store), split="test", pipeline=pipeline[:1])[0]["keypoints"]  # (C, T, V, M)
    for k in range(3):
        expected = frames[:, UniformSample(8, test=True).indices(frames.shape[1], (k, 3))]
        torch.testing.assert_close(multi[k]["keypoints"], expected)


def test_multi_clip_eval_averages_samplings_and_needs_a_sampling_test_pipeline(sample_store, tmp_path):
    config = tiny_config(tmp_path)
    run(
        "train",
        "unik",
        "--store",
        sample_store,
        "--work-dir",
        tmp_path / "whole",
        "--config",
        config,
        "--epochs",
        "1",
        "--holdout",
        "0",
    )
    result = CliRunner().invoke(
        main, ["eval", str(tmp_path / "whole/best.pth"), "--store", str(sample_store), "--clips", "2"]
    )
    assert result.exit_code != 0 and "needs a test pipeline that samples frames" in result.output
    sampled = tmp_path / "sampled.py"
    sampled.write_text(
        f'_base_ = ["{config}"]\n'
        'test_dataloader = dict(dataset=dict(pipeline=[dict(type="SelectPersons", num=1), '
        'dict(type="UniformSample", length=8, test=True)]))\n'
        "optim_wrapper = dict(optimizer=dict(lr=0.001))\n"
    )  # scores short of one-hot
    run(
        "train",
        "unik",
        "--store",
        sample_store,
        "--work-dir",
        tmp_path / "s",
        "--config",
        sampled,
        "--epochs",
        "1",
        "--holdout",
        "0",
        "--test-clips",
        "3",
    )
    trained = json.loads((tmp_path / "s/metrics.json").read_text())
    assert trained["test_split_clips"] == 4
    run("eval", tmp_path / "s/best.pth", "--store", sample_store, "--work-dir", tmp_path / "e3")  # as trained
    evaluated = json.loads((tmp_path / "e3/metrics.json").read_text())
    assert evaluated["clips"] == 3 and evaluated["top1"] == pytest.approx(trained["top1"])
    run("eval", tmp_path / "s/best.pth", "--store", sample_store, "--work-dir", tmp_path / "e2", "--clips", 2)
    with open(tmp_path / "e2/scores.pkl", "rb") as f:
        fused = pickle.load(f)
    best = checkpoints.load(tmp_path / "s/best.pth")
    cfg = checkpoints.training_config(best, tmp_path / "s/best.pth")
    dataset = StoreClips(str(sample_store), split="test", pipeline=cfg.test_dataloader.dataset.pipeline, num_clips=2)
    model = MODELS.build(cfg.model)
    model.load_state_dict(best["state_dict"])
    with torch.no_grad():
        batch = collate_clips([dataset[i] for i in range(len(dataset))])
        scores = model.eval()(batch["keypoints"], batch["label"], mode="tensor").softmax(1).numpy()
    assert not np.allclose(scores[0::2], scores[1::2], atol=1e-4)  # the two samplings score differently
    assert fused["ids"] == batch["id"][0::2]
    np.testing.assert_allclose(fused["scores"], (scores[0::2] + scores[1::2]) / 2, rtol=1e-4, atol=1e-6)


def test_linear_evaluation_trains_only_the_classifier(sample_store, tmp_path):
    config = tiny_config(tmp_path)
    run("train", "unik", "--store", sample_store, "--work-dir", tmp_path / "pre", "--config", config)
    run(
        "train",
        "unik",
        "--store",
        sample_store,
        "--work-dir",
        tmp_path / "lin",
        "--config",
        config,
        "--init",
        tmp_path / "pre/best.pth",
        "--linear",
        "--label-fraction",
        "0.5",
    )
    before = checkpoints.load(tmp_path / "pre/best.pth")["state_dict"]
    after = checkpoints.load(tmp_path / "lin/best.pth")["state_dict"]
    backbone = [k for k in before if not k.startswith("net.head.")]
    assert backbone and all(torch.equal(before[k], after[k]) for k in backbone)  # BN statistics included
    assert not torch.equal(before["net.head.fc.weight"], after["net.head.fc.weight"])


def test_transfer_to_a_store_with_another_layout_and_classes(sample_store, tmp_path):
    """Pre-train on COCO-17 clips, fine-tune on Penn-13 clips with other classes: the store's joints are mapped
    into the pre-training layout, every backbone weight is loaded, the classifier is re-created."""
    from posekit.layouts import remap
    from posekit.store import SkeletonStore

    source = SkeletonStore(sample_store)
    penn_store = tmp_path / "penn_like.h5"
    with StoreWriter(penn_store, "penn-13", coord_dims=2, classes=["up", "down"]) as w:
        for i in range(len(source)):
            clip = source[i]
            w.add(
                Clip(
                    id=clip.id,
                    keypoints=remap(clip.keypoints, "coco-17", "penn-13", axis=2),
                    label=clip.label % 2,
                    image_size=clip.image_size,
                    splits=clip.splits,
                )
            )
    config = tiny_config(tmp_path)
    run("train", "unik", "--store", sample_store, "--work-dir", tmp_path / "pre", "--config", config)
    out = run(
        "train",
        "unik",
        "--store",
        penn_store,
        "--work-dir",
        tmp_path / "ft",
        "--config",
        config,
        "--init",
        tmp_path / "pre/best.pth",
        "--label-fraction",
        "0.5",
    )
    assert "test top-1" in out
    pre = checkpoints.load(tmp_path / "pre/best.pth")["state_dict"]
    ft = checkpoints.load(tmp_path / "ft/best.pth")["state_dict"]
    assert ft["net.data_bn.bn.weight"].shape == pre["net.data_bn.bn.weight"].shape  # 17 joints, as pre-trained
    assert ft["net.head.fc.weight"].shape == (2, 256) and pre["net.head.fc.weight"].shape == (4, 256)
    predictions = run("predict", tmp_path / "ft/best.pth", penn_store)
    assert len(predictions.strip().splitlines()) == len(source)


def test_linear_evaluation_of_a_2d_model_on_3d_joints_reads_their_camera_view(sample_store, tmp_path):
    """A model pre-trained on 2D joints keeps its input layer only if the 3D store is fed as 2D (--project-2d);
    without it --linear says what to add instead of training a classifier on a random input layer."""
    from posekit.store import SkeletonStore

    source = SkeletonStore(sample_store)
    store_3d = tmp_path / "metric_3d.h5"
    with StoreWriter(store_3d, "coco-17", coord_dims=3, classes=list(source.classes), coordinates="metric") as w:
        for i in range(len(source)):
            clip = source[i]
            xy = clip.keypoints / 100.0  # pixels to "metres"; the image view of (-x, -y, z) is (x, y) again
            xyz = np.concatenate([-xy, np.full(xy.shape[:-1] + (1,), 3.0, np.float32)], axis=-1)
            w.add(Clip(id=clip.id, keypoints=xyz, label=clip.label, splits=clip.splits))
    config = tiny_config(tmp_path)
    run("train", "unik", "--store", sample_store, "--work-dir", tmp_path / "pre", "--config", config)
    args = ["train", "unik", "--store", store_3d, "--config", config, "--init", tmp_path / "pre/best.pth", "--linear"]
    refused = CliRunner().invoke(main, [str(a) for a in args + ["--work-dir", tmp_path / "no"]])
    assert refused.exit_code != 0 and "--project-2d" in refused.output
    run(*args, "--work-dir", tmp_path / "lin", "--project-2d")
    before = checkpoints.load(tmp_path / "pre/best.pth")["state_dict"]
    after = checkpoints.load(tmp_path / "lin/best.pth")["state_dict"]
    assert all(torch.equal(before[k], after[k]) for k in before if not k.startswith("net.head."))
    out = run("eval", tmp_path / "lin/best.pth", "--store", store_3d, "--work-dir", tmp_path / "eval")
    assert "top-1" in out and json.loads((tmp_path / "lin/metrics.json").read_text())["project_2d"] is True


def test_predict_and_fuse_refuse_an_existing_output_unless_forced(tmp_path):
    scores = {"ids": ["x"], "labels": np.array([0]), "classes": ["p", "q"], "scores": np.array([[0.9, 0.1]])}
    with open(tmp_path / "a.pkl", "wb") as f:
        pickle.dump(scores, f)
    checkpoint, store = tmp_path / "model.pth", tmp_path / "store.h5"
    for path in (checkpoint, store):
        path.write_text("never read: the output is checked first")
    for name, args in (
        ("fused.pkl", ["fuse", tmp_path / "a.pkl", "-o"]),
        ("labels.json", ["predict", checkpoint, store, "-o"]),
    ):
        (tmp_path / name).write_text("kept")
        result = CliRunner().invoke(main, [str(a) for a in args + [tmp_path / name]])
        assert result.exit_code == 2 and f"{tmp_path / name}: exists; use --force" in result.output
        assert (tmp_path / name).read_text() == "kept"
    run("fuse", tmp_path / "a.pkl", "-o", tmp_path / "fused.pkl", "--force")
    assert (tmp_path / "fused.pkl").read_bytes() != b"kept"
    forced = CliRunner().invoke(
        main, ["predict", str(checkpoint), str(store), "-o", str(tmp_path / "labels.json"), "--force"]
    )
    assert "cannot be loaded weights-only" in forced.output  # past the output check, at the checkpoint
