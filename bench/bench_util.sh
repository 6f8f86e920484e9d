# bench_util.sh: shell helpers shared by the bench scripts (sourced, not run).

# med V...: the median of the numbers given (the lower middle one for an even count).
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# json_num KEY LINE: the number stored under KEY in a one-line JSON object.
json_num() { echo "$2" | sed "s/.*\"$1\": \([0-9.]*\).*/\1/"; }
