# Builds and installs the lsmkv Python module (bindings/python, docs/python.md)
# with setuptools, without network access:
#
#   /usr/bin/python3 -m pip install --no-build-isolation .
#
# The extension is built by the project's CMake (target lsmkv_python, Release,
# for the interpreter running this script), then installed with its type hints (lsmkv.pyi).
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("project(lsmkv VERSION"):
                return line.split()[2]
    raise RuntimeError("no version in CMakeLists.txt")


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = os.path.join(os.path.abspath(self.build_temp), "cmake")
        os.makedirs(build_dir, exist_ok=True)
        jobs = str(os.cpu_count() or 2)
        subprocess.check_call([
            "cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
            f"-DLSMKV_PYTHON={sys.executable}", "-DLSMKV_BUILD_TESTS=OFF",
            "-DLSMKV_BUILD_BENCH=OFF"])
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "lsmkv_python",
                               "-j", jobs])
        built = [f for f in os.listdir(os.path.join(build_dir, "python"))
                 if f.startswith("lsmkv") and f.endswith(".so")]
        if len(built) != 1:
            raise RuntimeError(f"expected one lsmkv module in {build_dir}/python, found {built}")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(build_dir, "python", built[0]), target)


setup(
    name="lsmkv",
    version=project_version(),
    description="Python bindings of the lsmkv storage engine (plyvel-compatible DB, LSMKVStore)",
    ext_modules=[Extension("lsmkv", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
