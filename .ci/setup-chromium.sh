# Sourced by .ci/run: makes sure Debian's Chromium is at /usr/bin/chromium for the browser tests.
# playwright-core drives it; `npx playwright install` would download a browser and fails here.
if [ -x /usr/bin/chromium ]; then
  printf 'chromium already installed: %s\n' "$(/usr/bin/chromium --version 2>/dev/null)"
else
  printf 'installing Debian chromium (about a minute)\n'
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || { printf 'could not install chromium\n'; return 1; }
  printf 'installed: %s\n' "$(/usr/bin/chromium --version 2>/dev/null)"
fi
