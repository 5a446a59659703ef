"""posekit zeroshot and search: T-MOR and classifier (ConSE) checkpoints on the sample store with template captions,
scores written as eval writes them, unseen-class subsets, few-shot prototypes, and the user's mistakes as one line."""

import json
import shutil

import numpy as np
import pytest
import torch

from posekit.sample import ACTIONS
from posekit.store import Clip, SkeletonStore, StoreEditor, StoreWriter
from posekit.train.fusion import load_scores
from posekit.train.transfer import _prototypes, load_embedder
from tests.train.conftest import one_thread, sample_store  # noqa: F401  (the training tests' fixtures)
from tests.train.test_tmor import SHORT, invoke, text_store  # noqa: F401  (fixtures and helpers)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(text_store, tmp_path_factory):  # noqa: F811  (the fixture imported above)
    """The sample store (4 actions; 20 training, 4 test clips) with template captions and bag-of-words rows, a T-MOR
    checkpoint and a UNIK classifier's, each of one epoch."""
    root = tmp_path_factory.mktemp("zeroshot")
    for command, work_dir in (("tmor", root / "tmor"), ("unik", root / "unik")):
        code, output = invoke("train", command, "--store", text_store, "--work-dir", work_dir, *SHORT)
        assert code == 0, output
    return text_store, root / "tmor" / "best.pth", root / "unik" / "best.pth"


def test_zero_shot_writes_metrics_and_scores_as_eval_does(trained, tmp_path):
    store, tmor, _ = trained
    code, output = invoke("zeroshot", tmor, "--store", store, "--work-dir", tmp_path)
    assert code == 0, output
    assert "zero-shot (tmor)" in output and "4 clips of 4 classes (chance 25.0%)" in output and str(tmp_path) in output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    scores = load_scores(tmp_path / "scores.pkl")  # as posekit fuse reads it
    with SkeletonStore(store) as info:
        test = info.split("test")
        assert sorted(scores["ids"]) == sorted(info.ids[test]) and scores["classes"] == list(ACTIONS)
    np.testing.assert_allclose(scores["scores"].sum(axis=1), 1, rtol=1e-5)  # softmax rows
    top1 = 100 * np.mean(scores["scores"].argmax(axis=1) == scores["labels"])
    assert metrics["top1"] == pytest.approx(top1) and metrics["kind"] == "tmor"
    assert metrics["class_texts"] == [[action] for action in ACTIONS]  # the class names as words
    assert (tmp_path / "confusion.png").is_file()


def test_unseen_classes_score_only_their_clips_among_them(trained, tmp_path):
    store, tmor, _ = trained
    code, output = invoke("zeroshot", tmor, "--store", store, "--unseen", "walk,jump", "--work-dir", tmp_path)
    assert code == 0, output
    scores = load_scores(tmp_path / "scores.pkl")
    assert scores["classes"] == ["walk", "jump"] and scores["scores"].shape == (2, 2)
    walk = scores["ids"].index("walk_003")
    assert scores["labels"][walk] == 0 and scores["labels"][1 - walk] == 1  # positions among the chosen classes
    assert json.loads((tmp_path / "metrics.json").read_text())["chance"] == 50.0


def test_a_classifier_on_its_own_classes_picks_what_it_predicts(trained, tmp_path):
    store, _, unik = trained
    code, output = invoke("zeroshot", unik, "--store", store, "--work-dir", tmp_path)
    assert code == 0, output
    assert "zero-shot (classifier)" in output
    zero_shot = load_scores(tmp_path / "scores.pkl")
    trained_scores = load_scores(unik.parent / "scores.pkl")  # posekit train unik's own test scores
    # ConSE: the classes' bag-of-words rows share no word, so the nearest class text is the most probable class
    predicted = dict(zip(trained_scores["ids"], trained_scores["scores"].argmax(axis=1)))
    assert [predicted[i] for i in zero_shot["ids"]] == zero_shot["scores"].argmax(axis=1).tolist()


def test_few_shot_reports_the_mean_and_spread_of_its_draws(trained, tmp_path):
    store, tmor, _ = trained
    code, output = invoke("zeroshot", tmor, "--store", store, "--shots", "1", "--draws", "3", "--work-dir", tmp_path)
    assert code == 0, output
    assert "1-shot (tmor, nearest prototype, 3 draws)" in output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    top1 = [draw["top1"] for draw in metrics["per_draw"]]
    assert len(top1) == 3 and metrics["top1_mean"] == pytest.approx(np.mean(top1))
    assert metrics["top1_std"] == pytest.approx(np.std(top1))
    code, output = invoke("zeroshot", tmor, "--store", store, "--shots", "6", "--work-dir", tmp_path / "six")
    assert code == 2 and "has 5 clips, fewer than --shots 6" in output and "\n" not in output.strip()


def test_prototypes_are_the_normalised_means_of_the_drawn_clips():
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0], [0.6, 0.8]])
    labels = np.array([0, 0, 1, 1])
    prototypes = _prototypes(features, labels, 2, shots=2, seed=0)  # every clip drawn: order does not matter
    s = 2**-0.5
    torch.testing.assert_close(prototypes, torch.tensor([[s, s], [0.6, 0.8]]))
    one = _prototypes(features, labels, 2, shots=1, seed=3)
    assert all(any(torch.allclose(one[c], features[i] / features[i].norm()) for i in np.flatnonzero(labels == c))
               for c in range(2))  # fmt: skip


def test_search_ranks_clips_by_cosine_and_says_how_to_draw_one(trained):
    store, tmor, _ = trained
    code, output = invoke("search", tmor, "a person jumps", "--store", store, "--top", "3")
    assert code == 0, output
    lines = output.strip().splitlines()
    rows = [line.split("\t") for line in lines[:-1]]
    assert [row[0] for row in rows] == ["1", "2", "3"]
    scores = [float(row[2]) for row in rows]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    with SkeletonStore(store) as info:
        assert all(row[1] in set(info.ids) and row[3] in ACTIONS for row in rows)
    assert f"posekit show {store} --clips {rows[0][1]} -o" in lines[-1]


def test_a_class_file_of_the_wrong_length_is_one_line(trained, tmp_path):
    store, tmor, _ = trained
    classes = tmp_path / "classes.txt"
    classes.write_text("waving a hand\nsquatting\n")
    code, output = invoke("zeroshot", tmor, "--store", store, "--classes", classes, "--work-dir", tmp_path / "z")
    assert code == 2 and "2 class texts for the 4 classes" in output and "\n" not in output.strip()
    classes.write_text("waving a hand\nsquat\njumping up\nwalk\n")
    code, output = invoke("zeroshot", tmor, "--store", store, "--classes", classes, "--work-dir", tmp_path / "z")
    assert code == 0, output
    texts = json.loads((tmp_path / "z" / "metrics.json").read_text())["class_texts"]
    assert texts == [["waving a hand"], ["squat"], ["jumping up"], ["walk"]]


def test_text_features_of_another_encoder_are_one_line(trained, tmp_path):
    store, tmor, _ = trained
    other = tmp_path / "other.h5"
    shutil.copyfile(store, other)
    with StoreEditor(other) as editor:
        editor.new_class_feature("small", 64, encoder="bow-64")
    code, output = invoke("zeroshot", tmor, "--store", other, "--text-features", "small", "--work-dir", tmp_path / "z")
    assert code == 2 and "of encoder bow-64" in output and "trained on bow-1024" in output
    assert "\n" not in output.strip()


def test_a_2d_model_reads_another_datasets_3d_store_as_its_camera_view(trained, tmp_path):
    """Cross-dataset zero-shot: a T-MOR of 2D pixel joints on a 3D store. Without --project-2d one line says what to
    add; with it the store's own normalisation (centred on the body) and the camera view replace the model's image
    normalisation. The 3D clips here are the 2D ones as Kinect coordinates (-x, -y, depth), so their centred camera
    view is exactly the 2D clips centred on the body."""
    store, tmor, _ = trained
    store_3d = tmp_path / "metric_3d.h5"
    with SkeletonStore(store) as source:
        with StoreWriter(
            store_3d, source.layout, coord_dims=3, classes=list(source.classes), coordinates="metric"
        ) as w:
            for i in range(len(source)):
                clip = source[i]
                depth = np.full(clip.keypoints.shape[:-1] + (1,), 3.0, np.float32)
                w.add(Clip(id=clip.id, keypoints=np.concatenate([-clip.keypoints, depth], -1), label=clip.label,
                           splits=clip.splits))  # fmt: skip
    code, output = invoke("zeroshot", tmor, "--store", store_3d, "--work-dir", tmp_path / "no")
    assert code == 2 and "3D joints; the model reads 2D joints: add --project-2d" in output
    assert "\n" not in output.strip()
    code, output = invoke("zeroshot", tmor, "--store", store_3d, "--project-2d", "--work-dir", tmp_path / "z")
    assert code == 0, output
    projected = load_embedder(tmor, store_3d, project_2d=True)
    assert [t["type"] for t in projected.pipeline_for(store_3d)] == ["CentreSkeleton", "Project2D", "SelectPersons"]
    centred = load_embedder(tmor, store)
    centred.pipeline = [dict(type="CentreSkeleton"), dict(type="SelectPersons", num=2)]
    indices = np.arange(6)
    torch.testing.assert_close(projected.embed_clips(store_3d, indices), centred.embed_clips(store, indices))
    code, output = invoke("zeroshot", tmor, "--store", store, "--project-2d", "--work-dir", tmp_path / "2d")
    assert code == 2 and "--project-2d reads 3D joints" in output


@pytest.mark.parametrize("head", ["frozen", "linear"])
def test_a_text_head_of_choice_trains_and_transfers(text_store, head, tmp_path):  # noqa: F811
    work_dir = tmp_path / head
    code, output = invoke("train", "tmor", "--store", text_store, "--work-dir", work_dir, "--text-head", head, *SHORT)
    assert code == 0, output
    assert json.loads((work_dir / "metrics.json").read_text())["text_head"] == head
    code, output = invoke("zeroshot", work_dir / "best.pth", "--store", text_store, "--work-dir", tmp_path / "z")
    assert code == 0 and "zero-shot (tmor)" in output
    embedder = load_embedder(work_dir / "best.pth", text_store)
    rows = torch.randn(3, 1024)
    texts = embedder.model.embed_texts(rows)
    if head == "frozen":  # the text encoder's own space: phi_T is the identity
        torch.testing.assert_close(texts, torch.nn.functional.normalize(rows, dim=-1))
    else:  # one bias-free linear map: a sum of texts goes where the sum of their images does
        image = embedder.model.text_projection
        torch.testing.assert_close(image(rows[0] + rows[1]), image(rows[0]) + image(rows[1]))
    clips, _ = embedder.embed_clips(text_store, np.arange(2))
    assert clips.shape == (2, texts.shape[1])
