# The claude-env vault as an extra system for ../shared/bench/peerbench.sh:
#   swift build -c release --product claude-env
#   PEERBENCH_EXTRA=Benchmarks/peerbench-claude-env.sh ../shared/bench/peerbench.sh gocryptfs claudeenv
CLAUDE_ENV_BIN=${CLAUDE_ENV_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.build/release/claude-env}
setup_claudeenv() {
    local store=$1 mnt=$2
    mkdir -p "$store/home"
    HOME="$store/home" "$CLAUDE_ENV_BIN" bootstrap --path "$store" --password-file "$PASSFILE" >/dev/null || return 1
    STORE_DIR=$store
    HOME="$store/home" bg_daemon /dev/null "$CLAUDE_ENV_BIN" mount --foreground --volume "$store/claude-env.vault" \
        --mountpoint "$mnt" --password-file "$PASSFILE"
    wait_mount "$mnt" || return 1
}
