#!/bin/sh
# Regenerate the reference section of docs/cli.md (between its BEGIN GENERATED
# and END GENERATED markers) from the CLI definition: `sweep help --markdown`.
# The hand-written text around the markers is kept. test_cli_consistency fails
# while the page differs from the binary. Usage, from the source folder:
#   scripts/update_cli_doc.sh [path/to/sweep]   (default: build/sweep)
set -eu
binary=${1:-build/sweep}
doc=docs/cli.md
generated=$(mktemp)
trap 'rm -f "$generated" "$generated.md"' EXIT
"$binary" help --markdown > "$generated"
grep -q '^<!-- BEGIN GENERATED' "$doc" || { echo "$doc has no BEGIN GENERATED marker" >&2; exit 1; }
awk -v generated="$generated" '
  /^<!-- BEGIN GENERATED/ { while ((getline line < generated) > 0) print line; skipping = 1; next }
  /^<!-- END GENERATED/   { skipping = 0; next }
  !skipping               { print }
' "$doc" > "$generated.md"
mv "$generated.md" "$doc"
echo "updated $doc from $binary help --markdown"
