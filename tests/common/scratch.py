"""scratch.py: temporary directories of the Python tests.

make_tmp(prefix) creates one under the system's temporary directory and removes it, with
everything in it, when the test process exits, whether the test passed or failed (checks.done()
exits through sys.exit, which runs the atexit handlers)."""
import atexit
import shutil
import tempfile


def make_tmp(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d
