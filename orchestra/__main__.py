"""``python -m orchestra``: the same as the ``orchestra`` command."""

from orchestra.cli import run

if __name__ == "__main__":
    run()
