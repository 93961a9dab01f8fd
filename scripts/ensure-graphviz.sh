#!/usr/bin/env bash
# Graphviz's `dot` program, which `flow.visualize(filename=...)` and its tests need to render files.
#
#   bash scripts/ensure-graphviz.sh    # does nothing when `dot` is there; else installs it
#
# It installs Debian's `graphviz` package with apt-get when `dot` is missing and we are root
# (as on CI), and otherwise says how to install it. The Python side (`graphviz` on PyPI) comes
# with the `viz` extra, which `dev` includes.
set -euo pipefail

if command -v dot >/dev/null 2>&1; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    echo "ensure-graphviz: Graphviz's dot is missing; install it: sudo apt-get install -y graphviz" >&2
    exit 1
fi
echo "ensure-graphviz: installing Graphviz with apt-get" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >&2
command -v dot >/dev/null 2>&1 || { echo "ensure-graphviz: dot is still missing" >&2; exit 1; }
