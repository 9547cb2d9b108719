# Sourced by the test scripts: skip MESSAGE says this check cannot run
# here.  Normally that is automake's SKIP (exit 77); under CI (CI set and
# not "false") every check is required, so a missing tool fails the run
# instead of passing it silently.  scripts/install-deps.sh installs them.
skip() {
	case ${CI-} in
	'' | false | 0)
		echo "SKIP: $*"
		exit 77
		;;
	esac
	echo "FAIL: $* (a required check cannot be skipped under CI=$CI)"
	exit 1
}
