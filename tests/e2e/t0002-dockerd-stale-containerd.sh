#!/usr/bin/env bash
# sd_dockerd_start after dockerd was killed: the containerd pid file dockerd
# left behind must not stop the new dockerd from starting. dockerd takes any
# pid that kill(pid, 0) finds for its containerd "still running" (a zombie
# too, or another process that got the pid) and then gives up after 15 s:
# "failed to start containerd: timeout waiting for containerd to start".
# Three ways to get there, each with a live-restore container that must
# survive it, running the same process and answering:
#   1. dockerd killed (-9) and started again at once: its containerd, killed
#      with it (Pdeathsig), is a zombie until pid 1 reaps it (1.5 s later on
#      the CI machine, whose pid 1 is not an init; t1203 hit this);
#   2. the pid file names a zombie nobody reaps;
#   3. the pid file names a live process that is not containerd (pid reuse);
#   4. the pid file names a containerd that still runs (dockerd removes its
#      socket before it looks at the pid file, so it cannot adopt one).
. "$(dirname "$0")/../lib/lib.sh"
sd_need_root
sd_need_cmd ctr perl
sd_setup

mkdir -p "$SD_TMP/d1"
echo '{"live-restore": true}' >"$SD_TMP/d1/daemon.json"
sd_dockerd_start d1
sd_image d1
port=$(sd_free_port)
sd_docker d1 run -d --network host --name c1 "$SD_IMAGE" /bin/hello 127.0.0.2 "$port" c1 >/dev/null
sd_wait_for "c1 answers" 30 curl -fsS --max-time 5 "http://127.0.0.2:$port/"
c1_pid=$(sd_docker d1 inspect -f '{{.State.Pid}}' c1)
pidfile=$SD_TMP/d1/exec/containerd/containerd.pid

# c1_restored WHEN: dockerd d1 knows c1 as the same running process, which
# still answers.
c1_restored() {
	local state
	state=$(sd_docker d1 inspect -f '{{.State.Running}} {{.State.Pid}}' c1)
	[ "$state" = "true $c1_pid" ] || sd_fail "c1 after $1: '$state', not 'true $c1_pid'"
	curl -fsS --max-time 5 "http://127.0.0.2:$port/" >/dev/null || sd_fail "c1 does not answer after $1"
	sd_log "c1 restored after $1"
}

# kill_dockerd: kill -9 dockerd d1; $old is the pid of its containerd.
kill_dockerd() {
	old=$(cat "$pidfile")
	sd_kill dockerd-d1 KILL
}
gone() { [ ! -e "/proc/$old" ]; }

# 1. Killed and started again at once.
kill_dockerd
sd_log "killed dockerd d1; its containerd (pid $old) is $(awk '{ print "in state " $3 }' "/proc/$old/stat" 2>/dev/null || echo gone)"
sd_dockerd_start d1
c1_restored "a kill -9 and an immediate start"

# 2. The pid file names a zombie: a child that its parent never reaps.
sd_bg zombie-parent perl -MPOSIX -e '
	my $child = fork() // die "fork: $!";
	POSIX::_exit(0) if $child == 0;
	open(my $f, ">", "$ARGV[0].new") or die; print $f $child; close($f);
	rename("$ARGV[0].new", $ARGV[0]) or die;
	sleep(600);' "$SD_TMP/zombie.pid"
is_zombie() { [ "$(awk '{ print $3 }' "/proc/$(cat "$SD_TMP/zombie.pid")/stat")" = Z ]; }
sd_wait_for "a zombie" 30 is_zombie
kill_dockerd
sd_wait_for "dockerd's containerd (pid $old) reaped" 60 gone
cp "$SD_TMP/zombie.pid" "$pidfile"
sd_log "containerd pid file names zombie $(cat "$pidfile")"
sd_dockerd_start d1
c1_restored "a start with a zombie in the containerd pid file"
is_zombie || sd_fail "the zombie is gone: the test no longer tests anything"

# 3. The pid file names a live process that is not containerd.
sd_bg pid-reuser sleep 600
kill_dockerd
sd_wait_for "dockerd's containerd (pid $old) reaped" 60 gone
printf %s "$(sd_pid pid-reuser)" >"$pidfile" # no newline, as dockerd writes it
sd_log "containerd pid file names live process $(cat "$pidfile") ($(cat "/proc/$(cat "$pidfile")/comm"))"
sd_dockerd_start d1
c1_restored "a start with another live process in the containerd pid file"
sd_alive pid-reuser || sd_fail "sd_dockerd_start killed a process that was not containerd"

# 4. The pid file names a live containerd, with this dockerd's config.
kill_dockerd
sd_wait_for "dockerd's containerd (pid $old) reaped" 60 gone
sd_bg containerd-by-hand containerd --config "$SD_TMP/d1/exec/containerd/containerd.toml"
sd_wait_for "containerd started by hand serves" 60 \
	ctr --address "$SD_TMP/d1/exec/containerd/containerd.sock" version
printf %s "$(sd_pid containerd-by-hand)" >"$pidfile"
sd_log "containerd pid file names containerd $(cat "$pidfile"), started by hand"
sd_dockerd_start d1
c1_restored "a start with a live containerd in the containerd pid file"
sd_alive containerd-by-hand && sd_fail "the containerd started by hand still runs"
sd_kill containerd-by-hand TERM

sd_log "ok"
