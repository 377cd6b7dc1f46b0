"""Copy the pinned browser libraries into the console's assets, or check the committed copies.

    python tools/console/vendor.py copy    # npm ci here, then copy into gateway/console/static
    python tools/console/vendor.py check   # npm ci, then exit 1 naming every copy that differs,
                                           # and type-check the console's JSDoc (tsc, pinned)

The versions are pinned by package.json and package-lock.json beside this file. The copies are
committed, so the gateway (and `make up`) never needs Node; without npm, `check` says it skipped.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = HERE / "node_modules"
VENDOR = HERE.parent.parent / "gateway" / "console" / "static" / "vendor"

# node_modules/<source> -> static/vendor/<target>
FILES = {
    "chart.js/dist/chart.umd.min.js": "chart.js/chart.umd.min.js",
    "chart.js/LICENSE.md": "chart.js/LICENSE.md",
    "graphiql/graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql/graphiql.min.css": "graphiql/graphiql.min.css",
    "graphiql/LICENSE": "graphiql/LICENSE",
    "@graphiql/plugin-explorer/dist/index.umd.js": "graphiql/plugin-explorer.umd.js",
    "@graphiql/plugin-explorer/dist/style.css": "graphiql/plugin-explorer.css",
    "react/umd/react.production.min.js": "graphiql/react.production.min.js",
    "react/LICENSE": "graphiql/react.LICENSE",
    "react-dom/umd/react-dom.production.min.js": "graphiql/react-dom.production.min.js",
}


def install() -> bool:
    npm = shutil.which("npm")
    if npm is None:
        return False
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--silent"],
        cwd=HERE,
        check=True,
    )
    return True


def copy() -> int:
    if not install():
        print("console vendor: npm not found; install Node to update the vendored copies")
        return 1
    for source, target in FILES.items():
        (VENDOR / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MODULES / source, VENDOR / target)
    print(f"console vendor: copied {len(FILES)} files into {VENDOR}")
    return 0


def check() -> int:
    if not install():
        print("console vendor check: SKIPPED, npm not found (copies and types not verified)")
        return 0
    differ = [
        target
        for source, target in FILES.items()
        if not (VENDOR / target).is_file()
        or not filecmp.cmp(MODULES / source, VENDOR / target, shallow=False)
    ]
    known = {(VENDOR / t).resolve() for t in FILES.values()}
    stray = [p for p in VENDOR.rglob("*") if p.is_file() and p.resolve() not in known]
    for target in differ:
        print(f"differs from the pinned package: static/vendor/{target}")
    for path in stray:
        print(f"not from a pinned package: {path.relative_to(VENDOR.parent)}")
    if differ or stray:
        print("run `make console-vendor` and commit the result")
        return 1
    print(f"console vendor check: {len(FILES)} vendored files equal the pinned packages")
    # The modules are plain JavaScript with JSDoc types (`// @ts-check`): tsc checks, never emits.
    typed = subprocess.run([str(MODULES / ".bin" / "tsc"), "-p", str(HERE / "tsconfig.json")])
    if typed.returncode:
        print("console type check: tsc found errors in gateway/console/static/app")
        return 1
    print("console type check: gateway/console/static/app passes tsc --strict")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("copy", "check"))
    args = parser.parse_args()
    sys.exit(copy() if args.action == "copy" else check())


if __name__ == "__main__":
    main()
