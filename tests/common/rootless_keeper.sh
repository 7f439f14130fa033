# The keeper of one rootless test world (tests/common/rootless.rs): it makes an unprivileged
# user with subordinate ids and the user's directories, then waits for its owner, the test
# process, to go, and takes down everything the world is, leaving /etc as it found it.
#
# Its stdin is a pipe whose only writer is the test process: read returns at end of file, which
# the kernel delivers however the test process ends (returns, panics, aborts, is SIGKILLed), or
# when the test drops a private world. stdout: one line for the owner,
# `user UID GID SUB_START SUB_COUNT` (its subordinate uids and gids are the same range), or
# `error: …`; stderr: what teardown could not do.
#
# usage: sh WORLD_DIR/keeper.sh WORLD_DIR NAME
#   WORLD_DIR  the world's directory (made by the owner, root's, mode 0711; removed at teardown):
#              home/ and run/ (the user's, 0700) are made here, and etc/ (root's, 0700) with
#              copies of the files of /etc below as they were, and in etc/after/ as the world
#              left them
#   NAME       the user to make (and group of that name); it must not exist
#
# What the world changes in /etc, and how teardown puts it back:
# - subuid, subgid: a line `NAME:START:65536` appended (START past every range and id in use,
#   the same for both). Teardown puts back the very bytes, mode and times they had (removes a
#   file that was not there) when the file is what it was plus our line; when something else
#   changed it meanwhile, it removes our line alone. Before userdel, which would otherwise take
#   our lines out itself and leave a subuid- backup with them.
# - passwd, shadow, group, gshadow (useradd, userdel): userdel leaves them byte for byte as they
#   were; teardown puts back their times. Their backups passwd-, shadow-, group-, gshadow-,
#   which both tools rewrite (the last with our user in it), get back their bytes and times when
#   the four files are as they were, or lose our user's lines when something else changed them.
# Every world's changes of /etc are made under one lock, flock(2) on /etc itself (no lock file
# to leave behind), so that worlds of concurrent test binaries see each other's lines. Worlds
# that end in the order they were made (the last first) each find /etc as they left it and put
# back what they found. One that ends before a later one hands its copies of the files as they
# were to the world made right after it (the one that found /etc as this one left it, a
# sibling directory hull-rootless-*), so that the last to go still puts back what the first
# found.
set -u
# Terminal signals are not ours to obey (the keeper runs in a session of its own anyway): only
# the end of the pipe stops the world.
trap '' HUP INT QUIT TERM PIPE
umask 022
dir=$1 name=$2
count=65536
saved=$dir/etc
accounts="passwd shadow group gshadow"
files="$accounts passwd- shadow- group- gshadow- subuid subgid"
made=0 handed=0 uid= start=

say() { echo "rootless world $name: $*" >&2; }

lock() {
	exec 9</etc || return 1
	flock -w 60 9 || { say "no lock on /etc within 60 s"; return 1; }
}
unlock() { exec 9<&-; }

# put FILE SOURCE: /etc/FILE becomes a copy of SOURCE with its mode, owner and times, at once
# (a rename: readers never see half a file).
put() {
	cp -p "$2" "/etc/.$1.hull-world" && mv -f "/etc/.$1.hull-world" "/etc/$1"
}

# drop FILE PATTERN: /etc/FILE without the lines matching PATTERN (grep -E), at once.
drop() {
	[ -e "/etc/$1" ] || return 0
	cp -p "/etc/$1" "/etc/.$1.hull-world" &&
		{ grep -Ev "$2" "/etc/$1" >"/etc/.$1.hull-world" || [ $? = 1 ]; } &&
		mv -f "/etc/.$1.hull-world" "/etc/$1"
}

# Pids of the processes (zombies aside) whose real or effective uid is the user's or one of its
# subordinate uids.
world_pids() {
	grep -s -H -E '^(State|Uid):' /proc/[0-9]*/status |
		awk -F'[:\t ]+' -v u="$uid" -v lo="$start" -v n="$count" '
			$2 == "State" { dead = ($3 == "Z" || $3 == "X") }
			$2 == "Uid" && !dead {
				for (i = 3; i <= 4; i++) {
					if ($i == u || ($i >= lo && $i < lo + n)) {
						split($1, p, "/")
						print p[3]
						break
					}
				}
			}'
}

# SIGKILL every process of the world until none is left (5 s at most).
kill_all() {
	i=0
	while pids=$(world_pids) && [ -n "$pids" ]; do
		if [ "$i" -ge 100 ]; then
			say "processes left: $(echo $pids)"
			return 1
		fi
		# shellcheck disable=SC2086 # one pid a word
		kill -KILL $pids 2>/dev/null
		sleep 0.05
		i=$((i + 1))
	done
}

# save_to DIR: copies of the files (mode, owner, times) in DIR, FILE.absent for a missing one.
save_to() {
	mkdir -m 0700 "$1" || return 1
	for f in $files; do
		if [ -e "/etc/$f" ]; then
			cp -p "/etc/$f" "$1/$f" || return 1
		else
			: >"$1/$f.absent" || return 1
		fi
	done
}

# Our copies of the files as they were to the world made right after ours, if it is still
# there (see the top): the world whose copies are the files as ours left them.
hand_over() {
	[ -d "$saved/after" ] || return 0
	for other in "${dir%/*}"/hull-rootless-*/etc; do
		[ "$other" != "$saved" ] && [ -d "$other" ] || continue
		next=1
		for f in $files; do
			if [ -e "$saved/after/$f" ]; then
				cmp -s "$saved/after/$f" "$other/$f" || next=0
			else
				[ -e "$other/$f.absent" ] || next=0
			fi
		done
		[ "$next" = 1 ] || continue
		handed=1
		for f in $files; do
			rm -f "$other/$f" "$other/$f.absent"
			if [ -e "$saved/$f" ]; then
				cp -p "$saved/$f" "$other/$f" || status=1
			else
				: >"$other/$f.absent" || status=1
			fi
		done
		return
	done
}

# Our subordinate-id line out of subuid and subgid (see the top).
restore_subids() {
	for f in subuid subgid; do
		[ -e "$saved/$f.added" ] || continue
		if [ -e "$saved/$f.absent" ] && cmp -s "$saved/$f.added" "/etc/$f"; then
			rm -f "/etc/$f" || status=1
		elif [ -e "$saved/$f" ] && cat "$saved/$f" "$saved/$f.added" | cmp -s - "/etc/$f"; then
			put "$f" "$saved/$f" || status=1
		else
			[ "$handed" = 1 ] || say "/etc/$f changed meanwhile: removing our line alone"
			drop "$f" "^$name:$start:$count\$" || status=1
		fi
	done
}

# After userdel: the account files' times, their backups' bytes (see the top).
restore_accounts() {
	same=1
	for f in $accounts; do
		if cmp -s "$saved/$f" "/etc/$f"; then
			touch -r "$saved/$f" "/etc/$f" || status=1
		else
			same=0
		fi
	done
	for f in $accounts; do
		if [ "$same" = 1 ] && [ -e "$saved/$f-" ]; then
			put "$f-" "$saved/$f-" || status=1
		elif [ "$same" = 1 ] && [ -e "$saved/$f-.absent" ]; then
			rm -f "/etc/$f-" || status=1
		else
			drop "$f-" "^$name:" || status=1
		fi
	done
	[ "$same" = 1 ] || [ "$handed" = 1 ] ||
		say "the account files changed meanwhile: their backups lose our user alone"
}

# Cgroup directories the owner handed to the user (WORLD_DIR/cgroups, one path a line, written by
# the owner as root): once nothing of the user runs, removed deepest first (the kernel refuses
# to remove a cgroup with processes or children).
remove_cgroups() {
	[ -f "$dir/cgroups" ] || return 0
	rc=0
	while IFS= read -r cg; do
		[ -d "$cg" ] || continue
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || { say "cannot remove cgroup $cg"; rc=1; }
	done <"$dir/cgroups"
	return $rc
}

teardown() {
	status=0
	lock || status=1
	if [ "$made" = 1 ]; then
		kill_all || status=1
		remove_cgroups || status=1
		hand_over
		restore_subids
		# userdel refuses (8, "user is busy") while a zombie of the user's waits for its parent,
		# the owner, still alive at exit; nothing of the user runs (kill_all saw to that).
		if ! userdel "$name" 2>"$saved/userdel.err"; then
			userdel --force "$name" || { cat "$saved/userdel.err" >&2; status=1; }
		fi
		if getent group "$name" >/dev/null; then groupdel "$name" || status=1; fi
		restore_accounts
	fi
	rm -rf --one-file-system "$dir" || status=1
	unlock
	return $status
}

fail() {
	echo "error: $*"
	exec >/dev/null
	teardown
	exit 1
}

# ---- the world ----
lock || fail "no lock on /etc"
save_to "$saved" || fail "cannot save /etc's files in $saved"

# The subordinate range: 65536 ids from 100000 on (login.defs' SUB_UID_MIN), past every range
# of subuid and subgid and every user's and group's id.
start=$(
	{
		cat /etc/subuid /etc/subgid 2>/dev/null |
			awk -F: '$2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { printf "%d %d\n", $2, $2 + $3 }'
		getent passwd | awk -F: '{ printf "%d %d\n", $3, $3 + 1 }'
		getent group | awk -F: '{ printf "%d %d\n", $3, $3 + 1 }'
	} | awk -v s=100000 -v n="$count" '
		{ lo[NR] = $1; hi[NR] = $2 }
		END {
			do {
				moved = 0
				for (i = 1; i <= NR; i++) if (s < hi[i] && lo[i] < s + n) { s = hi[i]; moved = 1 }
			} while (moved)
			printf "%d\n", s
		}'
)
[ -n "$start" ] || fail "no free subordinate range"

# No lastlog/faillog records (-l), no home made from /etc/skel (-M: the world makes it empty),
# no subordinate ids of useradd's choosing (SUB_*_COUNT=0: the world adds its own).
useradd --no-log-init --no-create-home --user-group \
	-K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 \
	--home-dir "$dir/home" --shell /usr/sbin/nologin --comment "hull rootless test world" \
	"$name" >&2 || fail "useradd $name failed"
made=1
uid=$(id -u "$name") && gid=$(id -g "$name") || fail "id $name"

for f in subuid subgid; do
	# A file that does not end its last line gets the newline first.
	if [ -s "/etc/$f" ] && [ -n "$(tail -c 1 "/etc/$f")" ]; then
		printf '\n%s\n' "$name:$start:$count"
	else
		printf '%s\n' "$name:$start:$count"
	fi >"$saved/$f.added" || fail "cannot write $saved/$f.added"
	cat "$saved/$f.added" >>"/etc/$f" || fail "cannot add to /etc/$f"
done

install -d -m 0700 -o "$uid" -g "$gid" "$dir/home" "$dir/run" || fail "cannot make the user's directories"
save_to "$saved/after" || fail "cannot save /etc's files in $saved/after"
unlock

echo "user $uid $gid $start $count"
exec >/dev/null

# Until the owner goes.
while read -r _; do :; done

teardown
