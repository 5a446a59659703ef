import signal
import subprocess
import sys
import textwrap

from posekit.store import SkeletonStore
from posekit.store.validate import validate
from tests.store.test_store import make_clip, write

APPEND_FOREVER = textwrap.dedent("""
    import sys, time
    from tests.store.test_store import make_clip
    from posekit.store import StoreWriter
    with StoreWriter(sys.argv[1], mode="a", flush_frames=10) as w:
        for i in range(100, 100000):
            w.add(make_clip(i))
            if i == 150:
                print("appending", flush=True)
            time.sleep(0.001)
""")


def test_a_killed_append_leaves_the_store_as_it_was(tmp_path):
    path = write(tmp_path / "s.h5", [make_clip(i) for i in range(5)])
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", APPEND_FOREVER, str(path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "appending"  # mid-append, with data flushed to the copy
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert path.read_bytes() == before
    assert validate(path) == [] and len(SkeletonStore(path)) == 5
