# The bertrt package: the native module's names (Model, Error, convert, kernel_isa, __version__;
# its docstring is the package's) and, imported on demand, bertrt.dask (corpus embedding on a Dask
# cluster, which needs Debian's python3-distributed only when it runs).
from ._native import *  # noqa: F401,F403  (every public name of the native module)
from ._native import __doc__, __version__  # noqa: F401
from . import _native

# Model's repr and help name the package, where users find it, not its native part.
_native.Model.__module__ = __name__
