#!/bin/sh
# `make graphiql-assets`: GraphiQL, its explorer plugin and React at the versions pinned in
# package-lock.json, from the npm registry, copied into vendor/ (third-party code) with their
# licences. The result is committed, so a checkout serves GraphiQL with no npm and no internet.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
modules="$work/node_modules"
vendor="$here/vendor"
rm -rf "$vendor" && mkdir -p "$vendor"
cp "$modules/react/umd/react.production.min.js" \
   "$modules/react-dom/umd/react-dom.production.min.js" \
   "$modules/graphiql/graphiql.min.js" "$modules/graphiql/graphiql.min.css" "$vendor/"
cp "$modules/@graphiql/plugin-explorer/dist/index.umd.js" "$vendor/plugin-explorer.umd.js"
cp "$modules/@graphiql/plugin-explorer/dist/style.css" "$vendor/plugin-explorer.css"
# The explorer bundles graphiql-explorer; @graphiql/plugin-explorer ships no LICENSE file of
# its own (MIT, the GraphQL contributors, like graphiql's).
{
  for package in react react-dom graphiql @graphiql/plugin-explorer \
                 @graphiql/plugin-explorer/node_modules/graphiql-explorer; do
    dir="$modules/$package"
    version=$(node -p "require('$dir/package.json').version")
    licence=$(node -p "require('$dir/package.json').license")
    echo "== ${package##*/node_modules/} $version ($licence) =="
    if [ -f "$dir/LICENSE" ]; then cat "$dir/LICENSE"; else cat "$modules/graphiql/LICENSE"; fi
    echo
  done
} > "$vendor/LICENSES.txt"
echo "GraphiQL assets in $vendor:" && ls -l "$vendor"
