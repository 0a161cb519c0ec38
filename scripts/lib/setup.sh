# Shared set-up steps for scripts/test and scripts/demo (sourced, not run).

APT_PACKAGES=(python3-venv python3-dev debootstrap sip-tester postgresql chromium espeak-ng sox
    kamailio kamailio-websocket-modules kamailio-sqlite-modules kamailio-postgres-modules)
# Machines of this kind ship Node.js with npm outside Debian's packages (Debian's npm conflicts
# with it): only install Debian's when there is no npm at all.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

step() { printf '\n==> %s\n' "$*"; }

ensure_apt_packages() {
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        echo "installing: ${missing[*]}"
        local sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "all present"
    fi
}

# The interpreter the venv is made from: Debian's python3 when it is 3.11 or later. Its
# executable links libpython statically; pyenv's --enable-shared build here (no
# -fno-semantic-interposition) is position-independent code the compiler cannot inline
# across, and spends ~8% more CPU a queued call (docs/deployment.md, "Which Python").
# Else the first python3 on PATH.
venv_base() {
    if /usr/bin/python3 -c 'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' \
            2>/dev/null; then
        echo /usr/bin/python3
    else
        command -v python3
    fi
}

ensure_venv() {
    local base executable
    base=$(venv_base)
    executable=$("$base" -c 'import os, sys; print(os.path.realpath(sys.executable))')
    if [[ -x .venv/bin/python ]] \
            && ! grep -qxF "executable = $executable" .venv/pyvenv.cfg 2>/dev/null; then
        echo "re-creating .venv on $executable (it was made from" \
            "$(sed -n 's/^executable = //p' .venv/pyvenv.cfg))"
        rm -rf .venv
    fi
    if [[ ! -x .venv/bin/python ]]; then
        "$base" -m venv .venv
    fi
    # A stamp keyed on pyproject.toml keeps repeated runs fast.
    local stamp=.venv/.pbx-installed
    if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
        .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
        touch "$stamp"
    fi
    echo "ok: $(.venv/bin/python --version)"
}

ensure_web_assets() {
    if [[ -f web/package.json ]]; then
        (cd web && if [[ ! -d node_modules || package.json -nt node_modules ]]; then
            npm ci --no-audit --no-fund --loglevel=error; fi && npm run --silent build)
    else
        echo "no web assets yet"
    fi
}
