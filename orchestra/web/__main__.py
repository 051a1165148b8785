"""``python -m orchestra.web``: the same as ``orchestra serve``."""

from orchestra.web.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
