"""blazepose-detector: mediapipe's SSD anchors and detection decoding, its weighted non-maximum suppression, the
person ROI, crops and heatmap refinement, each against hand-computed values; then on the real COCO test images
(skipped without ../shared/data) it finds at least as many annotated persons as blazepose-multi."""

import json

import numpy as np
import pytest

from posekit.errors import PosekitError
from posekit.extract.experts import build_expert, parse_experts
from posekit.extract.experts.blazepose_detector import (
    crop_roi,
    decode_detections,
    detection_squares,
    distinct_bodies,
    person_roi,
    refine_from_heatmap,
    roi_to_frame,
    ssd_anchors,
    weighted_nms,
)
from posekit.extract.video import Video
from posekit.layouts import mapping
from tests.conftest import real_file


def test_anchors_follow_mediapipes_pose_detection_config():
    anchors = ssd_anchors()
    # strides 8, 16, 32, 32, 32 on 224: grids of 28, 14 and 7 cells; 2 anchors per layer, the three stride-32
    # layers sharing the 7x7 grid
    assert len(anchors) == 28 * 28 * 2 + 14 * 14 * 2 + 7 * 7 * 6 == 2254
    assert anchors[0] == pytest.approx([0.5 / 28, 0.5 / 28]) and anchors[1] == pytest.approx(anchors[0])
    assert anchors[2] == pytest.approx([1.5 / 28, 0.5 / 28])  # next cell along the row
    assert anchors[2 * 28] == pytest.approx([0.5 / 28, 1.5 / 28])  # next row
    assert anchors[1568] == pytest.approx([0.5 / 14, 0.5 / 14])  # first anchor of the stride-16 grid
    assert anchors[1960:1966] == pytest.approx(np.tile([0.5 / 7, 0.5 / 7], (6, 1)))  # stride 32: 6 per cell
    assert anchors[-1] == pytest.approx([6.5 / 7, 6.5 / 7])


def test_a_raw_detection_decodes_to_its_box_and_keypoints():
    anchors = ssd_anchors()
    raw_boxes, raw_scores = np.zeros((2254, 12), np.float32), np.full(2254, -10.0, np.float32)
    # anchor 100 (centre 100 // 2 = cell 50 of the 28x28 grid: column 22, row 1) scores logit 2: probability 0.881
    raw_scores[100] = 2.0
    # x y w h in input pixels (224): centre moved by (+0.05, -0.1), 0.2 wide, 0.3 high; keypoints at offsets
    raw_boxes[100] = np.array([0.05, -0.1, 0.2, 0.3, 0, 0, 0.1, 0.1, -0.1, 0, 0, -0.2]) * 224
    raw_scores[200], raw_boxes[200, 2] = 3.0, -5  # a box of negative width: dropped
    boxes, keypoints, scores = decode_detections(raw_boxes, raw_scores, anchors, min_score=0.5)
    centre = np.array([22.5 / 28 + 0.05, 1.5 / 28 - 0.1])
    assert len(boxes) == 1
    assert boxes[0] == pytest.approx([centre[0] - 0.1, centre[1] - 0.15, centre[0] + 0.1, centre[1] + 0.15], abs=1e-6)
    expected = np.array([[0, 0], [0.1, 0.1], [-0.1, 0], [0, -0.2]]) + anchors[100]
    assert keypoints[0] == pytest.approx(expected, abs=1e-6)
    assert scores == pytest.approx([1 / (1 + np.exp(-2))])
    assert len(decode_detections(raw_boxes, raw_scores, anchors, min_score=0.9)[2]) == 0


def test_weighted_nms_merges_overlapping_boxes_weighted_by_score():
    boxes = np.array([[1, 0, 11, 10], [0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10.5]], np.float32)
    keypoints = np.array([[[2, 2]], [[1, 1]], [[25, 25]], [[0, 0]]], np.float32)
    scores = np.array([0.6, 0.9, 0.8, 0.3], np.float32)
    merged_boxes, merged_keypoints, merged_scores = weighted_nms(boxes, keypoints, scores, threshold=0.3)
    # the best (0.9) takes both boxes overlapping it by IoU > 0.3 (0.82 and 0.95): averaged with weights
    # 0.9, 0.6 and 0.3; the far box stays alone
    weights = np.array([0.9, 0.6, 0.3])
    assert merged_scores == pytest.approx([0.9, 0.8])
    assert merged_boxes[0] == pytest.approx(weights @ boxes[[1, 0, 3]] / weights.sum())
    assert merged_keypoints[0, 0] == pytest.approx(weights @ keypoints[[1, 0, 3], 0] / weights.sum())
    assert merged_boxes[1] == pytest.approx(boxes[2]) and merged_keypoints[1] == pytest.approx(keypoints[2])
    assert len(weighted_nms(boxes[:0], keypoints[:0], scores[:0])[2]) == 0


def test_a_person_whose_body_box_overlaps_a_better_ones_is_dropped():
    boxes = np.array([[0, 0, 10, 20], [2, 1, 11, 22], [9, 0, 19, 20], [100, 0, 110, 20]], np.float32)
    # box 1 overlaps box 0 by IoU 0.64: a second fit of the same body; box 2 overlaps either by 0.1 at most
    assert distinct_bodies(boxes).tolist() == [0, 2, 3]
    assert distinct_bodies(boxes[[1, 0, 2, 3]]).tolist() == [0, 2, 3]  # the earlier (better) detection wins
    assert distinct_bodies(np.zeros((0, 4), np.float32)).tolist() == []


def test_person_roi_is_a_square_on_the_hips_turned_upright():
    # body circle point straight above the hips: upright, no rotation; side 2 x 100 x 1.25
    centre, side, rotation = person_roi(np.array([[100, 200], [100, 100]]))
    assert centre == pytest.approx([100, 200]) and side == pytest.approx(250) and rotation == pytest.approx(0)
    # lying with the head to the right: the crop's top edge maps onto the right of the hips
    centre, side, rotation = person_roi(np.array([[100, 200], [200, 200]]))
    assert rotation == pytest.approx(np.pi / 2)
    assert roi_to_frame(np.array([0.5, 0.0]), centre, side, rotation) == pytest.approx([225, 200])
    # head down: rotation wraps to +-pi
    assert abs(person_roi(np.array([[0, 0], [0, 50]]))[2]) == pytest.approx(np.pi)


def test_a_rotated_crop_and_roi_to_frame_agree():
    image = np.zeros((200, 300, 3), np.uint8)
    image[50:60, 150:160] = 255  # a white square centred on pixel (154.5, 54.5)
    centre, side, rotation = np.array([140.0, 90.0]), 180.0, 0.6
    crop = crop_roi(image, centre, side, rotation, 256, replicate=True)
    v, u = np.nonzero(crop[..., 0] > 128)
    found = roi_to_frame(np.array([u.mean(), v.mean()]) / 256, centre, side, rotation)
    assert found == pytest.approx([154.5, 54.5], abs=1.0)
    outside = crop_roi(image, centre, 1000, 0.0, 64, replicate=False)
    assert outside[0, 0].tolist() == [0, 0, 0]  # letterbox borders are black


def test_detection_squares_are_the_frame_and_tiles_no_smaller_than_the_input():
    squares = detection_squares((640, 425), zooms=(1, 1.5))
    sides = sorted(side for _, side in squares)
    assert sides == [283] * 6 + [425] * 2 + [640]  # 3x2 tiles of 425 / 1.5, 2 of 425, the whole frame
    assert [side for _, side in detection_squares((340, 256), zooms=(1, 1.5))] == [256, 340, 256]  # 171 < 224


def test_heatmap_refinement_moves_a_landmark_to_the_confident_cells():
    heatmap = np.full((64, 64, 2), -20.0, np.float32)
    heatmap[10, 20:22, 0] = 5.0  # joint 0: two confident cells, columns 20 and 21 of row 10
    heatmap[30, 30, 1] = -1.0  # joint 1: at most 0.27 confident, below 0.5: left alone
    xy = np.array([[21.3 / 64, 10.6 / 64], [30.5 / 64, 30.5 / 64]], np.float32)
    refined = refine_from_heatmap(xy, heatmap)
    assert refined[0] == pytest.approx([20.5 / 64, 10 / 64], abs=1e-4)
    assert refined[1] == pytest.approx(xy[1])


def test_a_missing_model_is_one_line(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        PosekitError, match=r"^blazepose-detector: mediapipe's .*pose_detection.tflite is not installed"
    ):
        build_expert(parse_experts("blazepose-detector")[0])


COCO_SIGMAS = (
    np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89])
    / 10
)


def _found(name: str, folder, coco: dict) -> int:
    """Annotated persons matched (greedy, COCO OKS >= 0.5) by a prediction of expert ``name``."""
    import cv2

    expert = build_expert(parse_experts(name)[0])
    to_coco, found = mapping(expert.layout, "coco-17"), 0
    try:
        for image in coco["images"]:
            frame = cv2.imread(str(folder / image["file_name"]))
            expert.start(Video(image["file_name"], folder / image["file_name"]), (frame.shape[1], frame.shape[0]))
            predicted = to_coco.apply(expert.predict([frame], np.arange(1))[0].keypoints, axis=-2)
            truth = [a for a in coco["annotations"] if a["image_id"] == image["id"] and a["num_keypoints"] > 0]
            similarity = np.zeros((len(truth), len(predicted)))
            for a, annotation in enumerate(truth):
                labelled = np.array(annotation["keypoints"], np.float64).reshape(17, 3)
                squared = np.nan_to_num(((predicted - labelled[:, :2]) ** 2).sum(-1), nan=np.inf)  # (P, 17)
                close = np.exp(-squared / (2 * annotation["area"] * (2 * COCO_SIGMAS) ** 2))
                similarity[a] = close[:, labelled[:, 2] > 0].mean(axis=1)
            while similarity.size and similarity.max() >= 0.5:
                a, p = np.unravel_index(np.argmax(similarity), similarity.shape)
                similarity[a, :], similarity[:, p], found = -1, -1, found + 1
    finally:
        expert.close()
    return found


def test_blazepose_detector_finds_more_annotated_coco_persons_than_blazepose_multi():
    annotations = real_file("human_images/mmpose_coco/test_coco.json")
    coco = json.loads(annotations.read_text())
    assert sum(a["num_keypoints"] > 0 for a in coco["annotations"]) == 12
    detector = _found("blazepose-detector", annotations.parent, coco)
    # measured (tools/bench_persons.py): 11 of 12 against blazepose-multi's 9
    assert detector >= 10 and detector >= _found("blazepose-multi", annotations.parent, coco)
