# SPDX-License-Identifier: MIT
"""pip install client/python: the spawnd package against an installed libspawnd.

The C extension spawnd._spawnd is compiled with the flags pkg-config gives
for libspawnd (PKG_CONFIG_PATH finds a libspawnd.pc installed elsewhere
than /usr or /usr/local), else with plain -lspawnd. Only setuptools is
needed (Debian: python3-setuptools); no protobuf package, no download:

    pip install client/python                       # in a venv
    pip install --break-system-packages client/python  # Debian's system python

There is deliberately no pyproject.toml: pip then builds with the
setuptools already installed instead of fetching one from PyPI.
"""
import shlex
import subprocess

from setuptools import Extension, setup


def pkgconfig(*args):
    try:
        r = subprocess.run(["pkg-config", *args, "libspawnd"], capture_output=True, text=True,
                           check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return r.stdout.strip()


cflags = shlex.split(pkgconfig("--cflags") or "")
libs = shlex.split(pkgconfig("--libs") or "-lspawnd")
# The library's directory is remembered at run time too (a prefix like
# /usr/local is not always on the loader's path).
rpath = [f[2:] for f in libs if f.startswith("-L")]

setup(
    name="spawnd",
    version=pkgconfig("--modversion") or "0.0.0",
    description="subprocess-like front end of the spawnd privileged spawn daemon",
    license="MIT",
    packages=["spawnd"],
    python_requires=">=3.9",
    ext_modules=[Extension("spawnd._spawnd", ["_spawnd.c"], extra_compile_args=cflags,
                           extra_link_args=libs, runtime_library_dirs=rpath)],
)
