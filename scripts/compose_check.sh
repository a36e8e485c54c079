#!/usr/bin/env bash
# Checks compose.yaml without a Docker engine (scripts/test.sh runs it as the
# "compose" check of `make test`):
#
#   1. `docker-compose config -q` (Debian's docker-compose 1.29, installed by
#      scripts/deps.sh) accepts the file, alone and with --profile sandbox;
#   2. every PAYMESH_* variable a service sets (environment:, and the
#      /run/secrets/PAYMESH_* targets of its secrets:, which
#      deploy/entrypoint.sh exports) is a setting of that service's daemon:
#      the daemon is the service's command, its settings are the flags of
#      `bin/<daemon> --help`, named as common/pm_config.c names them
#      (PAYMESH_ + the flag upper-cased, '-' as '_');
#   3. the values set in environment: are in range: `bin/<daemon> --help`
#      with exactly those variables set exits 0 (pm_config refuses a value
#      out of range or too long with status 2 and names it);
#   4. each of payment-core, api-gateway, provider-bazaar, provider-bank and
#      retry-worker is some service's command.
#
# The file is read with its defaults: no PAYMESH_* from the caller's
# environment and no .env file take part. Exits non-zero on any problem.
#
#   scripts/compose_check.sh [COMPOSE_FILE]     default compose.yaml
#   PAYMESH_BIN=DIR                             the programs (default bin)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

file=${1:-compose.yaml}
bindir=${PAYMESH_BIN:-bin}
daemons_required=(payment-core api-gateway provider-bazaar provider-bank retry-worker)
problems=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pm-compose.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/empty.env"

problem() {
    echo "  problem: $*"
    problems=$((problems + 1))
}

[[ -f $file ]] || { echo "  problem: no $file"; exit 1; }
if ! command -v docker-compose >/dev/null; then
    echo "  problem: docker-compose is not installed (scripts/deps.sh installs Debian's docker-compose)"
    exit 1
fi

# docker-compose without the caller's PAYMESH_* and without an .env file.
dc() {
    local unset=() v
    for v in $(compgen -e PAYMESH_); do unset+=(-u "$v"); done
    env "${unset[@]}" docker-compose --env-file "$tmp/empty.env" -f "$file" "$@"
}

# 1. The file is valid, with and without the sandbox profile.
for profile in "" sandbox; do
    args=()
    [[ -z $profile ]] || args=(--profile "$profile")
    if dc "${args[@]}" config -q >"$tmp/config.out" 2>&1; then
        echo "  docker-compose config -q${profile:+ --profile $profile}: $file is valid"
    else
        problem "docker-compose config -q${profile:+ --profile $profile} refused $file:"
        sed 's/^/    | /' "$tmp/config.out"
    fi
done
((problems == 0)) || { echo "compose.yaml check: $problems problems"; exit 1; }

# The resolved file (every service, the sandbox's profile included), as
# lines "SERVICE<TAB>DAEMON<TAB>env|secret<TAB>NAME<TAB>VALUE".
dc --profile sandbox config >"$tmp/resolved.yaml" 2>"$tmp/config.err" || {
    problem "docker-compose config failed:"
    sed 's/^/    | /' "$tmp/config.err"
    exit 1
}
if ! python3 - "$tmp/resolved.yaml" >"$tmp/vars" 2>"$tmp/py.err" <<'EOF'; then
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for name, svc in sorted((doc.get("services") or {}).items()):
    cmd = svc.get("command") or []
    if isinstance(cmd, str):
        cmd = cmd.split()
    daemon = cmd[0] if cmd else "-"
    print("\t".join([name, daemon, "service", "-", "-"]))
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    for k, v in sorted(env.items()):
        v = "" if v is None else str(v)
        if "\t" in v or "\n" in v:
            v = v.replace("\t", " ").replace("\n", " ")
        print("\t".join([name, daemon, "env", k, v]))
    for s in svc.get("secrets") or []:
        target = s if isinstance(s, str) else (s.get("target") or s.get("source"))
        print("\t".join([name, daemon, "secret", target.rsplit("/", 1)[-1], "-"]))
EOF
    problem "could not read the resolved compose file:"
    sed 's/^/    | /' "$tmp/py.err"
    exit 1
fi

# settings DAEMON: prints the daemon's PAYMESH_* names, from its --help.
declare -A settings_of
settings() {
    local d=$1
    if [[ -z ${settings_of[$d]+x} ]]; then
        settings_of[$d]=""
        if [[ -x $bindir/$d ]]; then
            settings_of[$d]=$(timeout 5 "$bindir/$d" --help 2>/dev/null |
                sed -n 's/^  --\([a-z0-9-]*\) .*/\1/p' |
                tr 'a-z-' 'A-Z_' | sed 's/^/PAYMESH_/' | tr '\n' ' ')
        fi
    fi
    printf '%s' "${settings_of[$d]}"
}

services=0
vars=0
declare -A daemon_of env_args
while IFS=$'\t' read -r svc daemon kind name value; do
    if [[ $kind == service ]]; then
        services=$((services + 1))
        daemon_of[$svc]=$daemon
        if [[ ! -x $bindir/$daemon ]]; then
            problem "service $svc: its command '$daemon' is not a program in $bindir/ (make builds them)"
        elif [[ -z $(settings "$daemon") ]]; then
            problem "service $svc: $bindir/$daemon --help lists no settings"
        fi
        continue
    fi
    [[ $name == PAYMESH_* ]] || continue
    vars=$((vars + 1))
    [[ -x $bindir/$daemon ]] || continue
    if [[ " $(settings "$daemon") " != *" $name "* ]]; then
        what="sets $name"
        [[ $kind == env ]] || what="mounts the secret /run/secrets/$name"
        problem "service $svc $what, which is not a setting of $daemon (see $bindir/$daemon --help)"
    elif [[ $kind == env ]]; then
        env_args[$svc]+="$name=$value"$'\n'
    fi
done <"$tmp/vars"

# 3. The values are in range: --help loads the environment first.
for svc in "${!env_args[@]}"; do
    daemon=${daemon_of[$svc]}
    mapfile -t assigns < <(printf '%s' "${env_args[$svc]}")
    if ! env -i PATH="$PATH" "${assigns[@]}" timeout 5 "$bindir/$daemon" --help >/dev/null 2>"$tmp/range.err"; then
        problem "service $svc: $daemon refuses its environment: $(head -c 300 "$tmp/range.err" | tr '\n' ' ')"
    fi
done

# 4. Every daemon runs somewhere.
for d in "${daemons_required[@]}"; do
    found=no
    for svc in "${!daemon_of[@]}"; do
        [[ ${daemon_of[$svc]} == "$d" ]] && found=yes
    done
    [[ $found == yes ]] || problem "no service runs $d"
done

if ((problems == 0)); then
    echo "  $vars PAYMESH_* variables of $services services are settings of their daemons, values in range"
    echo "compose.yaml check: ok"
    exit 0
fi
echo "compose.yaml check: $problems problems (in $vars PAYMESH_* variables of $services services)"
exit 1
