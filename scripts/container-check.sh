#!/usr/bin/env bash
# Builds deploy/docker/Dockerfile with podman and runs the image as deploy/README.md documents
# (issue 19): read-only root, tmpfs /tmp, no capabilities, no-new-privileges, data and keys on two
# volumes, a test certificate, KARTEI_PUBLIC_URL. Checks: /healthz and /readyz 200 over HTTPS, the
# setup link in the log, uid 10001, no plaintext in the data volume, keys only in the key volume, no
# dev dependencies or tests in the image, SIGTERM ends it with exit 0 and no error; then a second
# start on the same volumes. Prints each step and a final OK or FAIL.
#
# Where no registry serves base images, it makes them locally and tags them with the Dockerfile's
# names: debian:bookworm-slim from `debootstrap --variant=minbase bookworm`, and a stand-in for
# node:24-bookworm-slim = that plus this checkout's Node.js 24 (node_modules/node/bin/node) and npm 11
# from the npm registry. Present base images are reused. Needs root, podman, debootstrap, openssl,
# and the npm registry for `npm ci` in the build. Takes minutes; not part of .ci/run.
#   scripts/container-check.sh            (KEEP=1 keeps the image; PODMAN_OPTS adds global options)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
IMAGE=localhost/kartei:check
NAME=kartei-check-$$
VDATA=kartei-check-data-$$
VKEYS=kartei-check-keys-$$
PORT=${PORT:-18443}
# shellcheck disable=SC2206
P=(podman ${PODMAN_OPTS:-} --events-backend file --cgroup-manager cgroupfs)
# What a sandbox without cgroup v2 or CAP_SYS_RESOURCE needs: crun refuses hybrid cgroups, and
# podman's default ulimits lie above the hard limits; runc with the current limits works. Harmless elsewhere.
# shellcheck disable=SC2206
R=(${RUN_OPTS:---runtime runc --ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=4096:4096})
WORK=$(mktemp -d /tmp/kartei-container-check.XXXXXX)
failed=0

step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
bad() {
  printf '   FAIL: %s\n' "$*"
  failed=1
}
die() {
  bad "$*"
  finish
}
cleanup() {
  "${P[@]}" rm -f -t 5 "$NAME" >/dev/null 2>&1
  "${P[@]}" volume rm -f "$VDATA" "$VKEYS" >/dev/null 2>&1
  [ -n "${KEEP:-}" ] || "${P[@]}" rmi -f "$IMAGE" >/dev/null 2>&1
  # The build stages this run left untagged (a GB each); dangling images from before stay.
  [ -n "${KEEP:-}" ] || comm -13 <(sort <<<"$DANGLING") <(dangling) | xargs -r "${P[@]}" rmi -f >/dev/null 2>&1
  rm -rf "$WORK"
}
finish() {
  cleanup
  if [ "$failed" = 0 ]; then echo "container-check: OK"; else echo "container-check: FAIL"; fi
  exit "$failed"
}
trap 'failed=1; finish' INT TERM

dangling() { "${P[@]}" images -q --no-trunc --filter dangling=true 2>/dev/null | sort -u; }
DANGLING=$(dangling)

step "prerequisites"
for tool in podman debootstrap openssl curl; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install -y $tool)"
done
[ "$(id -u)" = 0 ] || die "run as root (debootstrap, rootful podman)"
NODE=$ROOT/node_modules/node/bin/node
file -L "$NODE" 2>/dev/null | grep -q 'ELF 64-bit' || die "$NODE is not a Node.js binary (npm ci first)"
NODE_VERSION=$("$NODE" -p process.versions.node)
[ "${NODE_VERSION%%.*}" = 24 ] || die "node_modules/node is Node.js $NODE_VERSION, not 24"
ok "$("${P[@]}" --version), Node.js $NODE_VERSION, commit $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"

step "base image debian:bookworm-slim"
if "${P[@]}" image exists docker.io/library/debian:bookworm-slim; then
  ok "present, reused"
else
  mirror=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n 1 | tr -d ' ')
  mirror=${mirror:-http://deb.debian.org/debian}
  debootstrap --variant=minbase bookworm "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    die "debootstrap from $mirror failed: $(tail -n 5 "$WORK/debootstrap.log")"
  # As the official slim image: the archive's three suites, no package cache, no lists.
  rm -f "$WORK/rootfs/etc/apt/sources.list"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: %s-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "${mirror%/}" "${mirror%/}" >"$WORK/rootfs/etc/apt/sources.list.d/debian.sources"
  rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/* "$WORK"/rootfs/var/log/*.log
  tar -C "$WORK/rootfs" -c . | "${P[@]}" import --change 'CMD ["bash"]' - docker.io/library/debian:bookworm-slim >/dev/null ||
    die "podman import failed"
  rm -rf "$WORK/rootfs"
  ok "made with debootstrap from $mirror"
fi

step "base image node:24-bookworm-slim (stand-in: Debian + this checkout's Node.js + npm 11)"
if "${P[@]}" image exists docker.io/library/node:24-bookworm-slim; then
  ok "present, reused"
else
  mkdir -p "$WORK/node"
  cp "$NODE" "$WORK/node/node"
  (cd "$WORK/node" && npm pack --silent npm@11 >/dev/null) || die "npm pack npm@11 failed"
  mv "$WORK"/node/npm-*.tgz "$WORK/node/npm.tgz"
  # Where the machine reaches the npm registry through a TLS proxy with its own CA (NODE_EXTRA_CA_CERTS),
  # the stand-in trusts it too; only the build stage uses this image, the run stage is plain Debian.
  ca=${NODE_EXTRA_CA_CERTS:-}
  if [ -n "$ca" ] && [ -f "$ca" ]; then cp "$ca" "$WORK/node/extra-ca.crt"; else : >"$WORK/node/extra-ca.crt"; fi
  cat >"$WORK/node/Containerfile" <<'EOF'
FROM docker.io/library/debian:bookworm-slim
COPY node /usr/local/bin/node
COPY extra-ca.crt /usr/local/share/node-extra-ca.crt
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/node-extra-ca.crt
ADD npm.tgz /usr/local/lib/node_modules/
RUN mv /usr/local/lib/node_modules/package /usr/local/lib/node_modules/npm \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
CMD ["node"]
EOF
  "${P[@]}" build "${R[@]}" --pull=never --network host -t docker.io/library/node:24-bookworm-slim "$WORK/node" >"$WORK/node-build.log" 2>&1 ||
    die "node base image failed: $(tail -n 20 "$WORK/node-build.log")"
  ok "made: Node.js $NODE_VERSION, npm $(tar -xzOf "$WORK/node/npm.tgz" package/package.json | "$NODE" -p 'JSON.parse(require("fs").readFileSync(0)).version')"
fi

step "build deploy/docker/Dockerfile (network for npm ci)"
started=$(date +%s)
if "${P[@]}" build "${R[@]}" --pull=never --network host -f deploy/docker/Dockerfile \
  --ignorefile deploy/docker/Dockerfile.dockerignore -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
  ok "built in $(($(date +%s) - started)) s, $("${P[@]}" image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
else
  die "build failed after $(($(date +%s) - started)) s: $(tail -n 30 "$WORK/build.log")"
fi

step "the image: no dev dependencies, no tests, the bundled Node.js, not root"
inside() { "${P[@]}" run "${R[@]}" --rm --network none --entrypoint "$1" "$IMAGE" "${@:2}"; }
# Directories with something in them (npm prune leaves a dev scope's directory behind, empty).
listing=$(inside /bin/sh -c 'cd /opt/kartei && ls; find node_modules -mindepth 1 -maxdepth 1 ! -empty -printf "%f\n"; ls node_modules/.bin; id -u; node_modules/.bin/node --version' 2>&1)
for gone in test bench typescript vite @biomejs knip dependency-cruiser playwright-core s3rver; do
  if grep -qx -- "$gone" <<<"$listing"; then bad "$gone is in the image"; fi
done
for there in bin src web node_modules fastify; do
  grep -qx -- "$there" <<<"$listing" || bad "$there is missing from the image"
done
grep -qx 10001 <<<"$listing" || bad "the image's user is not uid 10001"
grep -qx "v$NODE_VERSION" <<<"$listing" || bad "node_modules/.bin/node is not Node.js $NODE_VERSION"
[ -n "$(inside /bin/sh -c 'ls /opt/kartei/web/dist/index.html' 2>/dev/null)" ] || bad "the web app was not built"
[ "$failed" = 0 ] && ok "production dependencies only, web app built, uid 10001, Node.js $NODE_VERSION"

step "test certificate and volumes"
TLS=$WORK/tls
mkdir -p "$TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$TLS/server.key" -out "$TLS/server.crt" 2>/dev/null ||
  die "openssl failed"
# Read by uid 10001 inside the container (a throwaway key; a real one: owned by 10001, 0600).
chmod 0755 "$WORK" "$TLS" && chmod 0644 "$TLS/server.key" "$TLS/server.crt"
"${P[@]}" volume create "$VDATA" >/dev/null && "${P[@]}" volume create "$VKEYS" >/dev/null || die "volume create failed"
ok "certificate for localhost, volumes $VDATA and $VKEYS"

# As deploy/README.md documents; --network host with the port moved, so no bridge is needed here.
run() {
  "${P[@]}" run "${R[@]}" -d --name "$NAME" --network host \
    -v "$VDATA:/var/lib/kartei/data" -v "$VKEYS:/var/lib/kartei/keys" -v "$TLS:/etc/kartei/tls:ro" \
    -e KARTEI_PUBLIC_URL=https://localhost:$PORT -e KARTEI_LISTEN=0.0.0.0:$PORT \
    --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges "$IMAGE" >/dev/null
}
probe() { curl -s -o /dev/null -w '%{http_code}' --cacert "$TLS/server.crt" "https://localhost:$PORT$1"; }
wait_ready() {
  for _ in $(seq 1 120); do
    [ "$(probe /readyz)" = 200 ] && return 0
    [ "$("${P[@]}" inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ] || return 1
    sleep 0.5
  done
  return 1
}
stop_clean() {
  "${P[@]}" stop -t 30 "$NAME" >/dev/null
  code=$("${P[@]}" inspect --format '{{.State.ExitCode}}' "$NAME")
  "${P[@]}" logs "$NAME" >"$WORK/log-$1.txt" 2>&1
  [ "$code" = 0 ] && ok "podman stop (SIGTERM): exit 0" || bad "exit code $code after SIGTERM"
  if grep -E '"level":(50|60)|Error|ERR_' "$WORK/log-$1.txt" >/dev/null; then
    bad "errors in the log: $(grep -E '"level":(50|60)|Error|ERR_' "$WORK/log-$1.txt" | head -n 5)"
  else
    ok "no error in the log"
  fi
  "${P[@]}" rm "$NAME" >/dev/null
}

step "first start"
started=$(date +%s)
run || die "podman run failed"
if wait_ready; then ok "/readyz 200 over HTTPS after $(($(date +%s) - started)) s"; else
  "${P[@]}" logs "$NAME" 2>&1 | tail -n 30
  die "not ready"
fi
[ "$(probe /healthz)" = 200 ] && ok "/healthz 200 over HTTPS" || bad "/healthz did not answer 200"
"${P[@]}" logs "$NAME" >"$WORK/log-1.txt" 2>&1
link=$(grep -oE "https://localhost:$PORT/[^\" ]*setup[^\" ]*" "$WORK/log-1.txt" | head -n 1)
[ -n "$link" ] && ok "setup link in the log: ${link%%#*}#…" || bad "no setup link in the log"
# Setup through the link's token: the office's and the administrator's names are what must not show in plain.
password="Trommel-Wiesel-Kompass-$(openssl rand -hex 4)"
setup=$(curl -s -o "$WORK/setup.json" -w '%{http_code}' --cacert "$TLS/server.crt" -H 'content-type: application/json' \
  --data "{\"token\":\"${link##*token=}\",\"tenant\":{\"name\":\"Gesundheitsamt Quastenstadt\"},\"admin\":{\"username\":\"leitung.quastenberg\",\"password\":\"$password\",\"displayName\":\"Lena Quastenberg\"}}" \
  "https://localhost:$PORT/api/setup")
[ "$setup" = 201 ] && ok "setup done through the link (201)" || bad "setup answered $setup: $(cat "$WORK/setup.json")"
uid=$("${P[@]}" top "$NAME" user huser args 2>/dev/null | awk 'NR>1 && /kartei/ {print $1; exit}')
[ "$uid" = 10001 ] || uid=$(awk '/^Uid:/ {print $2}' "/proc/$("${P[@]}" inspect --format '{{.State.Pid}}' "$NAME")/status")
[ "$uid" = 10001 ] && ok "the server runs as uid 10001" || bad "the server runs as uid $uid"
caps=$(awk '/^CapEff:/ {print $2}' "/proc/$("${P[@]}" inspect --format '{{.State.Pid}}' "$NAME")/status")
[ "$caps" = 0000000000000000 ] && ok "no effective capabilities" || bad "effective capabilities $caps"
stop_clean 1

step "the volumes: data sealed, keys only in the key volume"
data=$("${P[@]}" volume inspect --format '{{.Mountpoint}}' "$VDATA")
keys=$("${P[@]}" volume inspect --format '{{.Mountpoint}}' "$VKEYS")
ok "data: $(find "$data" -type f | wc -l) files, keys: $(find "$keys" -type f | wc -l) files"
[ "$(find "$data" "$keys" -not -user 10001 | wc -l)" = 0 ] || bad "files not owned by uid 10001: $(find "$data" "$keys" -not -user 10001 | head -n 3)"
[ -n "$(find "$keys" -type f)" ] || bad "no keys in the key volume"
# The administrator's name and login name are sealed or blind-indexed (the office's name is not
# personal data and stays readable, as does SQLite's own file header); no private key lies there.
plain=$(grep -rlaE 'Quastenberg|leitung\.quastenberg|PRIVATE KEY' "$data" 2>/dev/null | head -n 5)
[ -z "$plain" ] && ok "the administrator's names are nowhere in the data volume in plain" ||
  bad "plaintext in the data volume: $plain"
# No key file, and no key's bytes (raw, or a JSON key file's base64 and what it decodes to), in the data.
keyhits=$("$NODE" -e '
  const fs = require("fs"), path = require("path");
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
  const [keys, data] = process.argv.slice(1);
  const needles = [];
  for (const f of walk(keys)) {
    const raw = fs.readFileSync(f);
    if (raw.length >= 16) needles.push([path.basename(f), raw]);
    try {
      const k = JSON.parse(raw.toString()).key;
      if (typeof k === "string")
        needles.push([path.basename(f), Buffer.from(k)], [path.basename(f), Buffer.from(k, "base64")]);
    } catch {}
  }
  const names = new Set(walk(keys).map((f) => path.basename(f)));
  for (const f of walk(data)) {
    if (names.has(path.basename(f))) console.log(`${f}: a key file`);
    const bytes = fs.readFileSync(f);
    for (const [name, n] of needles) if (n.length >= 16 && bytes.includes(n)) console.log(`${f}: bytes of ${name}`);
  }
  console.error(`${needles.length} key values looked for`);
' "$keys" "$data" 2>"$WORK/keyhits.txt")
[ -z "$keyhits" ] && ok "no key file and no key's bytes in the data volume ($(cat "$WORK/keyhits.txt"))" ||
  bad "keys in the data volume: $keyhits"
[ "$(stat -c %a "$data")" = 700 ] && [ "$(stat -c %a "$keys")" = 700 ] && ok "both volumes 0700" ||
  bad "modes: data $(stat -c %a "$data"), keys $(stat -c %a "$keys")"

step "second start on the same volumes"
run || die "podman run failed"
if wait_ready; then ok "/readyz 200 again"; else
  "${P[@]}" logs "$NAME" 2>&1 | tail -n 30
  bad "not ready on the second start"
fi
"${P[@]}" logs "$NAME" >"$WORK/log-2.txt" 2>&1
grep -q 'setup#token=' "$WORK/log-2.txt" && bad "a new setup link: the installation was not kept" || ok "no setup link: the installation (set up in the first run) was kept"
stop_clean 2

finish
