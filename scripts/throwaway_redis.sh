# throwaway_redis.sh - sourced by the demo and the benchmarks: a free
# loopback port, and a redis-server of their own on it (no persistence),
# waited for until it answers. Never a Redis somebody else started.
#
#   . scripts/throwaway_redis.sh
#   port=$(free_port)
#   start_redis "$port" "$dir"     # sets redis_pid; exits if it never answers

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_redis() { # PORT DIR
	redis-server --port "$1" --bind 127.0.0.1 --dir "$2" --save "" \
		--appendonly no >"$2/redis.log" 2>&1 &
	redis_pid=$!
	_tries=0
	until redis-cli -p "$1" ping >/dev/null 2>&1; do
		_tries=$((_tries + 1))
		if [ "$_tries" -ge 200 ]; then
			echo "redis-server on port $1 did not start (see $2/redis.log)" >&2
			exit 1
		fi
		sleep 0.05
	done
}
