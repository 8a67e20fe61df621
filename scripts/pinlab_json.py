"""Shared by pinlab's analysis scripts: open result files, plain or .xz."""
import json
import lzma
import os


def resolve(path):
    """path, or path.xz when only the compressed file exists."""
    if not os.path.exists(path) and os.path.exists(path + ".xz"):
        return path + ".xz"
    return path


def load(path):
    """Parse a JSON file, plain or xz-compressed (raises OSError/ValueError)."""
    path = resolve(path)
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rt") as f:
        return json.load(f)


def exists(path):
    return os.path.exists(resolve(path))
