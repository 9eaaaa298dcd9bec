#!/usr/bin/env bash
# One entry point for a fresh machine: sets up everything it needs on first use, then runs.
#   ./run.sh app              the Streamlit app (Live, Review, History, Teach) on http://localhost:8501
#   ./run.sh test [ARGS]      the whole test suite (unit, integration on ../shared/data, browser end-to-end)
#   ./run.sh coach ARGS       the CLI, e.g. ./run.sh coach analyze clip.mp4
#   ./run.sh setup [--test]   only the set-up
set -euo pipefail
cd "$(dirname "$0")"
VENV=${COACH_VENV:-.venv}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3

stamp_of() { cat pyproject.toml; echo "$1"; }

setup() {
  local extra=${1:-}
  if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV with $($PY --version)" >&2
    "$PY" -m venv "$VENV"
  fi
  local want; want=$(stamp_of "$extra" | sha1sum | cut -c1-16)
  if [ "$(cat "$VENV/.coach-installed" 2>/dev/null)" != "$want" ]; then
    echo "[setup] installing the pinned dependency set (first run: a few minutes)" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip >&2
    # torch is pinned exactly (torch==2.13.0 CPU build); see pyproject.toml.
    "$VENV/bin/python" -m pip install -q -e ".${extra}" >&2
    echo "$want" > "$VENV/.coach-installed"
  fi
  if [ ! -s assets/pose_landmarker_full.task ]; then
    echo "[setup] building the pose model bundle" >&2
    "$VENV/bin/python" tools/build_pose_model.py >&2
  fi
}

setup_browser() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || ! command -v ip >/dev/null 2>&1; then
    echo "[setup] installing Debian chromium, chromium-driver and iproute2 for the browser tests" >&2
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver iproute2 >&2
  fi
}

cmd=${1:-app}; shift || true
case "$cmd" in
  app)   setup ""; echo "[app] open http://localhost:8501 in your browser" >&2
         exec "$VENV/bin/streamlit" run streamlit_app.py "$@" ;;
  coach) setup ""; exec "$VENV/bin/coach" "$@" ;;
  test)  setup "[test]"; setup_browser; exec "$VENV/bin/python" -m pytest "$@" ;;
  setup) if [ "${1:-}" = "--test" ]; then setup "[test]"; setup_browser; else setup ""; fi ;;
  *) echo "usage: ./run.sh app | test [pytest args] | coach ARGS | setup [--test]" >&2; exit 2 ;;
esac
