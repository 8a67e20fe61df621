# shellcheck shell=sh
# Shared by the workload runners (POSIX sh: they also run in the lab guest's
# busybox) and scripts/lab-perf.sh.

# The perf events this machine counts: hardware cycles and instructions where
# a PMU counts them, else software events.  Detected, never assumed.
pinlab_perf_events() { # pinlab_perf_events [PERF]
	_perf="${1:-perf}"
	_sw="task-clock,context-switches,cpu-migrations,page-faults"
	_o="$("$_perf" stat -x, -e cycles,instructions -- true 2>&1)" || {
		echo "$_sw"
		return 0
	}
	case "$_o" in
	*"<not supported>"* | *"<not counted>"* | *"not supported"*) echo "$_sw" ;;
	*cycles*) echo "$_sw,cycles,instructions" ;;
	*) echo "$_sw" ;;
	esac
}

# perf report as text a reviewer pastes into a mail: callers under each
# symbol above 2 %, 100 columns
pinlab_perf_report() { # pinlab_perf_report PERF_DATA OUT [PERF]
	"${3:-perf}" report -i "$1" --stdio --no-children --percent-limit 2 -g caller,0.5,callee \
		--max-stack 12 2>/dev/null | grep -v '^$' | cut -c1-100 >"$2"
}
