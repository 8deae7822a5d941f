#!/usr/bin/env bash
# Runs every fuzz target briefly (default 30s each). Seed corpora live in
# each package's testdata/fuzz/ and run as plain tests in `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}
git grep -l 'func Fuzz' -- '*_test.go' | while read -r file; do
	pkg=./$(dirname "$file")
	for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
		echo "== $pkg $target ($fuzztime)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=5s "$pkg"
	done
done
