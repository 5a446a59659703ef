import numpy as np
import pytest

from posekit.rodent.selfsup.retrieval import mean_average_precision, precision_at_k

# Two items of class 0 that are orthogonal, and a class-1 item almost equal to the first.
EMBEDDINGS = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
LABELS = [0, 0, 1]


def test_scores_by_hand():
    # query 0 ranks item 2 (wrong class) before item 1: P@1 = 0, AP = 1/2; query 1 likewise (cos 0.0995 > 0);
    # query 2 has no item of its class: it counts for P@1 (0) but not for mAP
    assert precision_at_k(EMBEDDINGS, LABELS, 1) == 0
    assert mean_average_precision(EMBEDDINGS, LABELS) == pytest.approx(0.5)
    assert precision_at_k(EMBEDDINGS, LABELS, 2) == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)


def test_a_query_never_retrieves_its_own_group():
    groups = [0, 1, 1]  # items 1 and 2 are one bout: query 1 now sees item 0 first
    assert precision_at_k(EMBEDDINGS, LABELS, 1, groups) == pytest.approx(1 / 3)
    assert mean_average_precision(EMBEDDINGS, LABELS, groups) == pytest.approx((0.5 + 1.0) / 2)


def test_perfectly_separated_classes_score_one():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 5)
    embeddings = np.eye(3)[labels] + 0.01 * rng.normal(size=(15, 3))
    assert precision_at_k(embeddings, labels, 4) == 1.0
    assert mean_average_precision(embeddings, labels) == pytest.approx(1.0)
