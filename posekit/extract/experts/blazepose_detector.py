"""Every person of a frame from the two BlazePose models mediapipe ships in its wheel, run through LiteRT: the
person detector (``pose_detection.tflite``) finds each person, the landmark model (``pose_landmark_full.tflite``,
model_complexity=1) runs on each person's crop. Mediapipe's own pipeline keeps only the first detection of the
whole frame; this keeps them all, and also looks at tiles of the frame, where smaller persons are found.

Per frame, as mediapipe's graphs PoseDetectionCpu, PoseDetectionToRoi, PoseLandmarkByRoiCpu and
PoseLandmarksToRoi do it (their options, compiled into the wheel's ``_framework_bindings`` library, are quoted
beside the constants below), except where said:

1. detection squares (:func:`detection_squares`, not mediapipe's): the whole frame, and overlapping tiles of
   side min(width, height) / z for each of ``tile_zooms`` (none under 224 pixels); each letterboxed into the
   detector's 224x224 input (black borders, RGB scaled to -1..1);
2. 2254 SSD anchors (:func:`ssd_anchors`) decode the raw boxes and 4 keypoints each (:func:`decode_detections`),
   scores through a sigmoid, kept from ``min_confidence`` up. In a tile finer than the short side, a person whose
   ROI (step 3) is larger than the tile is dropped: the coarser squares see it whole, and in a small tile the
   detector also fires on parts of a large body (a hand, a barbell plate). Weighted non-maximum suppression
   (:func:`weighted_nms`) over all squares merges the overlapping detections, and all that remain are kept;
3. a detection's keypoint 0 is the hip centre, keypoint 1 a point on the circle around the whole body: the person
   ROI (:func:`person_roi`) is the square centred on the hips, 2.5 radii wide, rotated so that the body stands
   upright in it (the detection's box, around the face, serves only the suppression);
4. the landmark model on the ROI's 256x256 crop (edges replicated, RGB scaled to 0..1): 39 landmarks refined on
   the model's heatmap (:func:`refine_from_heatmap`) and mapped back to the frame; then once more on the ROI that
   the auxiliary landmarks 33-34 give, as mediapipe's tracking does from one frame to the next (not in its
   static-image mode): the crop no longer depends on the square that found the person, so duplicates agree. A
   crop whose pose-presence score is below ``min_confidence`` in either run holds no person and is dropped. The
   first 33 landmarks are the pose, their visibility the joint scores;
5. persons whose landmarks' boxes overlap by IoU > 0.3 (the detector's suppression threshold) are one
   (:func:`distinct_bodies`), the best detection's kept: two detections of one body (in two squares, or one
   fitting a neighbour's limbs) rarely agree landmark for landmark, but their boxes overlap. Persons that close
   (a hug, one just behind the other) are seen as one.

CPU only, one thread per model as mediapipe runs them on desktop (``--workers`` runs videos in parallel)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ...errors import PosekitError
from ...layouts import get_layout
from ...registry import EXPERTS
from ..tracking import box_iou
from .base import Expert, FramePoses
from .blazepose import _native_stderr_silenced
from .blazepose_multi import face_tiles

DETECTOR_MODEL = "modules/pose_detection/pose_detection.tflite"  # in the mediapipe package folder
LANDMARK_MODEL = "modules/pose_landmark/pose_landmark_full.tflite"
DETECTOR_SIZE = 224  # ImageToTensorCalculator output_tensor_width/height of PoseDetectionCpu
LANDMARK_SIZE = 256  # ... of PoseLandmarkByRoiCpu
# SsdAnchorsCalculator: strides 8, 16, 32, 32, 32, one aspect ratio (1.0) plus the interpolated-scale anchor
# (interpolated_scale_aspect_ratio's default, 1.0): two anchors per cell and layer, the layers of one stride
# sharing one grid. fixed_anchor_size: every anchor is 1x1, so its scales (0.1484375..0.75) never matter.
ANCHOR_STRIDES = (8, 16, 32, 32, 32)
ANCHORS_PER_LAYER = 2
ANCHOR_OFFSET = 0.5
# TensorsToDetectionsCalculator: 12 values per anchor, x y w h (reverse_output_order) then 4 keypoints x y, in
# input pixels (x/y/w/h_scale 224); scores clipped to +-100 (score_clipping_thresh) before the sigmoid.
NUM_KEYPOINTS = 4
SCORE_CLIP = 100.0
NMS_IOU = 0.3  # NonMaxSuppressionCalculator: min_suppression_threshold, INTERSECTION_OVER_UNION, WEIGHTED
# PoseDetectionToRoi: AlignmentPointsRectsCalculator (keypoint 0 -> 1, rotation target 90 degrees, side twice
# their distance), then RectTransformationCalculator (scale_x = scale_y = 1.25, square_long).
ROI_SCALE = 1.25
# TensorsToPoseLandmarksAndSegmentation: outputs landmarks, pose flag, segmentation, heatmap, world landmarks;
# 39 landmarks of x y z visibility presence (the last two logits), the first 33 the pose; the pose flag against
# min_confidence (ThresholdingCalculator); RefineLandmarksFromHeatmapCalculator kernel_size 7,
# min_confidence_to_refine 0.5 (its default).
NUM_MODEL_LANDMARKS = 39
NUM_POSE_LANDMARKS = 33
AUXILIARY = slice(33, 35)  # hip centre and a point of the whole-body circle, as a detection's keypoints 0 and 1
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5
# Tiles of the short side / 1 and / 1.5 besides the whole frame: of the 12 persons of the COCO test images
# (tools/bench_persons.py) the whole frame alone finds 4, with the first tiles 7, with both 11; adding tiles of
# the short side / 1.25 found 10.
DEFAULT_TILE_ZOOMS = (1, 1.5)


def ssd_anchors(input_size: int = DETECTOR_SIZE, strides=ANCHOR_STRIDES) -> np.ndarray:
    """(N, 2) anchor centres x y (0..1) in the order of the detector's outputs, as mediapipe's SsdAnchorsCalculator
    makes them for a square input: per run of equal strides, a grid of ceil(input / stride) cells, row by row,
    each cell with ANCHORS_PER_LAYER anchors per layer of that stride."""
    centres, layer = [], 0
    while layer < len(strides):
        same = _run_length(strides, layer)
        cells = int(np.ceil(input_size / strides[layer]))
        grid = (np.arange(cells) + ANCHOR_OFFSET) / cells
        y, x = np.meshgrid(grid, grid, indexing="ij")
        centres.append(np.repeat(np.stack([x.ravel(), y.ravel()], axis=-1), ANCHORS_PER_LAYER * same, axis=0))
        layer += same
    return np.concatenate(centres).astype(np.float32)


def _run_length(values, start: int) -> int:
    """How many values in a row from ``start`` on equal ``values[start]``."""
    count = 1
    while start + count < len(values) and values[start + count] == values[start]:
        count += 1
    return count


def decode_detections(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, min_score: float, input_size=DETECTOR_SIZE
):
    """The detector's raw outputs (N, 4 + 2 * NUM_KEYPOINTS) and (N,) logits decoded against ``anchors``: boxes
    (K, 4) x1 y1 x2 y2, keypoints (K, NUM_KEYPOINTS, 2) and scores (K,) of the anchors scoring ``min_score`` or
    more, coordinates 0..1 of the input; a box of negative size (a model glitch) is dropped, as mediapipe does."""
    scores = 1 / (1 + np.exp(-np.clip(raw_scores.reshape(-1).astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
    values = raw_boxes.reshape(len(scores), -1) / input_size
    keep = (scores >= min_score) & (values[:, 2:4] >= 0).all(axis=1)
    values, centres = values[keep], anchors[keep]
    middle, size = values[:, :2] + centres, values[:, 2:4]
    boxes = np.concatenate([middle - size / 2, middle + size / 2], axis=1)
    keypoints = values[:, 4 : 4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) + centres[:, None]
    return boxes.astype(np.float32), keypoints.astype(np.float32), scores[keep].astype(np.float32)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, threshold: float = NMS_IOU):
    """Mediapipe's weighted non-maximum suppression: the best-scoring detection left and every detection whose
    box overlaps it by IoU > ``threshold`` become one, boxes and keypoints averaged with the scores as weights,
    the best score kept; until none is left. Returns boxes, keypoints and scores, best first."""
    remaining = np.argsort(-scores, kind="stable")
    merged_boxes, merged_keypoints, merged_scores = [], [], []
    while len(remaining):
        overlapping = box_iou(boxes[remaining[:1]], boxes[remaining])[0] > threshold
        overlapping[0] = True  # the best one belongs to its own group even when its box is empty
        group, weights = remaining[overlapping], scores[remaining[overlapping]]
        merged_boxes.append(weights @ boxes[group] / weights.sum())
        merged_keypoints.append(np.tensordot(weights, keypoints[group], axes=1) / weights.sum())
        merged_scores.append(scores[remaining[0]])
        remaining = remaining[~overlapping]
    if not merged_scores:
        return boxes[:0], keypoints[:0], scores[:0]
    return (
        np.array(merged_boxes, np.float32),
        np.array(merged_keypoints, np.float32),
        np.array(merged_scores, np.float32),
    )


def person_roi(keypoints: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(centre x y, side, rotation in radians) of the person square that detection ``keypoints`` (frame pixels)
    describe: centred on keypoint 0 (hips), side ROI_SCALE times twice the distance to keypoint 1, rotated by
    90 degrees minus the angle of the hips -> keypoint 1 vector (image y pointing up), wrapped into -pi..pi."""
    hips, reach = np.asarray(keypoints[0], np.float64), np.asarray(keypoints[1], np.float64)
    dx, dy = reach - hips
    side = 2 * np.hypot(dx, dy) * ROI_SCALE
    rotation = np.pi / 2 - np.arctan2(-dy, dx)
    rotation -= 2 * np.pi * np.floor((rotation + np.pi) / (2 * np.pi))
    return hips, float(side), float(rotation)


def roi_to_frame(points: np.ndarray, centre, side: float, rotation: float = 0.0) -> np.ndarray:
    """Points (..., 2) given as 0..1 of a rotated square ROI, in frame pixels."""
    cos, sin = np.cos(rotation), np.sin(rotation)
    turn = np.array([[cos, -sin], [sin, cos]])
    return (np.asarray(points, np.float64) - 0.5) @ turn.T * side + np.asarray(centre, np.float64)


def crop_roi(image: np.ndarray, centre, side: float, rotation: float, size: int, replicate: bool) -> np.ndarray:
    """The rotated square ROI of ``image`` resampled to size x size (bilinear), its outside black or, with
    ``replicate``, the image's edge pixels repeated."""
    import cv2

    corners = roi_to_frame(np.array([[0, 0], [1, 0], [0, 1]]), centre, side, rotation).astype(np.float32)
    to_frame = cv2.getAffineTransform(np.float32([[0, 0], [size, 0], [0, size]]), corners)
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    return cv2.warpAffine(
        image, to_frame, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border, borderValue=0
    )


def detection_squares(image_size: tuple[int, int], zooms) -> list[tuple[np.ndarray, float]]:
    """(centre, side) of the squares the detector looks at, each once: the whole frame (letterboxed), then for
    each zoom z overlapping tiles of side min(width, height) / z covering the frame
    (:func:`~.blazepose_multi.face_tiles`), unless smaller than the detector's input (upsampled, they would show
    it no more detail, and small frames stay cheap)."""
    width, height = image_size
    squares = {(width / 2, height / 2, float(max(width, height)))}
    for zoom in zooms:
        side = round(min(width, height) / zoom)
        if side >= DETECTOR_SIZE:
            squares |= {(x + side / 2, y + side / 2, float(side)) for x, y, side in face_tiles(image_size, side)}
    return [(np.array([x, y]), side) for x, y, side in sorted(squares)]


def distinct_bodies(boxes: np.ndarray, threshold: float = NMS_IOU) -> np.ndarray:
    """Indices of the persons to keep, their landmarks' x1 y1 x2 y2 ``boxes`` given best detection first: each
    unless its box overlaps one kept before by IoU > ``threshold`` (the detector's own suppression threshold)."""
    iou = box_iou(boxes, boxes)
    kept: list[int] = []
    for p in range(len(boxes)):
        if all(iou[p, k] <= threshold for k in kept):
            kept.append(p)
    return np.array(kept, np.int64)


def refine_from_heatmap(
    xy: np.ndarray, heatmap: np.ndarray, kernel: int = HEATMAP_KERNEL, min_confidence: float = HEATMAP_MIN_CONFIDENCE
) -> np.ndarray:
    """Landmarks ``xy`` (L, 2, 0..1) moved to the confidence-weighted mean cell of the heatmap (H, W, L logits)
    window of side ``kernel`` around each, where the window's highest confidence reaches ``min_confidence``; as
    mediapipe's RefineLandmarksFromHeatmapCalculator (cell indices over the heatmap size, no half-cell shift)."""
    height, width = heatmap.shape[:2]
    reach = (kernel - 1) // 2
    refined = np.array(xy, np.float32)
    for joint, (x, y) in enumerate(xy):
        col, row = int(x * width), int(y * height)  # truncation toward zero, as C++'s float -> int
        if not (0 <= col < width and 0 <= row < height):
            continue
        top, left = max(row - reach, 0), max(col - reach, 0)
        window = heatmap[top : row + reach + 1, left : col + reach + 1, joint]
        confidence = 1 / (1 + np.exp(-window.astype(np.float64)))
        if confidence.max() < min_confidence:
            continue
        rows, cols = np.mgrid[top : top + window.shape[0], left : left + window.shape[1]]
        total = confidence.sum()
        refined[joint] = ((cols * confidence).sum() / width / total, (rows * confidence).sum() / height / total)
    return refined


@EXPERTS.register_module("blazepose-detector")
class BlazePoseDetector(Expert):
    batch_size = 16  # one frame at a time through the models; batches only amortise the loop

    def __init__(
        self,
        name: str = "blazepose-detector",
        device: str = "cpu",
        min_confidence: float = 0.5,
        tile_zooms=DEFAULT_TILE_ZOOMS,
    ):
        # device: accepted like every expert's; the models run on the CPU whatever it says
        self.name = name
        self.layout = get_layout("blazepose-33")
        self.min_confidence = min_confidence
        self.tile_zooms = tuple(tile_zooms)
        self._anchors = ssd_anchors()
        self._detector = _interpreter(DETECTOR_MODEL)
        self._landmarker = _interpreter(LANDMARK_MODEL)

    def predict(self, frames, indices):
        return [self._frame_poses(frame) for frame in frames]

    def close(self):
        self._detector = self._landmarker = None

    def _frame_poses(self, frame: np.ndarray) -> FramePoses:
        import cv2

        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        persons = [p for p in (self._person(rgb, roi) for roi in self._person_rois(rgb)) if p is not None]
        if not persons:
            return FramePoses.empty(self.layout.num_joints)
        poses = FramePoses(np.stack([p[0] for p in persons]), np.stack([p[1] for p in persons])).with_boxes()
        keep = distinct_bodies(poses.boxes)
        return FramePoses(poses.keypoints[keep], poses.scores[keep], poses.boxes[keep])

    def _person_rois(self, rgb: np.ndarray) -> list[tuple[np.ndarray, float, float]]:
        """The ROI (centre, side, rotation) of every person the detector finds in the frame's detection squares,
        in frame pixels; a person seen in several squares once (weighted NMS over all squares)."""
        boxes, keypoints, scores = [], [], []
        short_side = min(rgb.shape[:2])
        for centre, side in detection_squares((rgb.shape[1], rgb.shape[0]), self.tile_zooms):
            square = crop_roi(rgb, centre, side, 0.0, DETECTOR_SIZE, replicate=False)
            raw_boxes, raw_scores = _run(self._detector, square.astype(np.float32) / 127.5 - 1)
            found = decode_detections(raw_boxes[0], raw_scores[0], self._anchors, self.min_confidence)
            if side < short_side:  # a tile finer than the frame's short side: only persons no larger than it
                fits = np.array([person_roi(k)[1] <= side for k in found[1] * side], bool)
                found = tuple(part[fits] for part in found)
            boxes.append(roi_to_frame(found[0].reshape(-1, 2, 2), centre, side).reshape(-1, 4))
            keypoints.append(roi_to_frame(found[1], centre, side))
            scores.append(found[2])
        _, merged, _ = weighted_nms(np.concatenate(boxes), np.concatenate(keypoints), np.concatenate(scores))
        return [person_roi(k) for k in merged]

    def _person(self, rgb: np.ndarray, roi):
        """(keypoints (33, 2) frame pixels, visibility (33,)) of the person in ``roi``, from the landmark model run
        on ``roi`` and then once more on the ROI its auxiliary landmarks give (as mediapipe's tracking does from
        frame to frame: the crop no longer depends on which square's detection found the person); None when the
        model sees no person in either."""
        first = self._landmarks(rgb, *roi)
        second = None if first is None else self._landmarks(rgb, *person_roi(first[0][AUXILIARY]))
        return None if second is None else (second[0][:NUM_POSE_LANDMARKS], second[1][:NUM_POSE_LANDMARKS])

    def _landmarks(self, rgb: np.ndarray, centre, side: float, rotation: float):
        """(all 39 landmarks (39, 2) in frame pixels, their visibility (39,)) in the ROI; None when the model says
        the crop holds no person."""
        crop = crop_roi(rgb, centre, side, rotation, LANDMARK_SIZE, replicate=True)
        landmarks, presence, _, heatmap, _ = _run(self._landmarker, crop.astype(np.float32) / 255)
        if presence.item() < self.min_confidence:
            return None
        values = landmarks.reshape(NUM_MODEL_LANDMARKS, -1)
        xy = refine_from_heatmap(values[:, :2] / LANDMARK_SIZE, heatmap[0])
        visibility = 1 / (1 + np.exp(-values[:, 3]))
        return roi_to_frame(xy, centre, side, rotation).astype(np.float32), visibility.astype(np.float32)


def _interpreter(model: str):
    """A one-thread LiteRT interpreter, tensors allocated, for a model of the installed mediapipe wheel."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as e:
        raise PosekitError(f"blazepose-detector: ai-edge-litert is not installed ({e}); run ./install.sh") from None
    spec = importlib.util.find_spec("mediapipe")
    path = Path(spec.submodule_search_locations[0]) / model if spec else None
    if path is None or not path.is_file():
        raise PosekitError(f"blazepose-detector: mediapipe's {model} is not installed; run ./install.sh")
    with _native_stderr_silenced():  # LiteRT prints a notice as it creates its CPU delegate
        interpreter = Interpreter(model_path=str(path), num_threads=1)
        interpreter.allocate_tensors()
    return interpreter


def _run(interpreter, image: np.ndarray) -> list[np.ndarray]:
    """The model's outputs, in the model's order, for one HWC float image."""
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None])
    interpreter.invoke()
    return [interpreter.get_tensor(o["index"]) for o in interpreter.get_output_details()]
