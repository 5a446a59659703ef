"""``posekit store merge`` of more than two stores: clips in the order given, classes united across all, the first
per-class row given for each class kept, clashes and mixed encoders named with the store that brought them."""

import numpy as np
import pytest
from click.testing import CliRunner

from posekit.cli import main
from posekit.store import SkeletonStore, StoreError
from posekit.store.merge import merge
from posekit.store.validate import validate

from .test_text_features import clip, write


def test_three_stores_merge_in_order_with_classes_and_class_rows_of_all(tmp_path):
    a = write(tmp_path / "a.h5", [clip("a1", 0)], ["run"], class_features={"text": [[np.nan, np.nan]]}, encoder="e")
    b = write(tmp_path / "b.h5", [clip("b1", 1)], ["wave", "run"], class_features={"text": [[0, 1], [1, 0]]})
    c = write(
        tmp_path / "c.h5",
        [clip("c1", 0), clip("c2", 1)],
        ["run", "jump"],
        class_features={"text": [[5, 5], [0.6, 0.8]]},
    )
    output = tmp_path / "abc.h5"
    result = CliRunner().invoke(main, ["store", "merge", str(a), str(b), str(c), "-o", str(output)])
    assert result.exit_code == 0 and f"merged 1 + 1 + 2 clips -> {output}" in result.output
    with SkeletonStore(output) as store:
        assert list(store.ids) == ["a1", "b1", "c1", "c2"]
        assert store.classes == ["run", "wave", "jump"]
        assert [store.classes[label] for label in store.labels] == ["run", "run", "run", "jump"]
        # run: A's NaN row filled by B's (not C's, which comes later); wave from B; jump from C
        np.testing.assert_allclose(store.class_feature("text"), [[1, 0], [0, 1], [0.6, 0.8]], rtol=1e-7)
        step = store.provenance[-1]
    assert step["inputs"] == [str(a), str(b), str(c)] and set(step["input_provenance"]) == {str(b), str(c)}
    assert validate(output) == []


def test_a_clash_or_another_encoder_in_a_later_store_names_both_stores(tmp_path):
    a = write(tmp_path / "a.h5", [clip("a1", 0, "x", {"text": [1, 0]})], ["run"], {}, {"text": [[1, 0]]}, "minilm")
    b = write(tmp_path / "b.h5", [clip("b1", 0)], ["run"])
    c = write(tmp_path / "c.h5", [clip("a1", 0)], ["run"])
    d = write(tmp_path / "d.h5", [clip("d1", 0, "y", {"text": [0, 1]})], ["run"], {}, {"text": [[0, 1]]}, "bow-2")
    with pytest.raises(StoreError, match=f"{c}: 1 clip ids also in {a} .*'a1'"):
        merge([a, b, c], tmp_path / "out.h5", progress=False)
    with pytest.raises(StoreError, match=f"{d}: features/text was made by 'bow-2', {a}'s by 'minilm'"):
        merge([a, b, d], tmp_path / "out.h5", progress=False)
    with pytest.raises(StoreError, match="two or more stores"):
        merge([a], tmp_path / "out.h5", progress=False)
    assert not (tmp_path / "out.h5").exists()
