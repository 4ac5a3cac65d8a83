# Sourced by Scripts/test.sh: makes the container engines answer for the end-to-end tests.
#
# As root on a machine where Docker does not answer but Debian's dockerd is installed, a
# private daemon is started for the run (no bridge, no iptables: the tests use
# --network none) and stopped when the run ends. Podman gets a configuration that works
# on hosts with cgroups v1 (runc, cgroupfs) unless CONTAINERS_CONF is already set.

engines_dir=""

start_engines() {
    engines_dir=$(mktemp -d /tmp/claude-env-engines.XXXXXX)
    # Others may pass through to the socket (the daemon gives it to the docker group).
    chmod 0711 "$engines_dir"
    if command -v podman >/dev/null 2>&1 && [ -z "${CONTAINERS_CONF:-}" ]; then
        cat >"$engines_dir/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
        export CONTAINERS_CONF="$engines_dir/containers.conf"
    fi
    if command -v docker >/dev/null 2>&1 && docker version >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v dockerd >/dev/null 2>&1; then
        echo "note: no Docker engine answers; its end-to-end tests are skipped" >&2
        return 0
    fi
    dockerd --iptables=false --ip6tables=false --bridge=none \
        --exec-opt native.cgroupdriver=cgroupfs \
        --data-root "$engines_dir/docker-root" --exec-root "$engines_dir/docker-exec" \
        --host "unix://$engines_dir/docker.sock" --pidfile "$engines_dir/docker.pid" \
        >"$engines_dir/dockerd.log" 2>&1 &
    export DOCKER_HOST="unix://$engines_dir/docker.sock"
    for _ in $(seq 1 60); do
        docker version >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "dockerd did not answer within 30 seconds; its log:" >&2
    tail -n 20 "$engines_dir/dockerd.log" >&2
    return 1
}

stop_engines() {
    [ -n "$engines_dir" ] || return 0
    if [ -f "$engines_dir/docker.pid" ]; then
        kill "$(cat "$engines_dir/docker.pid")" 2>/dev/null || true
        for _ in $(seq 1 40); do
            [ -f "$engines_dir/docker.pid" ] || break
            sleep 0.25
        done
    fi
    # The daemon's layers may still be mounted for a moment after it leaves.
    grep -o " $engines_dir[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$engines_dir" 2>/dev/null || true
}
