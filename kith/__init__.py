"""kith: keeps a professional's relationships from silently decaying.

The top-level folders of the repository are the subpackages of this namespace (see
pyproject.toml); this root package holds only what every room shares: the error tree.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
